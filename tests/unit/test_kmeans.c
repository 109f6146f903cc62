/* test_kmeans.c: the k-means CPU twins -- the GEMM assignment agrees with
 * brute-force distances, a row's label and distance do not depend on which
 * block it is in, and the fixed-point update gives the same sums for any
 * split of the rows (what makes P = 1, 2, 3 identical). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/rng.h"
#include "kmeans/kmeans_cpu.h"

enum { N = 3001, C = 7, K = 5 };
static float X[N * C], Cf[K * C];
static double cn[K], xn[N];

static void setup_data(void) {
  for (int j = 0; j < K; j++) {
    for (int t = 0; t < C; t++) Cf[j * C + t] = (float)(3 * ps_rng_normal(5, 1, (uint64_t)j, 2 * (uint64_t)t));
    cn[j] = km_norm2(Cf + j * C, C);
  }
  for (int i = 0; i < N; i++)
    for (int t = 0; t < C; t++) X[i * C + t] = (float)ps_rng_normal(5, 2, (uint64_t)i, 2 * (uint64_t)t) * 2;
  km_norms_cpu(X, N, C, xn);
}

static void assign_matches_brute_force(void **state) {
  (void)state;
  setup_data();
  float *work = malloc(sizeof(float) * (size_t)km_assign_work(C, K));
  int32_t lab[N];
  double d2[N];
  km_assign_cpu(X, xn, N, C, Cf, cn, K, lab, d2, work);
  int wrong = 0;
  for (int i = 0; i < N; i++) {
    double best = INFINITY;
    for (int j = 0; j < K; j++) {
      double s = 0;
      for (int t = 0; t < C; t++) s += ((double)X[i * C + t] - Cf[j * C + t]) * ((double)X[i * C + t] - Cf[j * C + t]);
      best = fmin(best, s);
    }
    double s = 0;
    for (int t = 0; t < C; t++) s += ((double)X[i * C + t] - Cf[lab[i] * C + t]) * ((double)X[i * C + t] - Cf[lab[i] * C + t]);
    wrong += s > best * (1 + 1e-5) + 1e-5; /* float GEMM: near-ties only */
    assert_true(fabs(d2[i] - s) <= 1e-4 * (1 + s));
  }
  assert_int_equal(wrong, 0);
  /* blocks of other sizes (other rank splits): the same bits */
  int32_t lab2[N];
  double d22[N];
  for (int i0 = 0; i0 < N; i0 += 777) {
    int m = N - i0 < 777 ? N - i0 : 777;
    km_assign_cpu(X + i0 * C, xn + i0, m, C, Cf, cn, K, lab2 + i0, d22 + i0, work);
  }
  assert_memory_equal(lab, lab2, sizeof lab);
  assert_memory_equal(d2, d22, sizeof d2);
  free(work);
}

static void update_is_split_invariant(void **state) {
  (void)state;
  setup_data();
  int32_t lab[N];
  double d2[N];
  float *work = malloc(sizeof(float) * (size_t)km_assign_work(C, K));
  km_assign_cpu(X, xn, N, C, Cf, cn, K, lab, d2, work);
  int64_t a[K * C + K + 1], b[K * C + K + 1];
  memset(a, 0, sizeof a);
  memset(b, 0, sizeof b);
  km_update_cpu(X, N, C, lab, d2, K, a, a + K * C, a + K * C + K);
  for (int i0 = N; i0 > 0; i0 -= 401) { /* reversed blocks */
    int s = i0 - 401 > 0 ? i0 - 401 : 0;
    km_update_cpu(X + s * C, i0 - s, C, lab + s, d2 + s, K, b, b + K * C, b + K * C + K);
  }
  assert_memory_equal(a, b, sizeof a);
  int64_t cnt = 0;
  for (int j = 0; j < K; j++) cnt += a[K * C + j];
  assert_int_equal(cnt, N);
  /* the fixed-point mean is the float mean to ~2^-24 */
  for (int j = 0; j < K; j++) {
    if (!a[K * C + j]) continue;
    for (int t = 0; t < C; t++) {
      double m = 0;
      for (int i = 0; i < N; i++)
        if (lab[i] == j) m += X[i * C + t];
      m /= (double)a[K * C + j];
      assert_true(fabs(m - (double)a[j * C + t] / KM_FIX_X / (double)a[K * C + j]) < 1e-6);
    }
  }
  free(work);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(assign_matches_brute_force),
                                     cmocka_unit_test(update_is_split_invariant)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
