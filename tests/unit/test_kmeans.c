/* test_kmeans.c: the k-means CPU twins -- the GEMM assignment agrees with
 * brute-force distances, a row's label and distance do not depend on which
 * block it is in, and the fixed-point update gives the same sums for any
 * split of the rows (what makes P = 1, 2, 3 identical); the fused panel
 * kernel (AVX-512) gives the bits of its plain-C reference, does not depend
 * on a row's place, and finds the nearest center; the vectorized update
 * gives the scalar integers. */
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

/* random rows and centers of the given shape (n rows, c columns, k centers) */
typedef struct {
  int64_t n, c;
  int k;
  float *X, *Cf, *P;
  double *xn, *cn;
} shape_t;
static shape_t make_shape(int64_t n, int64_t c, int k, uint64_t seed) {
  shape_t s = {n, c, k, malloc(sizeof(float) * (size_t)(n * c)), malloc(sizeof(float) * (size_t)(k * c)),
               aligned_alloc(64, sizeof(float) * (size_t)km_panel_floats(n, c)), malloc(sizeof(double) * (size_t)n),
               malloc(sizeof(double) * (size_t)k)};
  for (int j = 0; j < k; j++) {
    for (int64_t t = 0; t < c; t++) s.Cf[j * c + t] = (float)(2 * ps_rng_normal(seed, 1, (uint64_t)j, (uint64_t)t));
    s.cn[j] = km_norm2(s.Cf + j * c, c);
  }
  for (int64_t i = 0; i < n; i++)
    for (int64_t t = 0; t < c; t++) s.X[i * c + t] = (float)ps_rng_normal(seed, 2, (uint64_t)i, (uint64_t)t) * 2;
  km_norms_cpu(s.X, n, c, s.xn);
  km_pack_panels(s.X, n, c, s.P);
  return s;
}
static void free_shape(shape_t *s) { free(s->X), free(s->Cf), free(s->P), free(s->xn), free(s->cn); }

static void panels_match_reference(void **state) {
  (void)state;
  const int64_t shapes[][3] = {{3001, 7, 29}, {2003, 32, 26}, {517, 19, 13}, {100, 3, 1}, {5, 40, 40}};
  for (size_t q = 0; q < sizeof shapes / sizeof shapes[0]; q++) {
    shape_t s = make_shape(shapes[q][0], shapes[q][1], (int)shapes[q][2], 11 + q);
    int64_t n = s.n, c = s.c;
    int k = s.k;
    int32_t *l1 = malloc(sizeof(int32_t) * (size_t)n), *l2 = malloc(sizeof(int32_t) * (size_t)n),
            *l3 = malloc(sizeof(int32_t) * (size_t)n);
    double *d1 = malloc(sizeof(double) * (size_t)n), *d2 = malloc(sizeof(double) * (size_t)n),
           *d3 = malloc(sizeof(double) * (size_t)n);
    km_assign_panels_cpu(s.P, s.xn, n, c, s.Cf, s.cn, k, l1, d1);
    km_assign_panels_ref(s.P, s.xn, n, c, s.Cf, s.cn, k, l2, d2);
    assert_memory_equal(l1, l2, sizeof(int32_t) * (size_t)n);
    assert_memory_equal(d1, d2, sizeof(double) * (size_t)n);
    /* the rows from 5 on, packed at other places (another rank's split): the same bits */
    if (n > 5) {
      float *P2 = aligned_alloc(64, sizeof(float) * (size_t)km_panel_floats(n - 5, c));
      km_pack_panels(s.X + 5 * c, n - 5, c, P2);
      km_assign_panels_cpu(P2, s.xn + 5, n - 5, c, s.Cf, s.cn, k, l3, d3);
      assert_memory_equal(l1 + 5, l3, sizeof(int32_t) * (size_t)(n - 5));
      assert_memory_equal(d1 + 5, d3, sizeof(double) * (size_t)(n - 5));
      free(P2);
    }
    /* the nearest center, up to float near-ties; the distance to it */
    int wrong = 0;
    for (int64_t i = 0; i < n; i++) {
      double best = INFINITY, mine = 0;
      for (int j = 0; j < k; j++) {
        double e = 0;
        for (int64_t t = 0; t < c; t++) e += ((double)s.X[i * c + t] - s.Cf[j * c + t]) * ((double)s.X[i * c + t] - s.Cf[j * c + t]);
        best = fmin(best, e);
        if (j == l1[i]) mine = e;
      }
      wrong += mine > best * (1 + 1e-5) + 1e-5;
      assert_true(fabs(d1[i] - mine) <= 1e-4 * (1 + mine));
    }
    assert_int_equal(wrong, 0);
    free(l1), free(l2), free(l3), free(d1), free(d2), free(d3);
    free_shape(&s);
  }
}

/* km_update_cpu (vectorized where the CPU can) against the contract written
 * out one row at a time, and the update fused into the panel pass against it */
static void update_gives_scalar_integers(void **state) {
  (void)state;
  const int64_t shapes[][3] = {{1001, 7, 5}, {999, 32, 26}, {300, 19, 3}, {77, 40, 30}, {33, 16, 2}};
  for (size_t q = 0; q < sizeof shapes / sizeof shapes[0]; q++) {
    shape_t s = make_shape(shapes[q][0], shapes[q][1], (int)shapes[q][2], 40 + q);
    int64_t n = s.n, c = s.c;
    int k = s.k;
    int32_t *lab = malloc(sizeof(int32_t) * (size_t)n);
    double *d2 = malloc(sizeof(double) * (size_t)n);
    km_assign_panels_cpu(s.P, s.xn, n, c, s.Cf, s.cn, k, lab, d2);
    size_t na = (size_t)(k * c + k + 1);
    int64_t *a = calloc(na, sizeof(int64_t)), *b = calloc(na, sizeof(int64_t));
    km_update_cpu(s.X, n, c, lab, d2, k, a, a + k * c, a + k * c + k);
    for (int64_t i = 0; i < n; i++) { /* the contract, one row at a time */
      for (int64_t t = 0; t < c; t++) b[lab[i] * c + t] += km_fix_x(s.X[i * c + t]);
      b[k * c + lab[i]]++;
      b[k * c + k] += km_fix_d2(d2[i]);
    }
    assert_memory_equal(a, b, sizeof(int64_t) * na);
    /* the update made in the assignment's pass (from the panels): the same labels, distances, integers */
    int32_t *lab2 = malloc(sizeof(int32_t) * (size_t)n);
    double *d22 = malloc(sizeof(double) * (size_t)n);
    int64_t *f = calloc(na, sizeof(int64_t));
    km_assign_update_panels_cpu(s.P, s.X, s.xn, n, c, s.Cf, s.cn, k, lab2, d22, f);
    assert_memory_equal(lab, lab2, sizeof(int32_t) * (size_t)n);
    assert_memory_equal(d2, d22, sizeof(double) * (size_t)n);
    assert_memory_equal(a, f, sizeof(int64_t) * na);
    free(lab2), free(d22), free(f);
    free(a), free(b), free(lab), free(d2);
    free_shape(&s);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(assign_matches_brute_force),
                                     cmocka_unit_test(update_is_split_invariant),
                                     cmocka_unit_test(panels_match_reference),
                                     cmocka_unit_test(update_gives_scalar_integers)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
