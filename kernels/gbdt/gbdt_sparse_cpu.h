/* gbdt_sparse_cpu.h: the CPU twins of the trees over sparse rows (issue
 * 30; hist_sparse_cpu.c). A row keeps only the bins that differ from its
 * feature's zero bin (the bin of the value 0, which every value not stored
 * in a CSR file has): one uint32 a kept value, the histogram bin
 * bin_off[j] + code (binning.h), in increasing order along the row (so
 * feature order). A leaf's histogram is summed from the kept values alone;
 * each feature's zero bin is then the leaf's totals minus the feature's
 * other bins (LightGBM's most_freq_bin subtraction): integer sums, so the
 * very histogram the dense rows give. A row's code of one feature (for a
 * split, a prediction) is a binary search of its kept values for the
 * feature's bin range, the zero bin if none is there. */
#ifndef PS_GBDT_SPARSE_CPU_H
#define PS_GBDT_SPARSE_CPU_H
#include <stdint.h>

#include "gbdt/gbdt_cpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sparse binned rows: row i's kept bins bin[ptr[i] .. ptr[i+1]). */
typedef struct {
  int64_t n;
  const int64_t *ptr;   /* [n+1] */
  const uint32_t *bin;  /* [ptr[n]] histogram bins, increasing within a row */
  int64_t f;
  const int64_t *bin_off; /* [f+1] */
  const uint8_t *zbin;  /* [f] each feature's zero bin (its code of 0.0) */
  /* Optional column index (NULL: none; ps_gbdt_sparse_columns_cpu): feature
   * j's rows col_row[col_off[j] .. col_off[j+1]) increasing, their codes
   * col_code; the partition then merges a leaf's rows with the column. */
  const int64_t *col_off;  /* [f+1] */
  const uint32_t *col_row;
  const uint8_t *col_code;
} ps_gbdt_sparse_t;

/* The code of a row whose kept bins are bin[lo..hi) for the feature whose
 * histogram bins are [a, b) (binary search; zcode, its zero bin, when none
 * is kept): host and device (the sparse partition, partition.cu). */
PS_GHD int ps_gbdt_sparse_find(const uint32_t *bin, int64_t lo, int64_t hi, int64_t a, int64_t b, int zcode) {
  int64_t end = hi;
  while (lo < hi) { /* the first kept bin >= a */
    int64_t mid = lo + ((hi - lo) >> 1);
    if ((int64_t)bin[mid] < a) lo = mid + 1;
    else hi = mid;
  }
  return lo < end && (int64_t)bin[lo] < b ? (int)((int64_t)bin[lo] - a) : zcode;
}

/* Row i's code of feature j (binary search; zbin[j] when not kept). */
static inline int ps_gbdt_sparse_code(const ps_gbdt_sparse_t *s, int64_t i, int64_t j) {
  return ps_gbdt_sparse_find(s->bin, s->ptr[i], s->ptr[i + 1], s->bin_off[j], s->bin_off[j + 1], s->zbin[j]);
}

/* The kept bins of one CSR row's nnz stored values (columns idx
 * increasing, values val) into out (room for nnz); cuts as in binning.h.
 * Returns the bins kept. */
int64_t ps_gbdt_sparse_bin_row_cpu(const int32_t *idx, const float *val, int64_t nnz, const float *cuts,
                                   const int64_t *cut_off, const int64_t *bin_off, const uint8_t *zbin,
                                   uint32_t *out);
/* hist [total_bins][3] = the (g, h, 1) sums of rows rows[0..m), zero bins
 * included; overwritten. */
void ps_gbdt_hist_sparse_cpu(const ps_gbdt_sparse_t *s, const int64_t *rows, int64_t m, const int64_t *gq,
                             const int64_t *hq, int64_t *hist);
/* hist [total_bins][2] = the (sum qg, sum qh) of rows rows[0..m) (packed
 * gh as ps_gbdt_hist_q_cpu; width from ps_gbdt_hist_q_width: 32 and 64
 * accumulate packed uint64 words in work [total_bins], 128 two int64),
 * zero bins included; overwritten. */
void ps_gbdt_hist_q_sparse_cpu(const ps_gbdt_sparse_t *s, const int64_t *rows, int64_t m, const int32_t *gh,
                               int width, uint64_t *work, int64_t *hist);
/* Each feature's zero bin of hist [total_bins][w] (0 there before) = tot
 * [w] minus the feature's other bins. */
void ps_gbdt_sparse_zero_bins(const ps_gbdt_sparse_t *s, const int64_t *tot, int w, int64_t *hist);
/* The column index of s (n < 2^32): col_off [f+1], col_row and col_code
 * [s->ptr[n]]. */
void ps_gbdt_sparse_columns_cpu(const ps_gbdt_sparse_t *s, int64_t *col_off, uint32_t *col_row, uint8_t *col_code);
/* ps_gbdt_partition_cpu on sparse rows; with a column index, rows[0..m)
 * must increase (a tree's leaves keep their rows in order). */
int64_t ps_gbdt_partition_sparse_cpu(const ps_gbdt_sparse_t *s, int64_t *rows, int64_t m, int32_t feature,
                                     int32_t bin, int32_t default_left, int64_t *tmp);
/* ps_gbdt_predict_bins_cpu on sparse rows (rows NULL: 0..m-1). */
void ps_gbdt_predict_sparse_cpu(const ps_forest_view_t *fo, int32_t tree, const ps_gbdt_sparse_t *s,
                                const int64_t *rows, int64_t m, double *out);

#ifdef __cplusplus
}
#endif
#endif
