/* hist_sparse_cpu.c: CPU twins of the trees over sparse rows
 * (gbdt_sparse_cpu.h, issue 30): binning a CSR row to its kept bins, a
 * leaf's exact and quantized histograms from the kept bins with the zero
 * bins by subtraction, the partition and the prediction on sparse rows.
 * Integer sums: the dense twins' bits. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#include "gbdt/gbdt_cat.h"
#include "gbdt/gbdt_sparse_cpu.h"

int64_t ps_gbdt_sparse_bin_row_cpu(const int32_t *idx, const float *val, int64_t nnz, const float *cuts,
                                   const int64_t *cut_off, const int64_t *bin_off, const uint8_t *zbin,
                                   uint32_t *out) {
  int64_t k = 0;
  for (int64_t p = 0; p < nnz; p++) {
    int64_t j = idx[p];
    int code = ps_gbdt_bin(val[p], cuts + cut_off[j], (int)(cut_off[j + 1] - cut_off[j]));
    if (code != zbin[j]) out[k++] = (uint32_t)(bin_off[j] + code);
  }
  return k;
}

void ps_gbdt_sparse_zero_bins(const ps_gbdt_sparse_t *s, const int64_t *tot, int w, int64_t *hist) {
  for (int64_t j = 0; j < s->f; j++) {
    int64_t acc[PS_HIST_W] = {0, 0, 0};
    for (int64_t q = s->bin_off[j]; q < s->bin_off[j + 1]; q++)
      for (int v = 0; v < w; v++) acc[v] += hist[w * q + v];
    int64_t *z = hist + w * (s->bin_off[j] + s->zbin[j]);
    for (int v = 0; v < w; v++) z[v] = tot[v] - acc[v];
  }
}

void ps_gbdt_hist_sparse_cpu(const ps_gbdt_sparse_t *s, const int64_t *rows, int64_t m, const int64_t *gq,
                             const int64_t *hq, int64_t *hist) {
  memset(hist, 0, sizeof(int64_t) * PS_HIST_W * (size_t)s->bin_off[s->f]);
  int64_t tot[PS_HIST_W] = {0, 0, m};
  for (int64_t r = 0; r < m; r++) {
    int64_t i = rows[r], g = gq[i], h = hq[i];
    tot[0] += g;
    tot[1] += h;
    for (int64_t p = s->ptr[i]; p < s->ptr[i + 1]; p++) {
      int64_t *e = hist + PS_HIST_W * (size_t)s->bin[p];
      e[0] += g;
      e[1] += h;
      e[2] += 1;
    }
  }
  ps_gbdt_sparse_zero_bins(s, tot, PS_HIST_W, hist);
}

/* Width 128: two int64 a bin. */
static void hist_q_pairs(const ps_gbdt_sparse_t *s, const int64_t *rows, int64_t m, const int32_t *gh,
                         int64_t *hist, int64_t *tot) {
  size_t nb = (size_t)s->bin_off[s->f];
  memset(hist, 0, sizeof(int64_t) * 2 * nb);
  for (int64_t r = 0; r < m; r++) {
    int64_t i = rows[r], g = PS_GBDT_QG(gh[i]), h = PS_GBDT_QH(gh[i]);
    tot[0] += g;
    tot[1] += h;
    for (int64_t p = s->ptr[i]; p < s->ptr[i + 1]; p++) {
      int64_t *e = hist + 2 * (size_t)s->bin[p];
      e[0] += g;
      e[1] += h;
    }
  }
}

/* Widths 32 and 64: packed (sum qg) 2^32 + (sum qh) words (exact when the
 * leaf's rows times Q < 2^31, hist_q_cpu.c), widened into hist. */
static void hist_q_packed(const ps_gbdt_sparse_t *s, const int64_t *rows, int64_t m, const int32_t *gh,
                          uint64_t *acc, int64_t *hist, int64_t *tot) {
  size_t nb = (size_t)s->bin_off[s->f];
  memset(acc, 0, sizeof(uint64_t) * nb);
  for (int64_t r = 0; r < m; r++) {
    int64_t i = rows[r];
    uint64_t w = ((uint64_t)(int64_t)PS_GBDT_QG(gh[i]) << 32) + (uint64_t)PS_GBDT_QH(gh[i]);
    tot[0] += PS_GBDT_QG(gh[i]);
    tot[1] += PS_GBDT_QH(gh[i]);
    for (int64_t p = s->ptr[i]; p < s->ptr[i + 1]; p++) acc[s->bin[p]] += w;
  }
  for (size_t q = 0; q < nb; q++) {
    uint64_t lo = acc[q] & 0xFFFFFFFFull;
    hist[2 * q] = (int64_t)(int32_t)(uint32_t)((acc[q] - lo) >> 32);
    hist[2 * q + 1] = (int64_t)lo;
  }
}

