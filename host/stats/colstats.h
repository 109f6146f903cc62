/* colstats.h: per-column count / NaN / Inf / min / max / mean / std, computed
 * block by block (two-pass within small sub-blocks, Chan's merge between
 * them) and merged across ranks in rank order -- or, with the stats_tree_*
 * functions, merged along a fixed binary tree over the global grid blocks
 * (core/partition.h), which gives the same bits for any rank count. */
#ifndef PS_COLSTATS_H
#define PS_COLSTATS_H
#include <stdint.h>

typedef struct {
  double count, nan, inf; /* finite values, NaNs, +-Infs */
  double min, max, mean, m2;
} ps_colstat_t;

void stats_init(ps_colstat_t *st, int64_t f);
/* Add rows of a row-major block; rows with keep[i] != 1 are skipped (keep may be NULL). */
void stats_add_block(ps_colstat_t *st, const float *x, int64_t rows, int64_t f, const uint8_t *keep);
/* Merge every rank's stats (collective); all ranks get the same result. */
void stats_allreduce(ps_colstat_t *st, int64_t f);
/* Population standard deviation (ddof = 0); NaN if no finite values. */
double stats_std(const ps_colstat_t *s);
double stats_mean(const ps_colstat_t *s);

/* Statistics independent of the rank count: each grid block of PS_ROW_GRID
 * rows of the global order is a leaf (two exact passes), and nodes merge
 * only with their sibling in the binary tree over the grid block indices,
 * on whichever rank they meet (a rank's own subtrees locally, the rest on
 * rank 0). row0: the global index of this rank's first row (on the grid).
 * Rows come in order, in blocks of any size. */
typedef struct ps_colacc ps_colacc_t;
ps_colacc_t *stats_tree_begin(int64_t f, int64_t row0);
void stats_tree_add(ps_colacc_t *a, const float *x, int64_t rows, const uint8_t *keep); /* keep as stats_add_block */
/* The statistics of the next grid block's rows, computed elsewhere
 * (colstats_csr.c), as stats_tree_add would have them; no rows pending. */
void stats_tree_push(ps_colacc_t *a, const ps_colstat_t *leaf);
/* colstats_csr.c: CSR rows (ptr [rows+1] any base, idx, val indexed from
 * ptr[0]) from their stored values, bitwise stats_tree_add of the same
 * rows made dense (f columns); rows in whole grid blocks but for the rank's last. */
void stats_tree_add_csr(ps_colacc_t *a, int64_t f, const int64_t *ptr, const int32_t *idx, const float *val, int64_t rows,
                        const uint8_t *keep);
/* Collective: the statistics of all ranks' rows into st[f] on every rank; frees a. */
void stats_tree_end(ps_colacc_t *a, ps_colstat_t *st);
#endif
