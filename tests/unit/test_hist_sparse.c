/* test_hist_sparse.c: the trees over sparse rows (issue 30,
 * kernels/gbdt/hist_sparse_cpu.c). Rows keep only the bins off their
 * feature's zero bin; the leaf histograms (exact, and quantized at each
 * accumulator width) equal an int64 recount over the dense bins, zero bins
 * included; the partition and the prediction equal the dense twins'; a CSR
 * row's kept bins are the dense binning's bins off the zero bin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <math.h>

#include "gbdt/gbdt_cpu.h"
#include "gbdt/gbdt_sparse_cpu.h"

static uint64_t state = 0x2545F4914F6CDD1Dull;
static uint64_t next(void) { /* xorshift64* */
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1Dull;
}

enum { N = 2500, F = 30 };

typedef struct {
  int64_t bin_off[F + 1];
  uint8_t zbin[F];
  uint8_t *B;        /* dense [N][F] */
  int64_t ptr[N + 1];
  uint32_t *bin;     /* kept */
  ps_gbdt_sparse_t s;
  int64_t gq[N], hq[N];
  int32_t gh[N];
} fix_t;

/* Bins mostly at each feature's zero bin; 1 in 8 rows of feature 0 at
 * the zero bin too (kept nowhere). */
static fix_t *make(void) {
  fix_t *x = calloc(1, sizeof *x);
  x->B = malloc((size_t)N * F);
  x->bin = malloc(sizeof(uint32_t) * (size_t)N * F);
  for (int j = 0; j < F; j++) {
    int64_t nb = j == 3 ? 257 : 2 + (int64_t)(next() % 40); /* missing + 1..256 values */
    x->bin_off[j + 1] = x->bin_off[j] + nb;
    x->zbin[j] = (uint8_t)(1 + next() % (uint64_t)(nb - 1));
  }
  for (int64_t i = 0; i < N; i++) {
    for (int j = 0; j < F; j++) {
      int64_t nb = x->bin_off[j + 1] - x->bin_off[j];
      int off = i % 97 == 5 || next() % 10 < 2; /* row 5 and every 97th: every feature off zero (maybe) */
      uint8_t c = off ? (uint8_t)(next() % (uint64_t)nb) : x->zbin[j];
      x->B[i * F + j] = c;
      if (c != x->zbin[j]) x->bin[x->ptr[i + 1]++] = (uint32_t)(x->bin_off[j] + c);
    }
    if (i + 1 < N) x->ptr[i + 2] = x->ptr[i + 1];
    x->gq[i] = (int64_t)(next() % 2000001) - 1000000;
    x->hq[i] = (int64_t)(next() % 1000001);
  }
  x->s = (ps_gbdt_sparse_t){.n = N, .ptr = x->ptr, .bin = x->bin, .f = F, .bin_off = x->bin_off, .zbin = x->zbin};
  return x;
}

static void drop(fix_t *x) {
  free(x->B);
  free(x->bin);
  free(x);
}

/* A leaf: every third row, in reverse order (any order gives the same sums). */
static int64_t leaf(int64_t *rows) {
  int64_t m = 0;
  for (int64_t i = N - 1; i >= 0; i--)
    if (i % 3 != 1) rows[m++] = i;
  return m;
}

static void exact_histogram_equals_a_recount(void **st) {
  (void)st;
  fix_t *x = make();
  int64_t rows[N], m = leaf(rows), T = x->bin_off[F];
  int64_t *want = calloc((size_t)(3 * T), sizeof(int64_t)), *got = malloc(sizeof(int64_t) * 3 * (size_t)T);
  for (int64_t r = 0; r < m; r++)
    for (int j = 0; j < F; j++) {
      int64_t q = x->bin_off[j] + x->B[rows[r] * F + j];
      want[3 * q] += x->gq[rows[r]];
      want[3 * q + 1] += x->hq[rows[r]];
      want[3 * q + 2] += 1;
    }
  memset(got, 0x5A, sizeof(int64_t) * 3 * (size_t)T); /* overwritten */
  ps_gbdt_hist_sparse_cpu(&x->s, rows, m, x->gq, x->hq, got);
  assert_memory_equal(got, want, sizeof(int64_t) * 3 * (size_t)T);
  memset(got, 0, sizeof(int64_t) * 3 * (size_t)T); /* and the dense twin's bits */
  ps_gbdt_hist_cpu(x->B, F, x->bin_off, rows, m, x->gq, x->hq, got);
  assert_memory_equal(got, want, sizeof(int64_t) * 3 * (size_t)T);
  ps_gbdt_hist_sparse_cpu(&x->s, rows, 0, x->gq, x->hq, got); /* an empty leaf: zeros */
  for (int64_t q = 0; q < 3 * T; q++) assert_int_equal(got[q], 0);
  free(want);
  free(got);
  drop(x);
}

