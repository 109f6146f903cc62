/* colstats.h: per-column count / NaN / Inf / min / max / mean / std, computed
 * block by block (two-pass within small sub-blocks, Chan's merge between
 * them) and merged across ranks in rank order. */
#ifndef PS_COLSTATS_H
#define PS_COLSTATS_H
#include <stdint.h>

typedef struct {
  double count, nan, inf; /* finite values, NaNs, +-Infs */
  double min, max, mean, m2;
} ps_colstat_t;

void stats_init(ps_colstat_t *st, int64_t f);
/* Add rows of a row-major block; rows with keep[i] == 0 are skipped (keep may be NULL). */
void stats_add_block(ps_colstat_t *st, const float *x, int64_t rows, int64_t f, const uint8_t *keep);
/* Merge every rank's stats (collective); all ranks get the same result. */
void stats_allreduce(ps_colstat_t *st, int64_t f);
/* Population standard deviation (ddof = 0); NaN if no finite values. */
double stats_std(const ps_colstat_t *s);
double stats_mean(const ps_colstat_t *s);
#endif