void ps_gbdt_hist_q_sparse_cpu(const ps_gbdt_sparse_t *s, const int64_t *rows, int64_t m, const int32_t *gh,
                               int width, uint64_t *work, int64_t *hist) {
  int64_t tot[2] = {0, 0};
  if (width == 128) hist_q_pairs(s, rows, m, gh, hist, tot);
  else hist_q_packed(s, rows, m, gh, work, hist, tot);
  ps_gbdt_sparse_zero_bins(s, tot, 2, hist);
}

void ps_gbdt_sparse_columns_cpu(const ps_gbdt_sparse_t *s, int64_t *col_off, uint32_t *col_row, uint8_t *col_code) {
  int64_t nnz = s->ptr[s->n], tb = s->bin_off[s->f];
  int32_t *fof = malloc(sizeof(int32_t) * (size_t)(tb + 1)); /* the feature of each histogram bin */
  if (!fof) ps_die_local("out of memory (column index of %lld bins)", (long long)tb);
  for (int64_t j = 0; j < s->f; j++)
    for (int64_t q = s->bin_off[j]; q < s->bin_off[j + 1]; q++) fof[q] = (int32_t)j;
  memset(col_off, 0, sizeof(int64_t) * (size_t)(s->f + 1));
  for (int64_t p = 0; p < nnz; p++) col_off[fof[s->bin[p]] + 1]++;
  for (int64_t j = 0; j < s->f; j++) col_off[j + 1] += col_off[j];
  for (int64_t i = 0; i < s->n; i++) /* rows in order: each column's rows increase */
    for (int64_t p = s->ptr[i]; p < s->ptr[i + 1]; p++) {
      int64_t j = fof[s->bin[p]], at = col_off[j]++;
      col_row[at] = (uint32_t)i;
      col_code[at] = (uint8_t)(s->bin[p] - s->bin_off[j]);
    }
  for (int64_t j = s->f; j > 0; j--) col_off[j] = col_off[j - 1]; /* each entry now holds its column's end */
  col_off[0] = 0;
  free(fof);
}

/* The first k >= p with c[k] >= i (c increasing, [0, n)), galloping from p. */
static int64_t seek(const uint32_t *c, int64_t p, int64_t n, int64_t i) {
  if (p >= n || (int64_t)c[p] >= i) return p;
  int64_t lo = p + 1, hi = p + 1, step = 1; /* c[lo - 1] < i */
  while (hi < n && (int64_t)c[hi] < i) {
    lo = hi + 1;
    step <<= 1;
    hi = lo + step;
  }
  if (hi > n) hi = n;
  while (lo < hi) {
    int64_t mid = lo + ((hi - lo) >> 1);
    if ((int64_t)c[mid] < i) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* Does row r of the leaf go left? With the column index: a merge of the
 * leaf's increasing rows with the column's (*at: where the merge stands). */
static int goes_left(const ps_gbdt_sparse_t *s, int64_t i, int32_t feature, int32_t bin, int32_t dl, int64_t *at) {
  if (!s->col_off) return ps_gbdt_left_bin(ps_gbdt_sparse_code(s, i, feature), bin, dl);
  int64_t c0 = s->col_off[feature], n = s->col_off[feature + 1] - c0;
  *at = seek(s->col_row + c0, *at, n, i);
  int code = *at < n && (int64_t)s->col_row[c0 + *at] == i ? s->col_code[c0 + *at] : s->zbin[feature];
  return ps_gbdt_left_bin(code, bin, dl);
}

int64_t ps_gbdt_partition_sparse_cpu(const ps_gbdt_sparse_t *s, int64_t *rows, int64_t m, int32_t feature,
                                     int32_t bin, int32_t default_left, int64_t *tmp) {
  int64_t nl = 0, nr = 0, at = 0;
  for (int64_t r = 0; r < m; r++) {
    int64_t i = rows[r];
    if (goes_left(s, i, feature, bin, default_left, &at)) rows[nl++] = i;
    else tmp[nr++] = i;
  }
  memcpy(rows + nl, tmp, sizeof(int64_t) * (size_t)nr);
  return nl;
}

void ps_gbdt_predict_sparse_cpu(const ps_forest_view_t *fo, int32_t tree, const ps_gbdt_sparse_t *s,
                                const int64_t *rows, int64_t m, double *out) {
  int64_t base = fo->node_off[tree];
  int single = fo->node_off[tree + 1] == base;
  for (int64_t r = 0; r < m; r++) {
    int64_t i = rows ? rows[r] : r;
    int32_t node = single ? -1 : 0; /* a single leaf: leaf 0 */
    while (node >= 0) {
      int64_t k = base + node;
      int code = ps_gbdt_sparse_code(s, i, fo->feature[k]);
      node = ps_gbdt_node_left_bin(fo, k, code) ? fo->left[k] : fo->right[k];
    }
    out[i] += fo->leaf_value[fo->leaf_off[tree] + ~node];
  }
}
