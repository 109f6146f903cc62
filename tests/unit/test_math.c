/* test_math.c: psmath.h formulas, the counter RNG and the row partition. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/partition.h"
#include "core/xsum.h"
#include "common/psmath.h"
#include "core/rng.h"

static void sigmoid_stable(void **state) {
  (void)state;
  assert_true(ps_sigmoid(0) == 0.5);
  assert_true(ps_sigmoid(800) == 1.0 && ps_sigmoid(-800) == 0.0);
  for (double z = -30; z <= 30; z += 0.37) {
    double ref = 1.0 / (1.0 + exp(-z));
    assert_true(fabs(ps_sigmoid(z) - ref) <= 4 * DBL_EPSILON * ref + 1e-300);
    assert_true(fabs(ps_sigmoid(z) + ps_sigmoid(-z) - 1.0) < 4 * DBL_EPSILON);
  }
}

static void loss_terms(void **state) {
  (void)state;
  for (double z = -40; z <= 40; z += 0.5) {
    double p = ps_sigmoid(z);
    /* -log p(y|z) for y = 1 and y = 0, also where 1 - p rounds to 0 */
    assert_true(fabs(ps_logloss(z, 1) - ps_log1pexp(-z)) < 1e-12 * (1 + ps_log1pexp(-z)));
    assert_true(fabs(ps_logloss(z, 0) - ps_log1pexp(z)) < 1e-12 * (1 + ps_log1pexp(z)));
    assert_true(isfinite(ps_logloss(z, 0)) && isfinite(ps_logloss(z, 1)));
    assert_true(fabs(ps_residual(z, 1, 2.0) - 2.0 * (p - 1)) < 1e-15);
    assert_true(fabs(ps_hess_weight(z, 1.0) - p * (1 - p)) < 1e-15);
    for (int y = 0; y <= 1; y++) { /* the fused form equals the separate ones */
      double l, r;
      ps_loss_residual(z, y, 0.7, &l, &r);
      assert_true(fabs(l - 0.7 * ps_logloss(z, y)) <= 1e-15 * (1 + l));
      assert_true(fabs(r - ps_residual(z, y, 0.7)) <= 2e-16);
    }
  }
  assert_true(ps_log1pexp(1000) == 1000 && ps_log1pexp(-1000) == 0);
  assert_true(ps_row_weight(1, 5, 1) == 5 && ps_row_weight(0, 5, 1) == 1);
}

static void fast_exp_log(void **state) {
  (void)state;
  double worst_e = 0, worst_l = 0;
  for (double a = 0; a < 745; a += (a < 40 ? 0.0013 : 0.7)) {
    double e = ps_exp_neg(a), ref = exp(-a);
    if (ref > 1e-300) worst_e = fmax(worst_e, fabs(e - ref) / ref);
    else assert_true(e < 1e-290);
  }
  for (double e = 0; e <= 1.0; e += 1.0 / 4096 + 1e-9) {
    double ref = log1p(e);
    worst_l = fmax(worst_l, e > 0 ? fabs(ps_log1p_unit(e) - ref) / ref : fabs(ps_log1p_unit(e)));
  }
  assert_true(worst_e < 5e-16);
  assert_true(worst_l < 5e-16);
  assert_true(ps_exp_neg(0) == 1.0 && ps_log1p_unit(0) == 0.0);
}

static void standardize(void **state) {
  (void)state;
  assert_true(ps_standardize(3.0f, PS_COL_VALUE, 1.0, 0.5) == 1.0);
  assert_true(ps_standardize(NAN, PS_COL_VALUE, 1.0, 0.5) == 0.0);       /* mean imputation */
  assert_true(ps_standardize(INFINITY, PS_COL_VALUE, 1.0, 0.5) == 0.0);
  assert_true(ps_standardize(7.0f, PS_COL_VALUE, 7.0, 0.0) == 0.0);      /* constant column */
  assert_true(ps_standardize(NAN, PS_COL_MISSING, 0.25, 2.0) == 1.5);    /* (1 - 0.25) * 2 */
  assert_true(ps_standardize(4.0f, PS_COL_MISSING, 0.25, 2.0) == -0.5);
}

