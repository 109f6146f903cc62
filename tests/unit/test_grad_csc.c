/* test_grad_csc.c: the CSR exact pass's faster paths give the words of the
 * paths they replace, on adversarial inputs: core/xsum_wide.h's 128-bit
 * integers against ps_xsum_add (every exponent, zeros, subnormals, Inf,
 * NaN, ties below the quantum, the adds a flush allows); the column-wise
 * block sums (kernels/logreg/grad_csc_cpu.c) against ps_grad_csr_block's
 * summed by ps_xsum_add, and ps_grad_csr_block (its one-row columns added
 * at once) against the dense twin: columns stored by several rows of a
 * group, -0.0 and stored zeros, empty and full rows, tails of 1-3 rows,
 * empty blocks, huge, tiny and subnormal values, 1 and 3 heads. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/rng.h"
#include "core/xsum_wide.h"
#include "logreg/logreg_cpu.h"
#include "logreg/logreg_csc_cpu.h"
#include "logreg/logreg_csr_cpu.h"

static void words_equal(int64_t *a, int64_t *b, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    ps_xsum_norm(a + i * PS_XS_WORDS);
    ps_xsum_norm(b + i * PS_XS_WORDS);
  }
  assert_memory_equal(a, b, sizeof(int64_t) * (size_t)(n * PS_XS_WORDS));
}

/* A double of any class: specials, the fast range's edges, any exponent. */
static double any_double(uint64_t seed, uint64_t i) {
  static const double edge[] = {0.0, -0.0, 5e-324, -2.2e-308, INFINITY, -INFINITY, NAN, 0x1p-44, -0x1p-44,
                                0x1.fffffffffffffp-45, 0x1.fffffffffffffp+14, -0x1p15, 0x1p15, 0x1.8p-97,
                                -0x1.8p-97, 0x1p-97, 0x1.fffffffffffffp+83, 0x1p84, 1e300};
  uint64_t u = (uint64_t)(ps_rng_unif(seed, 1, i, 0) * 18446744073709551616.0);
  if (u % 5 == 0) return edge[(u >> 8) % (sizeof edge / sizeof edge[0])];
  double m = 1.0 + ps_rng_unif(seed, 2, i, 0);
  int e = (u % 3 == 0) ? (int)((u >> 16) % 2100) - 1075 : (int)((u >> 16) % 70) - 50; /* mostly near the range */
  return ((u >> 40) & 1 ? -1 : 1) * ldexp(m, e);
}

static void xsum_wide_as_xsum(void **state) {
  (void)state;
  enum { V = 7, N = 20000 };
  int64_t ref[V * PS_XS_WORDS] = {0}, acc[V * PS_XS_WORDS] = {0};
  __int128 w[V] = {0};
  for (uint64_t i = 0; i < N; i++) {
    double d = any_double(77, i);
    int64_t v = (int64_t)(i % V);
    ps_xsum_add(ref + v * PS_XS_WORDS, d);
    ps_xw_add_at(w, acc, v, d);
    if (i % 5000 == 4999) ps_xw_flush(acc + v * PS_XS_WORDS, &w[v]); /* flushes in between change nothing */
  }
  for (int v = 0; v < V; v++) ps_xw_flush(acc + v * PS_XS_WORDS, &w[v]);
  words_equal(ref, acc, V);
  /* PS_XW_ADDS adds of the largest magnitude in range and just past it, each sign: no overflow */
  static const double big[] = {0x1.fffffffffffffp+14, 0x1p15, 0x1.fffffffffffffp+15, 0x1.8p16};
  for (int q = 0; q < 8; q++) {
    int64_t r1[PS_XS_WORDS] = {0}, a1[PS_XS_WORDS] = {0};
    __int128 w1 = 0;
    double d = (q & 1 ? -1 : 1) * big[q / 2];
    for (int64_t i = 0; i < PS_XW_ADDS; i++) {
      ps_xsum_add(r1, d);
      ps_xw_add_at(&w1, a1, 0, d);
    }
    ps_xw_flush(a1, &w1);
    words_equal(r1, a1, 1);
    assert_true(ps_xsum_value(a1) == d * 65536.0);
  }
}

