/* leaf_index_cpu.h: a grown tree's per-row leaf numbers for the CPU
 * backend's once-a-tree passes (issue 26): each leaf's exact gradient sums
 * (the refit) and the training scores. Reading the leaves' row segments
 * gathers gq, hq and the scores 31 times across the arrays (each leaf's
 * rows ascend, spread over all of them); with a byte a row written once,
 * both passes read the arrays in order. Integer sums and one addition a
 * row: the same bits as the segment loops. */
#ifndef PS_GBDT_LEAF_INDEX_CPU_H
#define PS_GBDT_LEAF_INDEX_CPU_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Leaf numbers fit a byte below this many leaves (PS_GBDT_NO_LEAF marks a
 * row in no leaf: outside the bag). */
#define PS_GBDT_LEAF_INDEX_MAX 255
#define PS_GBDT_NO_LEAF 255

/* lof[i] = the leaf whose segment rows[begin[l] .. begin[l] + count[l])
 * holds row i, for nleaves <= PS_GBDT_LEAF_INDEX_MAX leaves; rows of n in
 * none of them PS_GBDT_NO_LEAF (all: pass all_rows = 1 when the leaves
 * cover 0..n-1, and lof is not cleared first). */
void ps_gbdt_leaf_index_cpu(const int64_t *rows, const int64_t *begin, const int64_t *count, int nleaves, int64_t n,
                            int all_rows, uint8_t *lof);

/* sums [nleaves][2] = every leaf's (sum gq, sum hq) over rows 0..n-1 by lof. */
void ps_gbdt_leaf_sums_index_cpu(const uint8_t *lof, int64_t n, const int64_t *gq, const int64_t *hq, int nleaves,
                                 int64_t *sums);

/* score[i] += value[lof[i]] for rows 0..n-1, every one in a leaf. */
void ps_gbdt_add_leaves_index_cpu(const uint8_t *lof, int64_t n, const double *value, double *score);

#ifdef __cplusplus
}
#endif
#endif
