/* test_grad_q.c: the trees' fused gradient pass (kernels/gbdt/grad_q_cpu.c)
 * gives the bits of the formulas it replaced, written out here as they
 * were (branchy sigmoid with libm's exp, nearbyint, floor): every gq, hq,
 * the loss sum, the maxima and the packed quantized words, for both labels,
 * scores at 0, -0, +-35, +-745, +-1e300, the vectorized path and the one
 * for weights near 2^51 / scale, and gradients on the quantization steps'
 * boundaries (g = +-k sg, h = 0, the maxima themselves); and scores where
 * one exp a row (ps_exp_neg's p for the Hessian too) would move hq; and
 * ps_exp_t128 (the Hessian's exp, host and device) = libm's exp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <math.h>

#include "common/psmath.h"
#include "core/rng.h"
#include "common/exp_tab.h"
#include "gbdt/gbdt_cpu.h"

/* glibc runs its FMA build of exp on a CPU with FMA and AVX2 (ps_exp_t128's
 * bits); elsewhere its SSE2 build differs in ~1 of 2000 results: there the
 * old formulas are checked with ps_exp_t128 in exp's place. */
static int libm_fma(void) {
#if defined(__x86_64__)
  return __builtin_cpu_supports("fma") && __builtin_cpu_supports("avx2");
#else
  return 1;
#endif
}
static double old_exp(double x) { return libm_fma() ? exp(x) : ps_exp_t128(x); }
static double old_sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + old_exp(-z));
  double e = old_exp(z);
  return e / (1.0 + e);
}
static int64_t old_fix(double v, double scale) { return (int64_t)nearbyint(v * scale); }
static int64_t old_quant(int64_t v, int64_t step, uint64_t u) {
  int64_t r = (int64_t)(((unsigned __int128)u * (uint64_t)step) >> 64), x = v + r;
  int64_t q = (int64_t)floor((double)x / (double)step);
  while (q * step > x) q--;
  while ((q + 1) * step <= x) q++;
  return q;
}

/* The pass before grad_q_cpu.c: returns the loss sum. */
static int64_t old_grad(const double *z, const uint8_t *y, int64_t n, double wp, double wn, double scale, int64_t *gq,
                        int64_t *hq) {
  int64_t total = 0;
  for (int64_t i = 0; i < n; i++) {
    double s = y[2 * i] > 0 ? wp : wn, loss, r;
    ps_loss_residual(z[i], y[2 * i], s, &loss, &r);
    gq[i] = old_fix(r, scale);
    double p = old_sigmoid(z[i]);
    hq[i] = old_fix(s * p * (1.0 - p), scale);
    total += old_fix(loss < 64.0 ? loss : 64.0, PS_GBDT_LOSS_SCALE);
  }
  return total;
}

/* Would hq move if the Hessian took ps_loss_residual's p (ps_exp_neg)? */
static int one_exp_differs(double z, double s, double scale) {
  double e = ps_exp_neg(fabs(z)), p = (z >= 0 ? 1.0 : e) / (1.0 + e), q = old_sigmoid(z);
  return old_fix(s * p * (1.0 - p), scale) != old_fix(s * q * (1.0 - q), scale);
}

