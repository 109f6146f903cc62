/* categorical.c: categorical features' bins and split search (see categorical.h). */
#include "models/gbdt/categorical.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "gbdt/gbdt_cat.h"

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

/* A search's state: the leaf, the parameters, the best so far. */
typedef struct {
  const int64_t *h; /* the feature's bins: [1 + C][PS_HIST_W], bin 0 missing */
  int64_t G, H, N;
  double parent;
  const ps_split_params_t *p;
  ps_split_t *best;
  int found;
} search_t;

static int consider(search_t *s, double gain, int32_t j, int64_t lg, int64_t lh, int64_t ln) {
  if (!(gain > s->best->gain)) return 0;
  *s->best = (ps_split_t){.gain = gain, .feature = j, .bin = 0, .default_left = 0, .lg = lg, .lh = lh, .ln = ln};
  s->found = 1;
  return 1;
}

/* C <= --max-cat-to-onehot: category c alone left. */
static void one_hot(search_t *s, int32_t j, int64_t C, uint8_t *set) {
  const ps_split_params_t *p = s->p;
  for (int64_t c = 0; c < C; c++) {
    const int64_t *x = s->h + PS_HIST_W * (c + 1);
    double gain = ps_gbdt_split_gain(x[0], x[1], x[2], s->G, s->H, s->N, s->parent, 1.0 / p->scale, p->l2,
                                     p->min_data, p->min_hess);
    if (consider(s, gain, j, x[0], x[1], x[2])) {
      memset(set, 0, PS_GBDT_CAT_BYTES);
      set[c >> 3] |= (uint8_t)(1u << (c & 7));
    }
  }
}

/* Categories with >= cat_smooth rows sorted by sum_g / (sum_h + cat_smooth), stably. */
static int sorted_codes(const search_t *s, int64_t C, int *code) {
  double key[PS_GBDT_MAX_BIN + 1];
  int used = 0;
  double inv = 1.0 / s->p->scale;
  for (int64_t c = 0; c < C; c++) {
    const int64_t *x = s->h + PS_HIST_W * (c + 1);
    if ((double)x[2] < s->p->cat_smooth) continue;
    double k = ((double)x[0] * inv) / ((double)x[1] * inv + s->p->cat_smooth);
    int at = used++;
    while (at > 0 && key[at - 1] > k) { /* insertion sort: equal keys keep code order */
      key[at] = key[at - 1];
      code[at] = code[at - 1];
      at--;
    }
    key[at] = k;
    code[at] = (int)c;
  }
  return used;
}

/* C > --max-cat-to-onehot: prefixes of the sorted categories from either end. */
static void by_order(search_t *s, int32_t j, int64_t C, uint8_t *set) {
  const ps_split_params_t *p = s->p;
  int code[PS_GBDT_MAX_BIN + 1];
  int used = sorted_codes(s, C, code);
  int max_cat = (used + 1) / 2 < p->cat_max_set ? (used + 1) / 2 : p->cat_max_set;
  for (int dir = 0; dir < 2; dir++) {
    int64_t lg = 0, lh = 0, ln = 0, group = 0;
    for (int i = 0; i < used && i < max_cat; i++) {
      const int64_t *x = s->h + PS_HIST_W * (code[dir ? used - 1 - i : i] + 1);
      lg += x[0];
      lh += x[1];
      ln += x[2];
      group += x[2];
      if (ln < p->min_data || (double)lh / p->scale < p->min_hess) continue;
      int64_t rn = s->N - ln;
      if (rn < p->min_data || rn < p->cat_min_group || (double)(s->H - lh) / p->scale < p->min_hess) break;
      if (group < p->cat_min_group) continue;
      group = 0;
      double gain = ps_gbdt_split_gain(lg, lh, ln, s->G, s->H, s->N, s->parent, 1.0 / p->scale, p->l2 + p->cat_l2,
                                       p->min_data, p->min_hess);
      if (consider(s, gain, j, lg, lh, ln)) {
        memset(set, 0, PS_GBDT_CAT_BYTES);
        for (int k = 0; k <= i; k++) {
          int c = code[dir ? used - 1 - k : k];
          set[c >> 3] |= (uint8_t)(1u << (c & 7));
        }
      }
    }
  }
}

int cat_find_split(const int64_t *hist, const ps_bins_t *b, const uint8_t *use, int64_t j0, int64_t j1, int64_t q0,
                   int64_t G, int64_t H, int64_t N, const ps_split_params_t *p, ps_split_t *best, uint8_t *set) {
  search_t s = {.G = G, .H = H, .N = N, .p = p, .best = best,
                .parent = ps_gbdt_split_parent(G, H, p->scale, p->l2)};
  for (int64_t j = j0; j < j1; j++) {
    int64_t C = cat_count(b, j);
    if (C == 0 || (use && !use[j])) continue;
    s.h = hist + PS_HIST_W * (b->bin_off[j] - q0);
    if (C <= p->cat_onehot) one_hot(&s, (int32_t)j, C, set);
    else by_order(&s, (int32_t)j, C, set);
  }
  return s.found;
}
