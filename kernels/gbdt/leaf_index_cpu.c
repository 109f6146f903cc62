/* leaf_index_cpu.c: per-row leaf numbers and the passes over them
 * (leaf_index_cpu.h). */
#include "gbdt/leaf_index_cpu.h"

#include <string.h>

void ps_gbdt_leaf_index_cpu(const int64_t *rows, const int64_t *begin, const int64_t *count, int nleaves, int64_t n,
                            int all_rows, uint8_t *lof) {
  if (!all_rows) memset(lof, PS_GBDT_NO_LEAF, (size_t)n);
  for (int leaf = 0; leaf < nleaves; leaf++) {
    const int64_t *r = rows + begin[leaf];
    for (int64_t i = 0; i < count[leaf]; i++) lof[r[i]] = (uint8_t)leaf;
  }
}

/* Four sets of sums (rows i mod 4): consecutive rows of one leaf add to
 * different words, not one chain of stores and reloads; the rows outside
 * every leaf into the unread slot PS_GBDT_NO_LEAF (no branch). */
void ps_gbdt_leaf_sums_index_cpu(const uint8_t *lof, int64_t n, const int64_t *gq, const int64_t *hq, int nleaves,
                                 int64_t *sums) {
  int64_t acc[4][PS_GBDT_NO_LEAF + 1][2];
  memset(acc, 0, sizeof acc);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; k++) {
      acc[k][lof[i + k]][0] += gq[i + k];
      acc[k][lof[i + k]][1] += hq[i + k];
    }
  for (; i < n; i++) {
    acc[0][lof[i]][0] += gq[i];
    acc[0][lof[i]][1] += hq[i];
  }
  for (int leaf = 0; leaf < nleaves; leaf++)
    for (int v = 0; v < 2; v++)
      sums[2 * leaf + v] = acc[0][leaf][v] + acc[1][leaf][v] + acc[2][leaf][v] + acc[3][leaf][v];
}

void ps_gbdt_add_leaves_index_cpu(const uint8_t *lof, int64_t n, const double *value, double *score) {
  for (int64_t i = 0; i < n; i++) score[i] += value[lof[i]];
}
