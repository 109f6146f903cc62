/* bundle.h: exclusive feature bundling (LightGBM's EFB, issue 26). Features
 * that are never off their default bin (the most frequent one) in the same
 * row -- one-hot columns, rare flags -- share one byte column: a bundle's
 * code is 0 when every member is at its default bin, else the member's
 * offset plus the rank of its bin among its non-default bins. Histograms are
 * built over these columns (fewer bytes a row) and each feature's histogram
 * is recovered exactly from its bundle's: its non-default bins are the
 * bundle's bins at its offsets, its default bin the leaf's totals minus
 * them (integer sums). So the split search, the trees and the model are the
 * same bits as without bundles; only the histogram pass gets cheaper.
 *
 * The bundles are found from the binning sample (an id-hashed sample of the
 * training rows, binning.h): features in the order of their non-default
 * counts (larger first, then lower index), each joining the first bundle
 * (in creation order) with which it shares no sampled row and whose codes
 * still fit a byte, or starting a new one (LightGBM's greedy FindGroups
 * with max_conflict_rate 0 and no random search order). Every count is an
 * all-rank sum, so the bundles are the same for any rank count and row
 * order. Exclusivity on the sample does not prove it on every training
 * row: the encoding checks each row, and a bundle with any conflicting row
 * in any rank is taken apart (its features back to columns of their own),
 * so the encoding is always exact. */
#ifndef PS_GBDT_BUNDLE_H
#define PS_GBDT_BUNDLE_H
#include <stdint.h>

#include "models/gbdt/binning.h"

typedef struct {
  int64_t f, nb;     /* features; bundle columns (a lone feature is a column of its own) */
  int64_t nmulti;    /* bundles of two features or more */
  int32_t *group;    /* [f] the column of feature j */
  int32_t *code_off; /* [f] code of j's first non-default bin in a shared column; 0: a lone feature (codes = bins) */
  uint8_t *dflt;     /* [f] j's default bin */
  int64_t *bin_off;  /* [nb+1] column g's histogram bins [bin_off[g], bin_off[g+1]) */
  int64_t total_bins;
  int32_t *member;   /* [f] the features of column g: member[mem_off[g] .. mem_off[g+1]), by index */
  int64_t *mem_off;  /* [nb+1] */
} ps_bundles_t;

/* Collective: the bundles of the features with cuts `bins`, from this
 * rank's m sampled raw rows S [m][f]. */
void bundles_find(const float *S, int64_t m, const ps_bins_t *bins, ps_bundles_t *bd);
/* From each feature's column (group[j]) and default bin; singles and
 * multi-feature columns as they come. Sets everything else. */
void bundles_layout(ps_bundles_t *bd, const ps_bins_t *bins);
/* Collective: the bundle columns Bb [n][nb] of binned rows B [n][f].
 * Bundles with a conflicting row (two members off their default bin) in any
 * rank are taken apart first. Returns NULL (and nb = f, nmulti = 0) when no
 * bundle of two features is left: then bundling gains nothing. */
uint8_t *bundles_encode(ps_bundles_t *bd, const ps_bins_t *bins, const uint8_t *B, int64_t n);
/* Per-feature histogram h [total_bins][w] (feature j: bins [fbin_off[j],
 * fbin_off[j+1]), binning.h) from the bundle columns' hb [bd->total_bins][w]
 * of the same rows (w values a bin: 3 exact, 2 quantized); every bin of h
 * is written. */
void bundles_expand(const ps_bundles_t *bd, const int64_t *fbin_off, const int64_t *hb, int w, int64_t *h);
void bundles_free(ps_bundles_t *bd);
#endif
