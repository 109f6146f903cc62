/* test_hist_q.c: quantized gradients (issue 26): the packed histograms of
 * kernels/gbdt/hist_q_cpu.c equal an int64 recount of the same quantized
 * values at every accumulator width the leaf's rows allow; the width
 * switches exactly at rows x Q = 2^15 and 2^31 and the packed sums are
 * exact right under each bound (all rows at +-Q in one bin); the
 * stochastic rounding (models/gbdt/quant.c) is bounded by Q, unbiased on
 * average, and the same for any row order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <math.h>

#include "gbdt/gbdt_cpu.h"
#include "models/gbdt/quant.h"

static uint64_t state = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) { /* xorshift64*: the test's own data */
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1Dull;
}

/* hist_q at width w against the recount of rows[0..m) (f features, nb bins each). */
static void check_width(const uint8_t *B, int64_t f, const int64_t *bin_off, const int64_t *rows, int64_t m,
                        const int32_t *gh, int w) {
  int64_t total = bin_off[f];
  int64_t *want = calloc((size_t)(2 * total), sizeof(int64_t)), *got = malloc(sizeof(int64_t) * 2 * (size_t)total);
  uint64_t *work = malloc(sizeof(uint64_t) * (size_t)total);
  for (int64_t r = 0; r < m; r++)
    for (int64_t j = 0; j < f; j++) {
      int64_t q = bin_off[j] + B[rows[r] * f + j];
      want[2 * q] += PS_GBDT_QG(gh[rows[r]]);
      want[2 * q + 1] += PS_GBDT_QH(gh[rows[r]]);
    }
  memset(got, 0x5A, sizeof(int64_t) * 2 * (size_t)total); /* overwritten, not added to */
  ps_gbdt_hist_q_cpu(B, f, bin_off, total, rows, m, gh, w, work, got);
  assert_memory_equal(got, want, sizeof(int64_t) * 2 * (size_t)total);
  free(want);
  free(got);
  free(work);
}

static void packed_histograms_equal_a_recount(void **st) {
  (void)st;
  enum { N = 3000, F = 4 };
  const int64_t nb[F] = {3, 256, 17, 2};
  int64_t bin_off[F + 1] = {0}, rows[N];
  uint8_t *B = malloc(N * F);
  int32_t gh[N];
  for (int j = 0; j < F; j++) bin_off[j + 1] = bin_off[j] + nb[j];
  for (int64_t i = 0; i < N; i++)
    for (int j = 0; j < F; j++) B[i * F + j] = (uint8_t)(next() % (uint64_t)nb[j]);
  const int bits[] = {4, 8, 16};
  for (int k = 0; k < 3; k++) {
    int32_t Q = gbdt_quant_qmax(bits[k]);
    for (int64_t i = 0; i < N; i++)
      gh[i] = PS_GBDT_QPACK((int32_t)(next() % (uint64_t)(2 * Q + 1)) - Q, (int32_t)(next() % (uint64_t)(Q + 1)));
    for (int64_t m = 1; m <= N; m = m * 3 + 1) {
      for (int64_t r = 0; r < m; r++) rows[r] = (int64_t)(next() % N); /* any rows, repeats too */
      for (int w = ps_gbdt_hist_q_width(m, Q); w <= 128; w *= 2) check_width(B, F, bin_off, rows, m, gh, w);
    }
  }
  free(B);
}

/* m rows, all in bin 1 of one feature, every one at (sign Q, Q). */
static void extreme(int64_t m, int32_t Q, int sign, int want_width) {
  int64_t bin_off[2] = {0, 2}, *rows = malloc(sizeof(int64_t) * (size_t)m);
  uint8_t *B = malloc((size_t)m);
  int32_t *gh = malloc(sizeof(int32_t) * (size_t)m);
  for (int64_t i = 0; i < m; i++) {
    rows[i] = i;
    B[i] = 1;
    gh[i] = PS_GBDT_QPACK(sign * Q, Q);
  }
  int w = ps_gbdt_hist_q_width(m, Q);
  assert_int_equal(w, want_width);
  int64_t h[4];
  uint64_t work[2];
  ps_gbdt_hist_q_cpu(B, 1, bin_off, 2, rows, m, gh, w, work, h);
  assert_true(h[0] == 0 && h[1] == 0);
  assert_true(h[2] == sign * m * Q);
  assert_true(h[3] == m * Q);
  free(rows);
  free(B);
  free(gh);
}

