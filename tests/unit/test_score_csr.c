/* test_score_csr.c: CSR rows under any standardization
 * (kernels/logreg/score_csr_cpu.c) give bitwise the dense twins' logits
 * and probabilities over the rows made dense: centred columns, missing
 * indicators, a one-hot input, stored zeros, -0.0 and NaN, empty and full
 * rows, 1-3 heads (the two-head pairs of logits_cpu.c), blocks across the
 * 64-row tiles, a block starting inside the matrix. Folding the zeros'
 * constant into the bias (a sparse dot) fails it: the doubles differ. The
 * probabilities: almost every row decided by the folded sum's certified
 * rounding, and every row by the tiles (the bound widened), the same. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/psmath.h"
#include "core/rng.h"
#include "logreg/logreg_cpu.h"
#include "logreg/logreg_csr_cpu.h"

typedef struct {
  int64_t n, f, nnz;
  float *X; /* dense [n][f] */
  int64_t *ptr;
  int32_t *idx;
  float *val;
} mat_t;

/* A stored value: mostly normal, some 0.0, -0.0, NaN, small codes (input 1 is one-hot). */
static float value(uint64_t seed, int64_t i, int64_t j) {
  double u = ps_rng_unif(seed, 5, (uint64_t)i, (uint64_t)j);
  if (j == 1) return (float)(int)(u * 3);
  if (u < 0.05) return 0.0f;
  if (u < 0.08) return -0.0f;
  if (u < 0.11) return NAN;
  return (float)(1.0 + ps_rng_normal(seed, 2, (uint64_t)i, (uint64_t)j));
}

static mat_t make(int64_t n, int64_t f, double d, uint64_t seed) {
  mat_t m = {.n = n, .f = f};
  m.X = calloc((size_t)(n * f + 1), sizeof(float));
  m.ptr = calloc((size_t)n + 1, sizeof(int64_t));
  m.idx = calloc((size_t)(n * f + 1), sizeof(int32_t));
  m.val = calloc((size_t)(n * f + 1), sizeof(float));
  for (int64_t i = 0; i < n; i++) {
    for (int64_t j = 0; j < f; j++) {
      int on = i % 7 == 5 || (i % 7 != 3 && ps_rng_unif(seed, 1, (uint64_t)i, (uint64_t)j) < d);
      if (!on) continue;
      float v = value(seed, i, j);
      m.X[i * f + j] = v;
      m.idx[m.nnz] = (int32_t)j;
      m.val[m.nnz++] = v;
    }
    m.ptr[i + 1] = m.nnz;
  }
  return m;
}

static void drop(mat_t *m) {
  free(m->X);
  free(m->ptr);
  free(m->idx);
  free(m->val);
}

/* Model columns: every input centred, then a missing indicator of every third input, then input 1's codes 0 and 2. */
typedef struct {
  int64_t c;
  int64_t src[128];
  uint8_t kind[128];
  double mean[128], scale[128];
} cols_t;

static cols_t columns(int64_t f) {
  cols_t t = {.c = 0};
  for (int64_t j = 0; j < f; j++) {
    t.src[t.c] = j;
    t.kind[t.c] = PS_COL_VALUE;
    t.mean[t.c] = 0.2 + 0.01 * (double)j;
    t.scale[t.c++] = 1.0 / (0.7 + 0.03 * (double)j);
  }
  for (int64_t j = 0; j < f; j += 3) {
    t.src[t.c] = j;
    t.kind[t.c] = PS_COL_MISSING;
    t.mean[t.c] = 0.1;
    t.scale[t.c++] = 3.0;
  }
  for (int code = 0; code <= 2; code += 2) {
    t.src[t.c] = 1;
    t.kind[t.c] = (uint8_t)(PS_COL_CATEGORY + code);
    t.mean[t.c] = 0.3;
    t.scale[t.c++] = 2.0;
  }
  return t;
}

static void same(int64_t n, int64_t f, int k, double d, int64_t from) {
  mat_t m = make(n, f, d, (uint64_t)(n * 31 + f * 7 + k));
  cols_t t = columns(f);
  int64_t c1 = t.c + 1, rows = n - from;
  double *theta = malloc(sizeof(double) * (size_t)(k * c1));
  for (int64_t q = 0; q < k * c1; q++) theta[q] = 0.4 * ps_rng_normal(9, 4, (uint64_t)q, 0);
  ps_std_csr_t s;
  ps_std_csr_init(&s, f, t.c, t.src, t.kind, t.mean, t.scale);
  size_t kn = (size_t)(rows * k + 1);
  double *Z1 = calloc(kn, 8), *Z2 = calloc(kn, 8);
  float *P1 = calloc(kn, 4), *P2 = calloc(kn, 4);
  const float *X = m.X + from * f;
  const int64_t *ptr = m.ptr + from;
  ps_logits_raw_cpu(X, rows, f, t.c, k, t.src, t.kind, t.mean, t.scale, theta, Z1);
  ps_logits_csr_raw_cpu(&s, ptr, m.idx + m.ptr[from], m.val + m.ptr[from], rows, k, theta, Z2);
  assert_memory_equal(Z1, Z2, sizeof(double) * (size_t)(rows * k));
  ps_score_raw_cpu(X, rows, f, t.c, k, t.src, t.kind, t.mean, t.scale, theta, P1);
  int64_t exact = ps_score_csr_raw_cpu(&s, ptr, m.idx + m.ptr[from], m.val + m.ptr[from], rows, k, theta, P2);
  assert_memory_equal(P1, P2, sizeof(float) * (size_t)(rows * k));
  assert_true(exact <= rows / 10); /* the folded sum decides almost every row */
  s.slack = 1e300;                 /* no row certain: every row through the tiles */
  memset(P2, 0, sizeof(float) * kn);
  exact = ps_score_csr_raw_cpu(&s, ptr, m.idx + m.ptr[from], m.val + m.ptr[from], rows, k, theta, P2);
  assert_int_equal(exact, rows);
  assert_memory_equal(P1, P2, sizeof(float) * (size_t)(rows * k));
  ps_std_csr_free(&s);
  free(theta);
  free(Z1);
  free(Z2);
  free(P1);
  free(P2);
  drop(&m);
}

static void test_one_head(void **st) {
  (void)st;
  same(1, 5, 1, 0.5, 0);
  same(65, 13, 1, 0.2, 0);
  same(300, 40, 1, 0.05, 7);
}

static void test_heads_in_pairs(void **st) {
  (void)st;
  same(129, 17, 2, 0.1, 0);
  same(200, 30, 3, 0.3, 65);
}

static void test_wide_sparse(void **st) {
  (void)st;
  same(260, 90, 2, 0.02, 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_one_head),
      cmocka_unit_test(test_heads_in_pairs),
      cmocka_unit_test(test_wide_sparse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