static void quantized_histograms_equal_a_recount(void **st) {
  (void)st;
  fix_t *x = make();
  int64_t rows[N], m = leaf(rows), T = x->bin_off[F];
  const int32_t Q = 127;
  for (int64_t i = 0; i < N; i++) {
    int32_t g = (int32_t)(next() % (2 * Q + 1)) - Q, h = (int32_t)(next() % (Q + 1));
    if (i % 11 == 0) g = -Q, h = Q; /* the bounds */
    x->gh[i] = PS_GBDT_QPACK(g, h);
  }
  int64_t *want = calloc((size_t)(2 * T), sizeof(int64_t)), *got = malloc(sizeof(int64_t) * 2 * (size_t)T);
  uint64_t *work = malloc(sizeof(uint64_t) * (size_t)T);
  for (int64_t r = 0; r < m; r++)
    for (int j = 0; j < F; j++) {
      int64_t q = x->bin_off[j] + x->B[rows[r] * F + j];
      want[2 * q] += PS_GBDT_QG(x->gh[rows[r]]);
      want[2 * q + 1] += PS_GBDT_QH(x->gh[rows[r]]);
    }
  const int widths[] = {32, 64, 128}; /* m Q < 2^31 here: every width is exact */
  for (int k = 0; k < 3; k++) {
    memset(got, 0x5A, sizeof(int64_t) * 2 * (size_t)T);
    ps_gbdt_hist_q_sparse_cpu(&x->s, rows, m, x->gh, widths[k], work, got);
    assert_memory_equal(got, want, sizeof(int64_t) * 2 * (size_t)T);
  }
  free(want);
  free(got);
  free(work);
  drop(x);
}

/* Leaves split again and again (each child keeps its rows in order), by
 * the dense twin and by the sparse rows: the same rows each side, in the
 * same order. cols: with the column index (else a search of each row). */
static void partitions_as_dense(fix_t *x, int cols) {
  int64_t *col_off = malloc(sizeof(int64_t) * (F + 1)), nnz = x->ptr[N];
  uint32_t *col_row = malloc(sizeof(uint32_t) * (size_t)(nnz + 1));
  uint8_t *col_code = malloc((size_t)(nnz + 1));
  ps_gbdt_sparse_t s = x->s;
  if (cols) {
    ps_gbdt_sparse_columns_cpu(&s, col_off, col_row, col_code);
    s.col_off = col_off, s.col_row = col_row, s.col_code = col_code;
  }
  int64_t a[N], b[N], tmp[N], m = N, begin = 0;
  for (int64_t i = 0; i < N; i++) a[i] = b[i] = i;
  for (int t = 0; t < 60; t++) {
    int32_t j = (int32_t)(next() % F), nb = (int32_t)(x->bin_off[j + 1] - x->bin_off[j]);
    int32_t bin = t % 4 == 0 ? x->zbin[j] : (int32_t)(next() % (uint64_t)nb), dl = t % 2;
    int64_t nd = ps_gbdt_partition_cpu(x->B, F, a + begin, m, j, bin, dl, tmp);
    int64_t ns = ps_gbdt_partition_sparse_cpu(&s, b + begin, m, j, bin, dl, tmp);
    assert_int_equal(nd, ns);
    assert_memory_equal(a, b, sizeof(int64_t) * N);
    if (t % 3 == 2 && m - nd > 8) begin += nd, m -= nd; /* go on in the right child, or the left */
    else if (nd > 8) m = nd;
    if (m < 30) m = N - begin; /* widen again to the rows up to the end, cut below at their first decrease */
    for (int64_t i = begin + 1; i < begin + m; i++)
      if (a[i] < a[i - 1]) m = i - begin; /* keep a run of increasing rows */
  }
  for (int64_t i = 0; i < N; i++) assert_int_equal(ps_gbdt_sparse_code(&s, i, i % F), x->B[i * F + i % F]);
  free(col_off);
  free(col_row);
  free(col_code);
}

