/* predict_flat_cpu.c: the CPU scorer's forest walk (gbdt_cpu.h
 * ps_gbdt_predict_flat_cpu): trees flattened to 16-byte nodes, a block of
 * rows walked through each tree together, a level at a time, so the
 * rows' node and feature loads overlap (treelite's / QuickScorer's point:
 * a lone walk waits on each load); every head's trees over one block of
 * rows while it is in cache. Per row the sum is ps_gbdt_predict_cpu's:
 * the row's start value plus each tree's leaf in order, the same bits. */
#include <stdint.h>

#include "gbdt/gbdt_cpu.h"

enum { ROWS = 16 }; /* rows a block: 16 walks in flight, the block's rows in L1 for f up to a few hundred */

int ps_gbdt_flatten(const ps_forest_view_t *fo, int32_t *root, ps_gbdt_node_t *node) {
  int64_t nn = fo->node_off[fo->ntrees], nl = fo->leaf_off[fo->ntrees];
  if (nn >= INT32_MAX || nl >= INT32_MAX) return -1;
  for (int32_t t = 0; t < fo->ntrees; t++) {
    int64_t base = fo->node_off[t], leaf = fo->leaf_off[t];
    root[t] = fo->node_off[t + 1] == base ? ~(int32_t)leaf : (int32_t)base;
    for (int64_t k = base; k < fo->node_off[t + 1]; k++) {
      int32_t c[2] = {fo->left[k], fo->right[k]};
      node[k] = (ps_gbdt_node_t){.threshold = fo->threshold[k],
                                 .fdl = (uint32_t)fo->feature[k] | (uint32_t)(fo->default_left[k] != 0) << 31};
      for (int s = 0; s < 2; s++) node[k].child[s] = c[s] >= 0 ? (int32_t)(base + c[s]) : ~(int32_t)(leaf + ~c[s]);
    }
  }
  return 0;
}

/* The leaf each of rows x[0..m) (stride f) reaches in the tree at `root`. */
static void walk(const ps_gbdt_node_t *node, int32_t root, const float *x, int m, int64_t f, int32_t *at) {
  for (int r = 0; r < m; r++) at[r] = root;
  for (int live = root >= 0; live;) {
    live = 0;
    for (int r = 0; r < m; r++) { /* no branch: a row at its leaf reads node 0 and stays */
      int32_t a = at[r];
      const ps_gbdt_node_t *nd = &node[a < 0 ? root : a];
      int32_t next = nd->child[!ps_gbdt_flat_left(nd, x + (size_t)r * (size_t)f)];
      at[r] = a < 0 ? a : next;
      live |= at[r] >= 0;
    }
  }
}

void ps_gbdt_predict_flat_cpu(const ps_gbdt_flat_t *heads, int k, const float *X, int64_t n, int64_t f, double *z) {
  int32_t at[ROWS];
  double s[ROWS];
  for (int64_t i0 = 0; i0 < n; i0 += ROWS) {
    int m = n - i0 < ROWS ? (int)(n - i0) : ROWS;
    const float *x = X + (size_t)i0 * (size_t)f;
    for (int h = 0; h < k; h++) {
      const ps_gbdt_flat_t *fo = &heads[h];
      double *out = z + (size_t)h * (size_t)n + (size_t)i0;
      for (int r = 0; r < m; r++) s[r] = out[r];
      for (int32_t t = 0; t < fo->ntrees; t++) {
        walk(fo->node, fo->root[t], x, m, f, at);
        for (int r = 0; r < m; r++) s[r] += fo->leaf_value[~at[r]];
      }
      for (int r = 0; r < m; r++) out[r] = s[r];
    }
  }
}
