/* categorical.c: categorical features' bins and split search (see
 * categorical.h); the search is the kernel's twin, gbdt/split_cat_cpu.c. */
#include "models/gbdt/categorical.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "gbdt/split_cat_cpu.h"

void cat_bins(ps_bins_t *b, const int64_t *card) {
  int64_t f = b->f, any = 0;
  for (int64_t j = 0; card && j < f; j++) any |= card[j] > 0;
  if (!any) return;
  int64_t *off = ps_malloc(sizeof(int64_t) * (size_t)(f + 1));
  off[0] = 0;
  for (int64_t j = 0; j < f; j++)
    off[j + 1] = off[j] + (card[j] > 0 ? card[j] - 1 : b->cut_off[j + 1] - b->cut_off[j]);
  float *cuts = ps_malloc(sizeof(float) * (size_t)(off[f] + 1));
  for (int64_t j = 0; j < f; j++) {
    if (card[j] > 0)
      for (int64_t c = 0; c + 1 < card[j]; c++) cuts[off[j] + c] = (float)c + 0.5f;
    else
      memcpy(cuts + off[j], b->cuts + b->cut_off[j], sizeof(float) * (size_t)(off[j + 1] - off[j]));
  }
  bins_free(b);
  bins_from_cuts(f, cuts, off, b);
  b->cat = ps_calloc((size_t)f, 1);
  for (int64_t j = 0; j < f; j++) b->cat[j] = card[j] > 0;
  free(cuts);
  free(off);
}

int64_t cat_count(const ps_bins_t *b, int64_t j) {
  return b->cat && b->cat[j] ? b->cut_off[j + 1] - b->cut_off[j] + 1 : 0;
}

uint8_t *cat_numeric_use(const ps_bins_t *b, const uint8_t *use) {
  uint8_t *u = ps_malloc((size_t)(b->f > 0 ? b->f : 1));
  for (int64_t j = 0; j < b->f; j++) u[j] = (!use || use[j]) && !b->cat[j];
  return u;
}

int cat_find_split(const int64_t *hist, const ps_bins_t *b, const uint8_t *use, int64_t j0, int64_t j1, int64_t q0,
                   int64_t G, int64_t H, int64_t N, const ps_split_params_t *p, ps_split_t *best, uint8_t *set) {
  if (j1 <= j0) return 0;
  int64_t *boff = ps_malloc(sizeof(int64_t) * (size_t)(j1 - j0 + 1)); /* the block's bins from 0 */
  for (int64_t j = j0; j <= j1; j++) boff[j - j0] = b->bin_off[j] - q0;
  int found = ps_gbdt_split_cat_cpu(hist, j1 - j0, boff, b->cat + j0, use ? use + j0 : NULL, G, H, N, p, best, set);
  if (found) best->feature += (int32_t)j0;
  free(boff);
  return found;
}
