/* split_cat_cpu.c: CPU twin of split_cat.cu -- the category-set split
 * search (split_cat_cpu.h's rules, in their sequential order; the host's
 * search, models/gbdt/categorical.c, is this code), and the kernel's
 * whole search: the numeric features by split_cpu.c, the categorical ones
 * here, the winner by gain then feature. */
#include <string.h>

#include "gbdt/gbdt_cat.h"
#include "gbdt/split_cat_cpu.h"

/* A search's state: the leaf, the parameters, the best so far. */
typedef struct {
  const int64_t *h; /* the feature's bins: [1 + C][PS_HIST_W], bin 0 missing */
  int64_t G, H, N;
  double parent;
  const ps_split_params_t *p;
  ps_split_t *best;
  uint8_t *set;
  int found;
} search_t;

static int consider(search_t *s, double gain, int32_t j, int64_t lg, int64_t lh, int64_t ln) {
  if (!(gain > s->best->gain)) return 0;
  *s->best = (ps_split_t){.gain = gain, .feature = j, .bin = 0, .default_left = 0, .lg = lg, .lh = lh, .ln = ln};
  memset(s->set, 0, PS_GBDT_CAT_BYTES);
  s->found = 1;
  return 1;
}

static void add_code(uint8_t *set, int c) { set[c >> 3] |= (uint8_t)(1u << (c & 7)); }

/* C <= cat_onehot: category c alone left. */
static void one_hot(search_t *s, int32_t j, int64_t C) {
  for (int64_t c = 0; c < C; c++) {
    const int64_t *x = s->h + PS_HIST_W * (c + 1);
    double gain = ps_gbdt_cat_gain(x[0], x[1], x[2], s->G, s->H, s->N, s->parent, s->p->l2, s->p);
    if (consider(s, gain, j, x[0], x[1], x[2])) add_code(s->set, (int)c);
  }
}

/* The kept categories in ps_gbdt_cat_before's order (an insertion sort). */
static int sorted_codes(const search_t *s, int64_t C, int *code) {
  double key[PS_GBDT_MAX_BIN + 1];
  int used = 0;
  double inv = PS_DDIV(1.0, s->p->scale);
  for (int64_t c = 0; c < C; c++) {
    const int64_t *x = s->h + PS_HIST_W * (c + 1);
    if (!ps_gbdt_cat_kept(x[2], s->p)) continue;
    double k = ps_gbdt_cat_key(x[0], x[1], inv, s->p->cat_smooth);
    int at = used++;
    for (; at > 0 && ps_gbdt_cat_before(k, (int)c, key[at - 1], code[at - 1]); at--) {
      key[at] = key[at - 1];
      code[at] = code[at - 1];
    }
    key[at] = k;
    code[at] = (int)c;
  }
  return used;
}

/* C > cat_onehot: prefixes of the sorted categories from the front, then the back. */
static void by_order(search_t *s, int32_t j, int64_t C) {
  const ps_split_params_t *p = s->p;
  int code[PS_GBDT_MAX_BIN + 1];
  int used = sorted_codes(s, C, code), max_cat = ps_gbdt_cat_max_set(used, p);
  for (int dir = 0; dir < 2; dir++) {
    int64_t lg = 0, lh = 0, ln = 0, group = 0;
    for (int i = 0; i < used && i < max_cat; i++) {
      const int64_t *x = s->h + PS_HIST_W * (code[dir ? used - 1 - i : i] + 1);
      lg += x[0];
      lh += x[1];
      ln += x[2];
      group += x[2];
      if (ps_gbdt_cat_small(lh, ln, p)) continue;
      if (ps_gbdt_cat_stop(s->H - lh, s->N - ln, p)) break;
      if (group < p->cat_min_group) continue;
      group = 0;
      double gain = ps_gbdt_cat_gain(lg, lh, ln, s->G, s->H, s->N, s->parent, PS_DADD(p->l2, p->cat_l2), p);
      if (consider(s, gain, j, lg, lh, ln))
        for (int k = 0; k <= i; k++) add_code(s->set, code[dir ? used - 1 - k : k]);
    }
  }
}

int ps_gbdt_split_cat_cpu(const int64_t *hist, int64_t f, const int64_t *bin_off, const uint8_t *cat,
                          const uint8_t *use, int64_t G, int64_t H, int64_t N, const ps_split_params_t *p,
                          ps_split_t *best, uint8_t *set) {
  search_t s = {.G = G, .H = H, .N = N, .p = p, .best = best, .set = set,
                .parent = ps_gbdt_split_parent(G, H, p->scale, p->l2)};
  for (int64_t j = 0; j < f; j++) {
    if (!cat[j] || (use && !use[j])) continue;
    int64_t C = bin_off[j + 1] - bin_off[j] - 1;
    s.h = hist + PS_HIST_W * bin_off[j];
    if (C <= p->cat_onehot) one_hot(&s, (int32_t)j, C);
    else by_order(&s, (int32_t)j, C);
  }
  return s.found;
}

int ps_gbdt_split_mixed_cpu(const int64_t *hist, int64_t f, const int64_t *bin_off, const uint8_t *cat,
                            const uint8_t *use, int64_t G, int64_t H, int64_t N, const ps_split_params_t *p,
                            uint8_t *mask, ps_split_t *best, uint8_t *set) {
  for (int64_t j = 0; j < f; j++) mask[j] = (!use || use[j]) && !cat[j];
  ps_gbdt_split_cpu(hist, f, bin_off, mask, G, H, N, p, best);
  ps_split_t c = {.gain = p->min_gain, .feature = -1};
  uint8_t cs[PS_GBDT_CAT_BYTES];
  memset(set, 0, PS_GBDT_CAT_BYTES);
  if (!ps_gbdt_split_cat_cpu(hist, f, bin_off, cat, use, G, H, N, p, &c, cs)) return 0;
  if (best->feature >= 0 && !(c.gain > best->gain || (c.gain == best->gain && c.feature < best->feature))) return 0;
  *best = c;
  memcpy(set, cs, PS_GBDT_CAT_BYTES);
  return 1;
}

int ps_gbdt_split_mixed_q_cpu(const int64_t *hist2, int64_t f, const int64_t *bin_off, const uint8_t *cat,
                              const uint8_t *use, int64_t G, int64_t H, int64_t N, const ps_split_params_t *p,
                              const ps_split_q_t *q, int64_t *work, uint8_t *mask, ps_split_t *best, uint8_t *set) {
  ps_gbdt_widen_q_cpu(hist2, bin_off[f], q, work);
  return ps_gbdt_split_mixed_cpu(work, f, bin_off, cat, use, G, H, N, p, mask, best, set);
}
