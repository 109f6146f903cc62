/* split_cat_cpu.h: the category-set split search (issue 28), LightGBM's
 * FindBestThresholdCategorical on the leaf's exact integer histogram
 * (models/gbdt/categorical.h says what the options mean): the per-element
 * rules, host + device, that the CPU twin (split_cat_cpu.c, which the
 * host's search calls) and the kernel (split_cat.cu; split_cat.h)
 * share, and the twin's contract. A categorical feature with C categories
 * has C + 1 bins: bin 0 missing, bin 1 + c category c (categorical.h).
 *  - C <= cat_onehot: candidate c = category c alone left, in code order;
 *  - else the categories with at least cat_smooth rows, sorted by
 *    ps_gbdt_cat_key in the total order ps_gbdt_cat_before (ties by
 *    code), then prefixes of at most ps_gbdt_cat_max_set of them from the
 *    front (direction 0), then from the back (1); step i of a direction
 *    is skipped while the left side is too small (ps_gbdt_cat_small),
 *    ends the direction once the right side is (ps_gbdt_cat_stop), and is
 *    a candidate when cat_min_group rows have joined since the last one;
 *    gains with l2 + cat_l2.
 * A feature's first best candidate in that order wins (strict "greater"),
 * then features as the numeric search: the higher gain, ties to the lower
 * feature. Every double operation is a rounded one (gbdt_math.h's PS_D*):
 * the same bits on both sides. */
#ifndef PS_GBDT_SPLIT_CAT_CPU_H
#define PS_GBDT_SPLIT_CAT_CPU_H
#include <stdint.h>

#include "gbdt/gbdt_cpu.h"
#include "gbdt/gbdt_math.h"
#include "gbdt/leafhist.h"

/* A category's sort key: sum_g / (sum_h + cat_smooth), in real units
 * (inv = 1 / scale). 0/0 (no Hessian, --cat-smooth 0) is NaN. */
PS_GHD double ps_gbdt_cat_key(int64_t g, int64_t h, double inv, double smooth) {
  return PS_DDIV(PS_DMUL((double)g, inv), PS_DADD(PS_DMUL((double)h, inv), smooth));
}
/* Does category a (key ka, code ca) sort before b? A total order: keys
 * ascending (-0 = +0), NaN keys after every number, equal keys by code. */
PS_GHD int ps_gbdt_cat_before(double ka, int ca, double kb, int cb) {
  int na = ka != ka, nb = kb != kb;
  if (na != nb) return nb;
  if (!na && ka != kb) return ka < kb;
  return ca < cb;
}
/* Is a category with n rows sorted (and searched) at all? */
PS_GHD int ps_gbdt_cat_kept(int64_t n, const ps_split_params_t *p) { return !((double)n < p->cat_smooth); }
/* How many of `used` sorted categories a set may hold. */
PS_GHD int ps_gbdt_cat_max_set(int used, const ps_split_params_t *p) {
  return (used + 1) / 2 < p->cat_max_set ? (used + 1) / 2 : p->cat_max_set;
}
/* A prefix with left sums (lh, ln): too small yet (skipped, rows still count for the group). */
PS_GHD int ps_gbdt_cat_small(int64_t lh, int64_t ln, const ps_split_params_t *p) {
  return ln < p->min_data || PS_DDIV((double)lh, p->scale) < p->min_hess;
}
/* The rest (rh, rn) too small: this prefix and every longer one (the direction ends). */
PS_GHD int ps_gbdt_cat_stop(int64_t rh, int64_t rn, const ps_split_params_t *p) {
  return rn < p->min_data || rn < p->cat_min_group || PS_DDIV((double)rh, p->scale) < p->min_hess;
}
/* A candidate's gain: left sums (lg, lh, ln) of the leaf's (G, H, N); l2x
 * = l2 (one-vs-rest) or l2 + cat_l2 (a sorted prefix). */
PS_GHD double ps_gbdt_cat_gain(int64_t lg, int64_t lh, int64_t ln, int64_t G, int64_t H, int64_t N, double parent,
                               double l2x, const ps_split_params_t *p) {
  return ps_gbdt_split_gain(lg, lh, ln, G, H, N, parent, PS_DDIV(1.0, p->scale), l2x, p->min_data, p->min_hess);
}

#ifdef __cplusplus
extern "C" {
#endif
/* The best category-set split among the features j in [0, f) with
 * cat[j] != 0 (and use[j] != 0; use may be NULL) of hist [bins][3] (feature
 * j's bins from bin_off[j]) for a leaf with sums (G, H, N), if it gains
 * more than best->gain: best (bin 0, default_left 0) and set
 * (PS_GBDT_CAT_BYTES: the codes that go left) replaced, returns 1; else 0. */
int ps_gbdt_split_cat_cpu(const int64_t *hist, int64_t f, const int64_t *bin_off, const uint8_t *cat,
                          const uint8_t *use, int64_t G, int64_t H, int64_t N, const ps_split_params_t *p,
                          ps_split_t *best, uint8_t *set);
/* The split kernel's whole search over numeric and categorical features
 * (split_cat.cu): ps_gbdt_split_cpu over the numeric features, the set
 * search over the categorical ones; the higher gain, ties to the lower
 * feature (the host's rule, grow.c). set: the winner's codes if it is
 * categorical, else zeros. mask: f bytes of work. Returns 1 if the winner is categorical. */
int ps_gbdt_split_mixed_cpu(const int64_t *hist, int64_t f, const int64_t *bin_off, const uint8_t *cat,
                            const uint8_t *use, int64_t G, int64_t H, int64_t N, const ps_split_params_t *p,
                            uint8_t *mask, ps_split_t *best, uint8_t *set);
/* The same over a quantized histogram hist2 [bins][2] read in q's units
 * (split_q_cpu.c's widening); work: 3 bin_off[f] int64. */
int ps_gbdt_split_mixed_q_cpu(const int64_t *hist2, int64_t f, const int64_t *bin_off, const uint8_t *cat,
                              const uint8_t *use, int64_t G, int64_t H, int64_t N, const ps_split_params_t *p,
                              const ps_split_q_t *q, int64_t *work, uint8_t *mask, ps_split_t *best, uint8_t *set);
#ifdef __cplusplus
}
#endif
#endif
