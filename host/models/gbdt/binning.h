/* binning.h: per-feature cut points for the trees, from a sample of the
 * training rows chosen by a hash of their customer ids (so the sample, and
 * the cuts, are the same for any rank count and row order). Each rank
 * computes the cuts of the features it owns (j % P) from every rank's
 * sampled values, then all ranks share them. A feature with few distinct
 * values gets a bin per value (cuts at midpoints); otherwise cuts at equal
 * counts, heavy values in bins of their own (LightGBM's greedy binning).
 * NaN has a bin of its own (code 0); +-Inf fall in the outer bins. */
#ifndef PS_GBDT_BINNING_H
#define PS_GBDT_BINNING_H
#include <stdint.h>

typedef struct {
  int64_t f;
  float *cuts;       /* every feature's cut points, one feature after another */
  int64_t *cut_off;  /* [f+1] feature j: cuts[cut_off[j] .. cut_off[j+1]) */
  int64_t *bin_off;  /* [f+1] feature j: histogram bins [bin_off[j], bin_off[j+1]) = missing + values */
  int64_t total_bins;
  uint8_t *cat;      /* [f] 1: categorical, a bin per code (models/gbdt/categorical.h); NULL: none */
} ps_bins_t;

/* Is the row with this id in the binning sample (rate in (0, 1])? */
int bins_in_sample(int64_t id, double rate, uint64_t seed);
/* Collective: cut points from this rank's sampled rows S [m][f]. */
void bins_from_sample(const float *S, int64_t m, int64_t f, int max_bin, ps_bins_t *b);
/* The cuts of one feature from its nd distinct sampled finite values v
 * (increasing) with counts cnt (n values in all) into out; returns them. */
int bins_counted_cuts(const float *v, const int64_t *cnt, int64_t nd, int64_t n, int max_bin, float *out);
/* Collective: b from every rank's cuts of its features (j % P == rank) in
 * mycuts [ceil(f/P)][max_bin+1] (the count, then the cuts; freed here). */
void bins_share_cuts(float *mycuts, int64_t f, int max_bin, ps_bins_t *b);
/* Collective, CSR rows (binning_csr.c): the same cuts as bins_from_sample
 * of this rank's m sampled rows made dense, from their CSR (ptr [m+1] from
 * 0, idx, val). */
void bins_from_csr_sample(const int64_t *ptr, const int32_t *idx, const float *val, int64_t m, int64_t f,
                          int max_bin, ps_bins_t *b);
/* Each feature's code of the value 0 (its zero bin), malloc'd [f]. */
uint8_t *bins_zero_codes(const ps_bins_t *b);
/* From stored cut points (a model or checkpoint file). */
void bins_from_cuts(int64_t f, const float *cuts, const int64_t *cut_off, ps_bins_t *b);
void bins_free(ps_bins_t *b);
#endif
