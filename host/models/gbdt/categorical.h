/* categorical.h: categorical features in the trees, LightGBM's way
 * (src/treelearner/feature_histogram.hpp, FindBestThresholdCategorical):
 * a feature with C categories (input file's /categorical) has a bin per
 * code (cuts at code + 1/2: bin = 1 + code) and the missing bin; a node
 * splits it by a set of codes that go left, NaN and every other code
 * right (gbdt/gbdt_cat.h). The search, from the leaf's exact integer
 * histogram (so every rank decides the same):
 *  - C <= max_cat_to_onehot: one category against the rest;
 *  - else the categories with at least cat_smooth rows, sorted by
 *    sum_g / (sum_h + cat_smooth) (ties by code), and the best
 *    prefix of at most min(max_cat_threshold, (used + 1) / 2) of them
 *    from either end; a candidate is tried once min_data_per_group
 *    rows have joined since the last one, the right side keeps at least
 *    that many rows, and the children's gains use lambda_l2 + cat_l2
 *    (the parent's: lambda_l2, as LightGBM).
 * The five are train options with LightGBM's names and defaults
 * (train_opts.c; here in the split parameters, ps_split_params_t). Leaf
 * values use lambda_l2 alone (LightGBM adds cat_l2 to a categorical
 * split's two children). The search is gbdt/split_cat_cpu.c, the twin of
 * the device's (split_cat.cu): the sort is a total order (ties by code;
 * a 0/0 key -- no Hessian, --cat-smooth 0 -- after every number). */
#ifndef PS_GBDT_CATEGORICAL_H
#define PS_GBDT_CATEGORICAL_H
#include <stdint.h>

#include "gbdt/gbdt_cpu.h"
#include "models/gbdt/binning.h"

/* Categorical features' cuts replaced by a bin per code; card [f]: the
 * categories of each feature, 0 numerical (NULL: none; nothing changes). */
void cat_bins(ps_bins_t *b, const int64_t *card);
/* Categories of feature j of binned features (0: numerical). */
int64_t cat_count(const ps_bins_t *b, int64_t j);
/* The features the numerical search may use: use without the categorical
 * ones (a new array of f; use NULL: all). */
uint8_t *cat_numeric_use(const ps_bins_t *b, const uint8_t *use);
/* The best categorical split among features [j0, j1) of a leaf with sums
 * (G, H, N), if it gains more than best->gain: best and set
 * (PS_GBDT_CAT_BYTES: the codes that go left) replaced, returns 1; else 0.
 * hist: the histogram of bins [q0, ...) (a rank's block, split_dist.h). */
int cat_find_split(const int64_t *hist, const ps_bins_t *b, const uint8_t *use, int64_t j0, int64_t j1, int64_t q0,
                   int64_t G, int64_t H, int64_t N, const ps_split_params_t *p, ps_split_t *best, uint8_t *set);
#endif
