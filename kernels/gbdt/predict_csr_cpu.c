/* predict_csr_cpu.c: a forest's value for raw CSR rows (score on a CSR
 * file, issue 30): each node reads the row's stored value of its feature
 * by a binary search of the row's columns, 0.0 where none is stored (a CSR
 * file's missing entries are zeros, datasets/SCHEMA.md; a stored NaN is
 * missing as in a dense row). Trees added in order, one row at a time:
 * ps_gbdt_predict_cpu's bits on the same rows made dense. */
#include "gbdt/gbdt_cat.h"
#include "gbdt/gbdt_sparse_cpu.h"

/* Row value of column j: idx[0..m) increasing. */
static float value_of(const int32_t *idx, const float *val, int64_t m, int32_t j) {
  int64_t lo = 0, hi = m;
  while (lo < hi) {
    int64_t mid = lo + ((hi - lo) >> 1);
    if (idx[mid] < j) lo = mid + 1;
    else hi = mid;
  }
  return lo < m && idx[lo] == j ? val[lo] : 0.0f;
}

static int64_t leaf_csr(const ps_forest_view_t *fo, int32_t t, const int32_t *idx, const float *val, int64_t m) {
  int64_t base = fo->node_off[t];
  if (fo->node_off[t + 1] == base) return fo->leaf_off[t]; /* a single leaf */
  int32_t node = 0;
  while (node >= 0) {
    int64_t k = base + node;
    node = ps_gbdt_node_left_raw(fo, k, value_of(idx, val, m, fo->feature[k])) ? fo->left[k] : fo->right[k];
  }
  return fo->leaf_off[t] + ~node;
}

void ps_gbdt_predict_csr_cpu(const ps_forest_view_t *fo, const int64_t *ptr, const int32_t *idx, const float *val,
                             int64_t n, double *out) {
  for (int64_t i = 0; i < n; i++) {
    int64_t p0 = ptr[i] - ptr[0], m = ptr[i + 1] - ptr[i];
    double s = out[i];
    for (int32_t t = 0; t < fo->ntrees; t++) s += fo->leaf_value[leaf_csr(fo, t, idx + p0, val + p0, m)];
    out[i] = s;
  }
}