static void rng_counter_based(void **state) {
  (void)state;
  double s = 0, s2 = 0, n = 200000, nn = 0, nn2 = 0;
  for (uint64_t i = 0; i < (uint64_t)n; i++) {
    double u = ps_rng_unif(42, 1, i, 3);
    assert_true(u > 0 && u < 1);
    assert_true(u == ps_rng_unif(42, 1, i, 3)); /* pure function of its key */
    s += u;
    s2 += u * u;
    double z = ps_rng_normal(42, 1, i, 10);
    nn += z;
    nn2 += z * z;
  }
  assert_true(fabs(s / n - 0.5) < 0.005 && fabs(s2 / n - 1.0 / 3) < 0.005);
  assert_true(fabs(nn / n) < 0.01 && fabs(nn2 / n - 1) < 0.02);
  assert_true(ps_rng_unif(42, 1, 5, 3) != ps_rng_unif(43, 1, 5, 3));
  assert_true(ps_rng_unif(42, 1, 5, 3) != ps_rng_unif(42, 2, 5, 3));
  double lam = 3.5, m = 0;
  for (uint64_t i = 0; i < 50000; i++) m += ps_rng_poisson(lam, 1, 2, i, 0);
  assert_true(fabs(m / 50000 - lam) < 0.05);
  int va = 0;
  for (int64_t id = 0; id < 100000; id++) va += ps_id_unit(id, 0x5eed) < 0.2;
  assert_true(va > 19400 && va < 20600);
}

static void partition_covers(void **state) {
  (void)state;
  /* contiguous, covering, whole grid blocks (a rank starts on the grid), balanced to one block */
  const int64_t ns[] = {0, 1, 255, 256, 257, 1000, 40001, 1 << 20, 3 * 256 + 1};
  for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++)
    for (int p = 1; p <= 7; p++) {
      int64_t n = ns[t], next = 0, nb = (n + PS_ROW_GRID - 1) / PS_ROW_GRID;
      for (int r = 0; r < p; r++) {
        int64_t r0, c;
        ps_partition(n, p, r, &r0, &c);
        assert_true(r0 == next && c >= 0 && (r0 % PS_ROW_GRID == 0 || r0 == n));
        int64_t blocks = (c + PS_ROW_GRID - 1) / PS_ROW_GRID;
        assert_true(blocks >= nb / p && blocks <= nb / p + 1);
        next = r0 + c;
      }
      assert_true(next == n);
    }
}

/* Exact sums: any grouping and order gives the same words; the value is
 * the true sum to the quantum; overflow reads as +Inf. */
static void xsum_exact_any_order(void **state) {
  (void)state;
  enum { N = 4000 };
  static double v[N];
  uint64_t s = 12345;
  long double ref = 0;
  for (int i = 0; i < N; i++) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    double m = (double)(s >> 11) / 9007199254740992.0 - 0.5;
    v[i] = ldexp(m, (int)((s >> 3) % 60) - 30); /* magnitudes 2^-31 .. 2^29, both signs */
    ref += v[i];
  }
  int64_t a[PS_XS_WORDS] = {0}, b[PS_XS_WORDS] = {0}, parts[3][PS_XS_WORDS] = {{0}};
  for (int i = 0; i < N; i++) ps_xsum_add(a, v[i]);
  for (int i = N - 1; i >= 0; i--) ps_xsum_add(parts[i % 3], v[i]); /* three "ranks", reversed, interleaved */
  for (int r = 0; r < 3; r++) {
    ps_xsum_norm(parts[r]);
    for (int w = 0; w < PS_XS_WORDS; w++) b[w] += parts[r][w];
  }
  ps_xsum_norm(a);
  ps_xsum_norm(b);
  assert_memory_equal(a, b, sizeof a);
  double va = ps_xsum_value(a);
  assert_true(fabsl((long double)va - ref) <= 1e-15L * fabsl(ref) + 1e-20L);
  /* a sum and its negation cancel exactly; tiny values round to the quantum */
  for (int i = 0; i < N; i++) ps_xsum_add(a, -v[i]);
  assert_true(ps_xsum_value(a) == 0.0);
  ps_xsum_add(a, ldexp(1.0, -PS_XS_FRAC - 2));
  assert_true(ps_xsum_value(a) == 0.0);
  ps_xsum_add(a, -ldexp(3.0, -PS_XS_FRAC - 1)); /* -1.5 quanta: ties away from zero */
  assert_true(ps_xsum_value(a) == -ldexp(2.0, -PS_XS_FRAC));
  int64_t o[PS_XS_WORDS] = {0};
  ps_xsum_add(o, 1e30);
  assert_true(isinf(ps_xsum_value(o)));
  int64_t n[PS_XS_WORDS] = {0};
  ps_xsum_add(n, NAN);
  assert_true(isinf(ps_xsum_value(n)));
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(sigmoid_stable), cmocka_unit_test(loss_terms), cmocka_unit_test(fast_exp_log),
                                     cmocka_unit_test(standardize), cmocka_unit_test(rng_counter_based),
                                     cmocka_unit_test(partition_covers), cmocka_unit_test(xsum_exact_any_order)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