static void the_width_switches_at_the_bound(void **st) {
  (void)st;
  /* rows x Q < 2^15: int32 packed pairs; at 2^15 the wider one */
  assert_int_equal(ps_gbdt_hist_q_width(32767, 1), 32);
  assert_int_equal(ps_gbdt_hist_q_width(32768, 1), 64);
  assert_int_equal(ps_gbdt_hist_q_width(258, 127), 32); /* 32766 */
  assert_int_equal(ps_gbdt_hist_q_width(259, 127), 64); /* 32893 */
  assert_int_equal(ps_gbdt_hist_q_width(((int64_t)1 << 31) - 1, 1), 64);
  assert_int_equal(ps_gbdt_hist_q_width((int64_t)1 << 31, 1), 128);
  assert_int_equal(ps_gbdt_hist_q_width(65538, 32767), 64);  /* 2147483646 < 2^31 */
  assert_int_equal(ps_gbdt_hist_q_width(65539, 32767), 128); /* 2147516413 >= 2^31 */
  for (int sign = -1; sign <= 1; sign += 2) {
    extreme(258, 127, sign, 32);   /* the last leaf of the narrow word: exact */
    extreme(259, 127, sign, 64);   /* one row more: the wider word */
    extreme(32767, 1, sign, 32);   /* rows x Q = 2^15 - 1 */
    extreme(32768, 1, sign, 64);   /* rows x Q = 2^15: the wider word */
    extreme(65538, 32767, sign, 64);
    extreme(65539, 32767, sign, 128);
  }
}

static void rounding_is_the_same_for_any_row_order(void **st) {
  (void)st;
  enum { N = 5000 };
  static int64_t gq[N], hq[N], ids[N], pg[N], ph[N], pid[N], perm[N];
  static int32_t gh[N], pgh[N];
  for (int64_t i = 0; i < N; i++) {
    gq[i] = (int64_t)(next() % 2000001) - 1000000;
    hq[i] = (int64_t)(next() % 250001);
    ids[i] = (int64_t)(next() >> 20);
    perm[i] = i;
  }
  for (int64_t i = N - 1; i > 0; i--) { /* a shuffled copy of the rows */
    int64_t j = (int64_t)(next() % (uint64_t)(i + 1)), t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  for (int64_t i = 0; i < N; i++) {
    pg[i] = gq[perm[i]];
    ph[i] = hq[perm[i]];
    pid[i] = ids[perm[i]];
  }
  int32_t Q = gbdt_quant_qmax(4);
  int64_t sg, sh, psg, psh;
  gbdt_quantize(gq, hq, ids, N, Q, 42, 1, 7, gh, &sg, &sh);
  gbdt_quantize(pg, ph, pid, N, Q, 42, 1, 7, pgh, &psg, &psh);
  assert_true(sg == psg && sh == psh);
  double sum_g = 0, sum_q = 0;
  for (int64_t i = 0; i < N; i++) {
    assert_int_equal(pgh[i], gh[perm[i]]);
    int32_t g = PS_GBDT_QG(gh[i]), h = PS_GBDT_QH(gh[i]);
    assert_true(g >= -Q && g <= Q && h >= 0 && h <= Q);
    assert_true(llabs(g * sg - gq[i]) < sg && llabs(h * sh - hq[i]) < sh); /* rounded down or up */
    sum_g += (double)gq[i];
    sum_q += (double)g * (double)sg;
  }
  /* unbiased: the rounding errors (each < sg, independent) average out */
  assert_true(fabs(sum_q - sum_g) < 6.0 * (double)sg * 0.5 * 70.8); /* 6 sigma, sigma <= sg/2 sqrt(N) */
  gbdt_quantize(gq, hq, ids, N, Q, 42, 1, 8, pgh, &psg, &psh); /* another tree: other bits */
  assert_memory_not_equal(gh, pgh, sizeof gh);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(packed_histograms_equal_a_recount),
      cmocka_unit_test(the_width_switches_at_the_bound),
      cmocka_unit_test(rounding_is_the_same_for_any_row_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
