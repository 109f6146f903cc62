/* predict_cpu.c: CPU twin of predict.cu -- a forest's value for raw rows
 * (the scoring path: no bins needed) and for binned rows (training: the
 * validation and out-of-bag rows), trees added in order. */
#include "gbdt/gbdt_cat.h"
#include "gbdt/gbdt_cpu.h"

/* The leaf (global index) a row reaches in tree t. */
static int64_t leaf_raw(const ps_forest_view_t *fo, int32_t t, const float *x) {
  int64_t base = fo->node_off[t];
  if (fo->node_off[t + 1] == base) return fo->leaf_off[t]; /* a single leaf */
  int32_t node = 0;
  while (node >= 0) {
    int64_t k = base + node;
    node = ps_gbdt_node_left_raw(fo, k, x[fo->feature[k]]) ? fo->left[k] : fo->right[k];
  }
  return fo->leaf_off[t] + ~node;
}

static int64_t leaf_bin(const ps_forest_view_t *fo, int32_t t, const uint8_t *b) {
  int64_t base = fo->node_off[t];
  if (fo->node_off[t + 1] == base) return fo->leaf_off[t];
  int32_t node = 0;
  while (node >= 0) {
    int64_t k = base + node;
    node = ps_gbdt_node_left_bin(fo, k, b[fo->feature[k]]) ? fo->left[k] : fo->right[k];
  }
  return fo->leaf_off[t] + ~node;
}

void ps_gbdt_predict_cpu(const ps_forest_view_t *fo, const float *X, int64_t n, int64_t f, double *out) {
  for (int64_t i = 0; i < n; i++) {
    const float *x = X + (size_t)i * (size_t)f;
    double s = out[i];
    for (int32_t t = 0; t < fo->ntrees; t++) s += fo->leaf_value[leaf_raw(fo, t, x)];
    out[i] = s;
  }
}

void ps_gbdt_predict_bins_cpu(const ps_forest_view_t *fo, int32_t tree, const uint8_t *B, int64_t f,
                              const int64_t *rows, int64_t m, double *out) {
  for (int64_t r = 0; r < m; r++) {
    int64_t i = rows ? rows[r] : r;
    out[i] += fo->leaf_value[leaf_bin(fo, tree, B + (size_t)i * (size_t)f)];
  }
}