static void partition_equals_the_dense_twin(void **st) {
  (void)st;
  fix_t *x = make();
  partitions_as_dense(x, 0);
  partitions_as_dense(x, 1);
  drop(x);
}

/* Two trees: tree 0 splits feature 3 at the zero bin (missing left), then
 * feature 7; tree 1 is a single leaf. */
static void prediction_equals_the_dense_twin(void **st) {
  (void)st;
  fix_t *x = make();
  int64_t node_off[] = {0, 2, 2}, leaf_off[] = {0, 3, 4};
  int32_t feature[] = {3, 7}, left[] = {1, ~0}, right[] = {~2, ~1};
  uint8_t bin[] = {x->zbin[3], 2}, dl[] = {1, 0};
  double value[] = {0.25, -1.5, 3.0, 0.125};
  ps_forest_view_t v = {.ntrees = 2, .node_off = node_off, .leaf_off = leaf_off, .feature = feature, .bin = bin,
                        .default_left = dl, .left = left, .right = right, .leaf_value = value};
  double *zd = calloc(N, sizeof(double)), *zs = calloc(N, sizeof(double));
  for (int32_t t = 0; t < 2; t++) {
    ps_gbdt_predict_bins_cpu(&v, t, x->B, F, NULL, N, zd);
    ps_gbdt_predict_sparse_cpu(&v, t, &x->s, NULL, N, zs);
  }
  assert_memory_equal(zd, zs, sizeof(double) * N);
  free(zd);
  free(zs);
  drop(x);
}

/* Raw CSR rows: the kept bins are the dense binning's bins off the zero bin. */
static void csr_rows_bin_as_dense(void **st) {
  (void)st;
  enum { C = 6 };
  const float cuts[] = {-1.0f, 0.5f, 2.0f, /* feature 0: 0 in bin 2 */ 1e-3f, /* 1: 0 in bin 1 */
                        -5.0f, -0.25f /* 2: 0 in bin 3 */};
  const int64_t cut_off[] = {0, 3, 4, 6, 6, 6, 6}; /* features 3..5: no cuts (one value bin) */
  int64_t bin_off[C + 1] = {0};
  uint8_t zbin[C];
  for (int j = 0; j < C; j++) {
    bin_off[j + 1] = bin_off[j] + (cut_off[j + 1] - cut_off[j]) + 2;
    zbin[j] = (uint8_t)ps_gbdt_bin(0.0f, cuts + cut_off[j], (int)(cut_off[j + 1] - cut_off[j]));
  }
  const int32_t idx[] = {0, 1, 2, 3, 4, 5};
  const float val[] = {0.6f, 1e-9f, NAN, 7.0f, -0.0f, INFINITY};
  float X[C] = {0};
  for (int p = 0; p < C; p++) X[idx[p]] = val[p];
  uint8_t B[C];
  ps_gbdt_bin_cpu(X, 1, C, cuts, cut_off, B);
  uint32_t out[C], want[C];
  int64_t nw = 0;
  for (int j = 0; j < C; j++)
    if (B[j] != zbin[j]) want[nw++] = (uint32_t)(bin_off[j] + B[j]);
  int64_t k = ps_gbdt_sparse_bin_row_cpu(idx, val, C, cuts, cut_off, bin_off, zbin, out);
  assert_int_equal(k, nw);
  assert_int_equal(k, 2); /* 0.6 and NaN kept; 1e-9 shares 0's bin, and 7, -0, Inf (a single value bin) */
  assert_memory_equal(out, want, sizeof(uint32_t) * (size_t)k);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(exact_histogram_equals_a_recount),
      cmocka_unit_test(quantized_histograms_equal_a_recount),
      cmocka_unit_test(partition_equals_the_dense_twin),
      cmocka_unit_test(prediction_equals_the_dense_twin),
      cmocka_unit_test(csr_rows_bin_as_dense),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