typedef struct {
  int64_t n, c, nnz;
  float *X; /* dense [n][c] */
  int64_t *ptr;
  int32_t *idx;
  float *val;
  uint8_t *Y;
} mat_t;

/* An adversarial stored value: mostly standardized-like, sometimes -0, 0, huge, tiny or subnormal. */
static float odd_value(uint64_t seed, int64_t i, int64_t j) {
  double u = ps_rng_unif(seed, 5, (uint64_t)i, (uint64_t)j);
  static const float odd[] = {-0.0f, 0.0f, 3e30f, -2e25f, 1e-30f, -3e-38f, 1e-40f, 7e-45f, 1.5f, -1.5f};
  if (u < 0.15) return odd[(int)(u / 0.015) % 10];
  return (float)ps_rng_normal(seed, 2, (uint64_t)i, (uint64_t)j);
}

/* Rows: columns 0-2 stored by most rows (several rows of a group), the rest at density d; every 17th
 * row empty, every 29th full. */
static mat_t make(int64_t n, int64_t c, int k, double d, uint64_t seed) {
  mat_t m = {.n = n, .c = c};
  m.X = calloc((size_t)(n * c + 1), sizeof(float));
  m.ptr = calloc((size_t)n + 1, sizeof(int64_t));
  m.idx = calloc((size_t)(n * c + 1), sizeof(int32_t));
  m.val = calloc((size_t)(n * c + 1), sizeof(float));
  m.Y = calloc((size_t)(n * k + 1), 1);
  for (int64_t i = 0; i < n; i++) {
    for (int64_t j = 0; j < c; j++) {
      double u = ps_rng_unif(seed, 1, (uint64_t)i, (uint64_t)j);
      int on = i % 29 == 28 || (i % 17 != 16 && (j < 3 ? u < 0.7 : u < d));
      if (!on) continue;
      m.X[i * c + j] = odd_value(seed, i, j);
      m.idx[m.nnz] = (int32_t)j;
      m.val[m.nnz++] = m.X[i * c + j];
    }
    m.ptr[i + 1] = m.nnz;
    for (int h = 0; h < k; h++) m.Y[i * k + h] = ps_rng_unif(seed, 3, (uint64_t)i, (uint64_t)h) < 0.3;
  }
  return m;
}

/* Block [row, row + rows): its loss and gradient words by ps_grad_csr_block (ref), by the dense twin
 * (dense) and by the residuals and the column-wise sums (csc, block b of t). */
static void block_words(mat_t *m, int k, const double *theta, ps_grad_csr_t *a, ps_grad_acc_t *da,
                        const ps_csc_blocks_t *t, int64_t b, int64_t row, int64_t rows, int64_t *ref, int64_t *dense,
                        int64_t *csc) {
  int64_t c1 = m->c + 1, nv = k + k * c1;
  double *loss = calloc((size_t)k, 8), *grad = calloc((size_t)(k * c1), 8);
  const int64_t *p = m->ptr + row;
  ps_grad_csr_block(a, p, m->idx + p[0], m->val + p[0], m->Y + row * k, rows, loss, grad, NULL);
  for (int64_t v = 0; v < nv; v++) ps_xsum_add(ref + v * PS_XS_WORDS, v < k ? loss[v] : grad[v - k]);
  ps_grad_cpu_block(da, m->X + row * m->c, m->Y + row * k, rows, loss, grad, NULL);
  for (int64_t v = 0; v < nv; v++) ps_xsum_add(dense + v * PS_XS_WORDS, v < k ? loss[v] : grad[v - k]);
  __int128 *w = calloc((size_t)nv, sizeof(__int128));
  if (rows > 0) {
    const double *r = ps_grad_csr_resid(a, p, m->idx + p[0], m->val + p[0], m->Y + row * k, rows, loss, grad);
    for (int h = 0; h < k; h++) {
      ps_xw_add_at(w, csc, h, loss[h]);
      ps_xw_add_at(w, csc, k + h * c1 + m->c, grad[h]);
    }
    ps_csc_blocks_grad(t, b, r, PS_GRAD_TILE, k, w, csc, k, c1);
  }
  for (int64_t v = 0; v < nv; v++) ps_xw_flush(csc + v * PS_XS_WORDS, &w[v]);
  (void)theta;
  free(w);
  free(loss);
  free(grad);
}