static void check(int64_t n, double wp, double wn, double scale) {
  double *z = malloc(sizeof(double) * (size_t)n);
  uint8_t *y = malloc(2 * (size_t)n); /* two heads: stride 2, head 0 */
  int64_t *ids = malloc(sizeof(int64_t) * (size_t)n);
  int64_t *gq = malloc(sizeof(int64_t) * (size_t)n), *hq = malloc(sizeof(int64_t) * (size_t)n);
  int64_t *og = malloc(sizeof(int64_t) * (size_t)n), *oh = malloc(sizeof(int64_t) * (size_t)n);
  int32_t *gh = malloc(sizeof(int32_t) * (size_t)n);
  static const double edge[] = {0.0, -0.0, 35.0, -35.0, 745.0, -745.0, 1e300, -1e300, 1e-300, -1e-300};
  for (int64_t i = 0; i < n; i++) {
    z[i] = i < 20 ? edge[i % 10] : ps_rng_normal(3, 1, (uint64_t)i, 0) * (i % 3 ? 4.0 : 0.5);
    y[2 * i] = (uint8_t)(i < 20 ? i / 10 : ps_rng_unif(3, 2, (uint64_t)i, 0) < 0.4);
    y[2 * i + 1] = 1;
    ids[i] = (int64_t)(ps_rng_u64(3, 3, (uint64_t)i, 0) >> 1);
  }
  for (int64_t i = 40, k = 0; i < 43 && i < n; k++) /* scores where one exp (ps_exp_neg's p) would move hq */
    if (one_exp_differs(ps_rng_normal(3, 4, (uint64_t)k, 0) * 4.0, wp, scale))
      z[i++] = ps_rng_normal(3, 4, (uint64_t)k, 0) * 4.0, y[2 * i - 2] = 0;
  int64_t top[2] = {-1, -1};
  int64_t loss = ps_gbdt_grad_q_cpu(z, y, 2, n, wp, wn, scale, gq, hq, top);
  int64_t oloss = old_grad(z, y, n, wp, wn, scale, og, oh), otop[2] = {0, 0};
  assert_true(loss == oloss);
  assert_memory_equal(gq, og, sizeof(int64_t) * (size_t)n);
  assert_memory_equal(hq, oh, sizeof(int64_t) * (size_t)n);
  for (int64_t i = 0; i < n; i++) {
    otop[0] = llabs(og[i]) > otop[0] ? llabs(og[i]) : otop[0];
    otop[1] = oh[i] > otop[1] ? oh[i] : otop[1];
  }
  assert_true(top[0] == otop[0] && top[1] == otop[1]);
  for (int qmax = 7; qmax <= 32767; qmax = qmax * 16 + 15) { /* 4, 8, 16 bits (Q = 7, 127, 2047 ... 32767) */
    int64_t sg = (top[0] + qmax - 1) / qmax, sh = (top[1] + qmax - 1) / qmax;
    sg = sg > 0 ? sg : 1, sh = sh > 0 ? sh : 1;
    for (int64_t i = 20; i < 40 && i < n; i++) { /* on the steps' boundaries */
      og[i] = (i % 2 ? -1 : 1) * (i % 4) * sg * (qmax / 3);
      oh[i] = i % 3 ? 0 : top[1];
    }
    ps_gbdt_quant_cpu(og, oh, ids, n, 42, (1ull << 32) | 5, sg, sh, gh);
    for (int64_t i = 0; i < n; i++) {
      uint64_t u = ps_rng_u64(42, 19, (uint64_t)ids[i], (1ull << 32) | 5);
      int64_t qg = old_quant(og[i], sg, u), qh = old_quant(oh[i], sh, ps_mix64(u));
      assert_true(llabs(qg) <= qmax && qh >= 0 && qh <= qmax);
      assert_true(gh[i] == PS_GBDT_QPACK(qg, qh));
    }
  }
  free(z), free(y), free(ids), free(gq), free(hq), free(og), free(oh), free(gh);
}

static void fused_equals_old(void **state) {
  (void)state;
  check(100003, 1.0, 1.0, ldexp(1.0, 41)); /* 1M rows' scale */
  check(4099, 3.0, 0.7, ldexp(1.0, 48));   /* few rows: the largest scale */
  check(1000, 9.0, 1.0, ldexp(1.0, 48));   /* w * scale >= 2^50: ps_gbdt_fix's path */
}

/* ps_exp_t128 = libm's exp on [-64, 0] (integers, halves, tiny and random). */
static void exp_is_libm(void **state) {
  (void)state;
  if (!libm_fma()) skip();
  for (int64_t i = 0; i < 1000000; i++) {
    double x = i < 129 ? -0.5 * (double)i : -64.0 * ps_rng_unif(5, 1, (uint64_t)i, 0);
    if (i % 3 == 1) x = -ldexp(ps_rng_unif(5, 2, (uint64_t)i, 0), -(int)(i % 64));
    if (ps_exp_t128(x) != exp(x)) fail_msg("ps_exp_t128(%a) = %a, exp %a", x, ps_exp_t128(x), exp(x));
  }
}

static void no_rows(void **state) {
  (void)state;
  int64_t top[2] = {-1, -1};
  assert_true(ps_gbdt_grad_q_cpu(NULL, NULL, 1, 0, 1.0, 1.0, 1024.0, NULL, NULL, top) == 0);
  assert_true(top[0] == 0 && top[1] == 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(fused_equals_old), cmocka_unit_test(exp_is_libm),
                                     cmocka_unit_test(no_rows)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
