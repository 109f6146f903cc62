/* test_grad_csr.c: the CSR twins (kernels/logreg/grad_csr_cpu.c) give
 * bitwise the dense twins' block sums and probabilities over the same rows
 * made dense: empty and full rows, tails of a group of four and of a tile,
 * several heads, Newton Hessians, columns past the last full lane. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/rng.h"
#include "logreg/logreg_cpu.h"
#include "logreg/logreg_csr_cpu.h"

typedef struct {
  int64_t n, c, nnz;
  float *X; /* dense [n][c] */
  int64_t *ptr;
  int32_t *idx;
  float *val;
  uint8_t *Y;
} mat_t;

/* Rows with density d (row 3 empty, row 5 full), standardized-like values. */
static mat_t make(int64_t n, int64_t c, int k, double d, uint64_t seed) {
  mat_t m = {.n = n, .c = c};
  m.X = calloc((size_t)(n * c + 1), sizeof(float));
  m.ptr = calloc((size_t)n + 1, sizeof(int64_t));
  m.idx = calloc((size_t)(n * c + 1), sizeof(int32_t));
  m.val = calloc((size_t)(n * c + 1), sizeof(float));
  m.Y = calloc((size_t)(n * k + 1), 1);
  for (int64_t i = 0; i < n; i++) {
    for (int64_t j = 0; j < c; j++) {
      int on = i == 5 || (i != 3 && ps_rng_unif(seed, 1, (uint64_t)i, (uint64_t)j) < d);
      if (!on) continue;
      float v = (float)ps_rng_normal(seed, 2, (uint64_t)i, 2 * (uint64_t)j);
      m.X[i * c + j] = v;
      m.idx[m.nnz] = (int32_t)j;
      m.val[m.nnz++] = v;
    }
    m.ptr[i + 1] = m.nnz;
    for (int h = 0; h < k; h++) m.Y[i * k + h] = ps_rng_unif(seed, 3, (uint64_t)i, (uint64_t)h) < 0.3;
  }
  return m;
}

static void drop(mat_t *m) {
  free(m->X);
  free(m->ptr);
  free(m->idx);
  free(m->val);
  free(m->Y);
}

static void same_sums(int64_t n, int64_t c, int k, double d, int newton, int64_t from) {
  mat_t m = make(n, c, k, d, (uint64_t)(n * 131 + c * 7 + k));
  int64_t c1 = c + 1;
  double *theta = malloc(sizeof(double) * (size_t)(k * c1)), wp[3] = {2.0, 1.0, 0.5}, wn[3] = {1.0, 1.0, 1.5};
  for (int64_t q = 0; q < k * c1; q++) theta[q] = 0.3 * ps_rng_normal(9, 4, (uint64_t)q, 0);
  uint8_t hm[3] = {1, 0, 1};
  size_t gs = (size_t)(k * c1), hs = (size_t)(k * c1 * c1);
  double *l1 = calloc((size_t)k, 8), *l2 = calloc((size_t)k, 8), *g1 = calloc(gs, 8), *g2 = calloc(gs, 8);
  double *h1 = newton ? calloc(hs, 8) : NULL, *h2 = newton ? calloc(hs, 8) : NULL;
  ps_grad_acc_t *a = ps_grad_cpu_begin(c, k, theta, wp, wn, newton ? hm : NULL);
  ps_grad_csr_t *b = ps_grad_csr_begin(c, k, theta, wp, wn, newton ? hm : NULL);
  int64_t rows = n - from; /* a block starting inside the matrix: ptr not from 0 */
  ps_grad_cpu_block(a, m.X + from * c, m.Y + from * k, rows, l1, g1, h1);
  ps_grad_csr_block(b, m.ptr + from, m.idx + m.ptr[from], m.val + m.ptr[from], m.Y + from * k, rows, l2, g2, h2);
  assert_memory_equal(l1, l2, sizeof(double) * (size_t)k);
  assert_memory_equal(g1, g2, sizeof(double) * gs);
  if (newton) assert_memory_equal(h1, h2, sizeof(double) * hs);
  float *P1 = calloc((size_t)(rows * k + 1), 4), *P2 = calloc((size_t)(rows * k + 1), 4);
  ps_score_std_cpu(m.X + from * c, rows, c, k, theta, P1);
  ps_score_csr_cpu(m.ptr + from, m.idx + m.ptr[from], m.val + m.ptr[from], rows, c, k, theta, P2);
  assert_memory_equal(P1, P2, sizeof(float) * (size_t)(rows * k));
  ps_grad_cpu_end(a, l1, g1, h1);
  ps_grad_csr_end(b);
  free(theta); free(l1); free(l2); free(g1); free(g2); free(h1); free(h2); free(P1); free(P2);
  drop(&m);
}

static void bitwise_like_dense(void **state) {
  (void)state;
  static const int64_t ns[] = {1, 3, 4, 7, 255, 256, 257, 700};
  static const int64_t cs[] = {1, 7, 8, 9, 23};
  for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
    for (size_t b = 0; b < sizeof cs / sizeof cs[0]; b++)
      for (int k = 1; k <= 3; k++) same_sums(ns[a], cs[b], k, 0.2, 0, 0);
}

static void dense_rows_and_newton(void **state) {
  (void)state;
  same_sums(600, 17, 3, 0.9, 1, 0);
  same_sums(300, 9, 1, 0.05, 1, 0);
  same_sums(513, 12, 2, 0.3, 1, 200); /* a block whose ptr starts past 0 */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bitwise_like_dense),
      cmocka_unit_test(dense_rows_and_newton),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