static void csc_blocks_like_block(void **state) {
  (void)state;
  static const int32_t sizes[] = {1, 2, 3, 4, 5, 0, 7, 8, 256, 255, 6, 13, 100, 3};
  int64_t nb = sizeof sizes / sizeof sizes[0], n = 0;
  for (int64_t b = 0; b < nb; b++) n += sizes[b];
  for (int k = 1; k <= 3; k += 2) {
    for (int64_t c = 5; c <= 300; c += 295) {
      mat_t m = make(n, c, k, c > 10 ? 0.05 : 0.3, (uint64_t)(c * 10 + k));
      int64_t c1 = c + 1, nv = k + k * c1;
      double *theta = malloc(sizeof(double) * (size_t)(k * c1)), wp[3] = {2.0, 1.0, 0.5}, wn[3] = {1.0, 1.0, 1.5};
      for (int64_t q = 0; q < k * c1; q++) theta[q] = 0.3 * ps_rng_normal(9, 4, (uint64_t)q, 0);
      ps_grad_csr_t *a = ps_grad_csr_begin(c, k, theta, wp, wn, NULL);
      ps_grad_acc_t *da = ps_grad_cpu_begin(c, k, theta, wp, wn, NULL);
      ps_csc_blocks_t *t = ps_csc_blocks_build(m.ptr, m.idx, m.val, sizes, nb, c);
      assert_non_null(t);
      size_t bytes = sizeof(int64_t) * (size_t)(nv * PS_XS_WORDS);
      int64_t *ref = calloc(1, bytes), *dense = calloc(1, bytes), *csc = calloc(1, bytes);
      int64_t *all_ref = calloc(1, bytes), *all_csc = calloc(1, bytes);
      for (int64_t b = 0, row = 0; b < nb; row += sizes[b++]) {
        memset(ref, 0, bytes);
        memset(dense, 0, bytes);
        memset(csc, 0, bytes);
        block_words(&m, k, theta, a, da, t, b, row, sizes[b], ref, dense, csc);
        for (int64_t q = 0; q < nv * PS_XS_WORDS; q++) {
          all_ref[q] += ref[q];
          all_csc[q] += csc[q];
        }
        words_equal(ref, dense, nv);
        words_equal(ref, csc, nv);
      }
      words_equal(all_ref, all_csc, nv);
      ps_csc_blocks_free(t);
      ps_grad_csr_end(a);
      double *lo = calloc((size_t)k, 8), *go = calloc((size_t)(k * c1), 8);
      ps_grad_cpu_end(da, lo, go, NULL);
      free(lo);
      free(go);
      free(ref); free(dense); free(csc); free(all_ref); free(all_csc); free(theta);
      free(m.X); free(m.ptr); free(m.idx); free(m.val); free(m.Y);
    }
  }
}

/* A block of more than 256 rows is refused (the caller keeps the row-wise path). */
static void csc_blocks_refuse_big(void **state) {
  (void)state;
  int64_t ptr[258] = {0};
  int32_t idx[1] = {0}, nrows[1] = {257};
  float val[1] = {1};
  assert_null(ps_csc_blocks_build(ptr, idx, val, nrows, 1, 4));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(xsum_wide_as_xsum),
      cmocka_unit_test(csc_blocks_like_block),
      cmocka_unit_test(csc_blocks_refuse_big),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
