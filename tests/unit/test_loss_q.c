/* test_loss_q.c: the validation loss sum (ps_gbdt_loss_q_cpu, kernels/gbdt/
 * grad_q_cpu.c: vectorized where the CPU has AVX2) = the loop fit.c had
 * (ps_loss_residual at weight 1, capped at 64, nearbyint times 2^24, summed)
 * bit for bit: both labels, scores at 0, -0, +-1e-300, +-35, +-64, +-745,
 * +-1e300, +-Inf, NaN and random ones, row counts 0..40 (the vector loop's
 * tails) and 100,000, label strides 1 and 3. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "common/psmath.h"
#include "gbdt/gbdt_cpu.h"

static int64_t old_sum(const double *z, const uint8_t *Y, int64_t n, int k, int h) {
  int64_t acc = 0;
  for (int64_t i = 0; i < n; i++) {
    double loss, r;
    ps_loss_residual(z[i], Y[(size_t)i * (size_t)k + (size_t)h], 1.0, &loss, &r);
    acc += (int64_t)nearbyint((loss < 64.0 ? loss : 64.0) * PS_GBDT_LOSS_SCALE);
  }
  return acc;
}

static void equals_old_loop(void **state) {
  (void)state;
  static const double special[] = {0.0, -0.0, 1e-300, -1e-300, 35.0, -35.0, 64.0, -64.0, 745.0, -745.0,
                                   1e300, -1e300, INFINITY, -INFINITY, NAN, 0.5, -0.5, 3.25, -7.75};
  enum { N = 100000 };
  double *z = malloc(sizeof(double) * N);
  uint8_t *Y = malloc(3 * (size_t)N);
  uint64_t s = 0x9E3779B97F4A7C15ull;
  for (int64_t i = 0; i < N; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    int64_t ns = (int64_t)(sizeof special / sizeof *special);
    z[i] = i % 3 == 0 ? special[(i / 3) % ns] : ((double)(s >> 11) * 0x1.0p-53 - 0.5) * 24.0;
    for (int c = 0; c < 3; c++) Y[3 * i + c] = (uint8_t)((s >> (20 + c)) & 1);
  }
  for (int64_t n = 0; n <= 40; n++)
    for (int h = 0; h < 3; h++) assert_int_equal(ps_gbdt_loss_q_cpu(z + n, Y + h, 3, n), old_sum(z + n, Y, n, 3, h));
  assert_int_equal(ps_gbdt_loss_q_cpu(z, Y, 1, N), old_sum(z, Y, N, 1, 0));
  assert_int_equal(ps_gbdt_loss_q_cpu(z, Y + 2, 3, N), old_sum(z, Y, N, 3, 2));
  free(z);
  free(Y);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(equals_old_loop)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
