/* grow.c: leaf-wise growth of one tree (see grow.h). */
#include "models/gbdt/grow.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"
#include "gbdt/gbdt_cat.h"
#include "gbdt/gbdt_math.h"
#include "models/gbdt/categorical.h"
#include "models/gbdt/split_dist.h"

typedef struct {
  int64_t g, h, n;  /* the leaf's sums over all ranks */
  int depth;
  int parent_node;  /* -1: the root */
  int parent_side;  /* 0 left, 1 right */
  ps_split_t best;
  int64_t *hist;    /* this rank's block of it (split_dist.h), kept for the subtraction trick, or NULL */
  int is_cat;       /* best is a categorical split: the codes in set go left */
  uint8_t set[PS_GBDT_CAT_BYTES];
} leaf_t;

static double now_minus(double t0) { return ps_now() - t0; }

/* A leaf's best split over this rank's block of features (exchanged
 * later): on the backend's device if it has a split search (the same
 * bits), else by the CPU twin. */
static void find_split(ps_gbdt_backend_t *b, ps_dist_t *d, leaf_t *l, const int64_t *h, const ps_bins_t *bins,
                       const ps_grow_params_t *p, ps_grow_times_t *tm) {
  double t0 = ps_now();
  l->best = (ps_split_t){.feature = -1};
  int deep = p->max_depth > 0 && l->depth >= p->max_depth;
  l->is_cat = 0;
  if (!deep && l->n / 2 >= p->split.min_data) { /* n >= 2 min_data, for any int64 min_data */
    uint8_t *num = bins->cat ? cat_numeric_use(bins, p->use) : NULL; /* categorical features: categorical.c */
    dist_search(d, b, h, num ? num : p->use, l->g, l->h, l->n, &p->split, &l->best);
    ps_split_t c[2] = {l->best, {.feature = -1, .gain = p->split.min_gain}}; /* a set must gain more too */
    if (num && cat_find_split(h, bins, p->use, d->j0, d->j1, d->q0, l->g, l->h, l->n, &p->split, &c[1], l->set))
      l->best = dist_pick(c, 2, 1); /* the order of the exchange across ranks: gain, then feature */
    free(num);
  }
  tm->split += now_minus(t0);
}

/* One tree's growth: the leaves so far and the histograms they keep. */
typedef struct {
  ps_gbdt_backend_t *b;
  const ps_bins_t *bins;
  const ps_grow_params_t *p;
  ps_grow_times_t *tm;
  leaf_t *leaf;
  int quant;              /* histograms of quantized (qg, qh) pairs */
  int64_t *x3;            /* quantized: a block's histogram in the split search's units [bins][3] */
  size_t len, bytes;      /* a histogram block's values and bytes */
  int64_t kept, keep_max; /* histograms kept, at most (the budget) */
  ps_dist_t d;            /* this rank's block of features */
  int dev;                /* the backend keeps the histograms (dh_*): see dev_root */
} grow_t;

/* A leaf's local histogram (quantized: int64 pairs, widened from the
 * packed bins by the backend); its block's sums over all ranks into h
 * (split_dist.h). local: this rank's own sums of feature 0's bins, or NULL. */
static void build(grow_t *g, int leaf, int64_t *h, int64_t *local) {
  double t0 = ps_now();
  int64_t *x = dist_local(&g->d, h);
  g->tm->hist_rows += (double)g->b->leaf_rows(g->b, leaf);
  if (g->quant) g->b->hist_q(g->b, leaf, x);
  else g->b->hist(g->b, leaf, x);
  for (int64_t q = g->bins->bin_off[0]; local && q < g->bins->bin_off[1]; q++)
    for (int v = 0; v < g->d.w; v++) local[v] += x[g->d.w * q + v];
  g->tm->hist += now_minus(t0);
  t0 = ps_now();
  dist_reduce(&g->d, h);
  g->tm->allreduce += now_minus(t0);
}

/* A leaf's best split from its histogram h; quantized, h is first put in
 * the split search's units: sums times the steps, each bin's rows
 * estimated from its Hessian (grow.h). */
static void search(grow_t *g, leaf_t *l, const int64_t *h) {
  if (!g->quant) {
    find_split(g->b, &g->d, l, h, g->bins, g->p, g->tm);
    return;
  }
  int64_t hq = l->h / g->p->qh_step, *x = g->x3;
  double per = hq > 0 ? (double)l->n / (double)hq : 0.0;
  for (int64_t q = 0; q < g->d.nq; q++) {
    x[3 * q] = h[2 * q] * g->p->qg_step;
    x[3 * q + 1] = h[2 * q + 1] * g->p->qh_step;
    x[3 * q + 2] = ps_gbdt_q_rows(h[2 * q + 1], per);
  }
  find_split(g->b, &g->d, l, x, g->bins, g->p, g->tm);
}

/* A leaf whose winning split is categorical: its set from the rank whose
 * block holds the feature (the others add zeros: an exact sum). */
static void cat_exchange(grow_t *g, leaf_t *l) {
  l->is_cat = l->best.feature >= 0 && cat_count(g->bins, l->best.feature) > 0;
  if (!l->is_cat || g->d.P == 1) return;
  int64_t v[PS_GBDT_CAT_BYTES] = {0};
  int mine = l->best.feature >= g->d.j0 && l->best.feature < g->d.j1;
  for (int i = 0; mine && i < PS_GBDT_CAT_BYTES; i++) v[i] = l->set[i];
  comm_allreduce_sum_i64(v, PS_GBDT_CAT_BYTES);
  for (int i = 0; i < PS_GBDT_CAT_BYTES; i++) l->set[i] = (uint8_t)v[i];
}

/* Every rank's bests of leaves a (and b: -1 none) exchanged: the winners. */
static void exchange(grow_t *g, int a, int b) {
  double t0 = ps_now();
  ps_split_t s[2] = {g->leaf[a].best, b >= 0 ? g->leaf[b].best : g->leaf[a].best};
  dist_exchange(s, b >= 0 ? 2 : 1);
  g->leaf[a].best = s[0];
  if (b >= 0) g->leaf[b].best = s[1];
  for (int c = 0; c < (b >= 0 ? 2 : 1); c++) cat_exchange(g, &g->leaf[c ? b : a]);
  g->tm->allreduce += now_minus(t0);
}

/* The root: its histogram, its sums (every row is in one bin of feature
 * 0: this rank's summed over ranks), its best split. */
static void dev_root(grow_t *g);
static void grow_root(grow_t *g) {
  leaf_t *r = &g->leaf[0];
  if (g->dev) {
    dev_root(g);
    return;
  }
  r->hist = ps_malloc(g->bytes);
  g->kept = 1;
  int64_t sums[PS_HIST_W] = {0};
  build(g, 0, r->hist, sums);
  if (g->quant) sums[2] = g->b->leaf_rows(g->b, 0);
  comm_allreduce_sum_i64(sums, PS_HIST_W);
  r->g = sums[0] * (g->quant ? g->p->qg_step : 1);
  r->h = sums[1] * (g->quant ? g->p->qh_step : 1);
  r->n = sums[2];
  r->parent_node = -1;
  search(g, r, r->hist);
  exchange(g, 0, -1);
}

/* Leaf `best` splits at tree node `node`: the node, and its parent's link to it. */
static void record_node(const grow_t *g, ps_tree_t *t, int best, int node, int right) {
  const leaf_t *lf = &g->leaf[best];
  const ps_split_t *s = &lf->best;
  const ps_bins_t *bins = g->bins;
  int64_t ncuts = bins->cut_off[s->feature + 1] - bins->cut_off[s->feature];
  t->feature[node] = s->feature;
  t->bin[node] = (uint8_t)s->bin;
  t->threshold[node] = s->bin <= ncuts ? bins->cuts[bins->cut_off[s->feature] + s->bin - 1] : INFINITY;
  t->default_left[node] = (uint8_t)s->default_left;
  t->gain[node] = s->gain;
  t->cat[node] = -1;
  if (lf->is_cat) { /* a set of codes; threshold and bin unused */
    t->cat[node] = t->ncat;
    memcpy(t->cat_set + (size_t)PS_GBDT_CAT_BYTES * (size_t)t->ncat++, lf->set, PS_GBDT_CAT_BYTES);
    t->threshold[node] = INFINITY;
    t->bin[node] = (uint8_t)(ncuts + 1);
  }
  t->left[node] = ~best;
  t->right[node] = ~right;
  if (lf->parent_node >= 0) {
    if (lf->parent_side == 0) t->left[lf->parent_node] = node;
    else t->right[lf->parent_node] = node;
  }
}

/* The children's histograms -- the smaller one's built, the larger one the
 * parent's minus it -- and best splits; kept while the budget allows (a
 * leaf that can still split needs its histogram). */
static void dev_children(grow_t *g, int best, int right);
static void child_histograms(grow_t *g, int best, int right, int64_t *ph) {
  leaf_t *leaf = g->leaf;
  if (g->dev) {
    dev_children(g, best, right);
    return;
  }
  int small = leaf[best].n <= leaf[right].n ? best : right, large = small == best ? right : best;
  leaf[small].hist = NULL;
  leaf[large].hist = NULL;
  int64_t *hs = ps_malloc(g->bytes), *hl = ph ? ph : ps_malloc(g->bytes);
  build(g, small, hs, NULL);
  if (ph) {
    for (size_t q = 0; q < g->len; q++) hl[q] -= hs[q];
    g->kept--;
  } else {
    build(g, large, hl, NULL);
  }
  search(g, &leaf[small], hs);
  search(g, &leaf[large], hl);
  exchange(g, small, large);
  leaf[small].hist = hs;
  leaf[large].hist = hl;
  g->kept += 2;
  for (int c = 0; c < 2; c++) {
    leaf_t *x = &leaf[c ? large : small];
    if (x->hist && (x->best.feature < 0 || g->kept > g->keep_max)) {
      free(x->hist);
      x->hist = NULL;
      g->kept--;
    }
  }
}

/* Leaf `best` splits into itself (left) and leaf `right`. */
static void split_leaf(grow_t *g, ps_tree_t *t, int best, int right) {
  leaf_t *leaf = g->leaf;
  const ps_split_t *s = &leaf[best].best;
  int node = t->nleaves - 1;
  record_node(g, t, best, node, right);
  double t0 = ps_now();
  if (leaf[best].is_cat) g->b->split_set(g->b, best, right, s->feature, leaf[best].set);
  else g->b->split(g->b, best, right, s->feature, s->bin, s->default_left);
  g->tm->partition += now_minus(t0);
  leaf_t *lc = &leaf[best], *rc = &leaf[right];
  leaf_t parent = *lc;
  rc->g = parent.g - parent.best.lg;
  rc->h = parent.h - parent.best.lh;
  rc->n = parent.n - parent.best.ln;
  lc->g = parent.best.lg;
  lc->h = parent.best.lh;
  lc->n = parent.best.ln;
  if (g->quant) { /* the split search's rows were estimates: the exact ones */
    int64_t n[2] = {g->b->leaf_rows(g->b, best), g->b->leaf_rows(g->b, right)};
    comm_allreduce_sum_i64(n, 2);
    lc->n = n[0];
    rc->n = n[1];
  }
  lc->depth = rc->depth = parent.depth + 1;
  lc->parent_node = node;
  lc->parent_side = 0;
  rc->parent_node = node;
  rc->parent_side = 1;
  child_histograms(g, best, right, parent.hist);
}

/* Quantized: every leaf's exact sums (the rows' full-precision fixed-point
 * gradients), for its value (LightGBM's quant_train_renew_leaf). */
static void refit(grow_t *g, int nleaves) {
  int64_t *sums = ps_malloc(sizeof(int64_t) * 2 * (size_t)nleaves);
  g->b->leaf_sums(g->b, nleaves, sums);
  comm_allreduce_sum_i64(sums, 2 * (size_t)nleaves);
  for (int i = 0; i < nleaves; i++) {
    g->leaf[i].g = sums[2 * i];
    g->leaf[i].h = sums[2 * i + 1];
  }
  free(sums);
}

/* ---- the histograms on the device (the backend's dh_* ops, issue 28):
 * every rank holds each leaf's all-rank histogram there and searches all
 * features, so each finds the serial search's split (split_dist.h: the
 * blocks' winners exchanged are that split too) and nothing is exchanged;
 * the rest as above; categorical features too where the backend has
 * dh_cat (their category sets searched there, the winner's set back). ---- */

/* Leaves ids[0..n)'s best splits (n <= 2), searched on the device in one
 * round trip (find_split's conditions). */
static void dev_search(grow_t *g, int n, const int *ids) {
  double t0 = ps_now();
  ps_dh_query_t qs[2];
  ps_split_t best[2];
  int m = 0;
  for (int k = 0; k < n; k++) {
    leaf_t *l = &g->leaf[ids[k]];
    l->best = (ps_split_t){.feature = -1};
    l->is_cat = 0;
    if ((g->p->max_depth > 0 && l->depth >= g->p->max_depth) || l->n / 2 < g->p->split.min_data) continue;
    int64_t hq = g->quant ? l->h / g->p->qh_step : 0;
    qs[m++] = (ps_dh_query_t){.leaf = ids[k], .G = l->g, .H = l->h, .N = l->n,
                              .q = {.qg_step = g->p->qg_step, .qh_step = g->p->qh_step,
                                    .per = hq > 0 ? (double)l->n / (double)hq : 0.0}};
  }
  if (m > 0) g->b->dh_search(g->b, m, qs, g->p->use, &g->p->split, g->quant, best);
  for (int k = 0; k < m; k++) {
    leaf_t *l = &g->leaf[qs[k].leaf];
    l->best = best[k];
    l->is_cat = l->best.feature >= 0 && cat_count(g->bins, l->best.feature) > 0;
    if (l->is_cat) g->b->dh_set(g->b, k, l->set);
  }
  g->tm->split += now_minus(t0);
}

static void dev_root(grow_t *g) {
  leaf_t *r = &g->leaf[0];
  double t0 = ps_now();
  int64_t sums[PS_HIST_W] = {0};
  g->b->dh_root(g->b, g->quant, sums); /* all-rank sums of feature 0's bins */
  g->kept = 1;
  if (g->quant) {
    sums[2] = g->b->leaf_rows(g->b, 0);
    comm_allreduce_sum_i64(&sums[2], 1);
  }
  g->tm->hist += now_minus(t0);
  r->g = sums[0] * (g->quant ? g->p->qg_step : 1);
  r->h = sums[1] * (g->quant ? g->p->qh_step : 1);
  r->n = sums[2];
  r->parent_node = -1;
  dev_search(g, 1, (int[]){0});
}

static void dev_children(grow_t *g, int best, int right) {
  leaf_t *leaf = g->leaf;
  int small = leaf[best].n <= leaf[right].n ? best : right, large = small == best ? right : best;
  double t0 = ps_now();
  g->kept += g->b->dh_children(g->b, best, right, small) ? 1 : 2;
  g->tm->hist += now_minus(t0);
  dev_search(g, 2, (int[]){small, large});
  for (int c = 0; c < 2; c++) {
    int x = c ? large : small;
    if (leaf[x].best.feature < 0 || g->kept > g->keep_max) {
      g->b->dh_drop(g->b, x);
      g->kept--;
    }
  }
}

void grow_tree(ps_gbdt_backend_t *b, const ps_bins_t *bins, const ps_grow_params_t *p, ps_tree_t *t,
               ps_grow_times_t *tm) {
  int L = p->num_leaves < 2 ? 2 : p->num_leaves, quant = p->qg_step > 0;
  ps_dist_t d;
  dist_init(&d, bins, quant ? 2 : PS_HIST_W, ps_size, ps_rank, b->find_split != NULL);
  size_t bytes = (d.len > 0 ? d.len : 1) * sizeof(int64_t), most = d.most * sizeof(int64_t); /* most: every rank's */
  grow_t g = {.b = b, .bins = bins, .p = p, .tm = tm, .leaf = ps_calloc((size_t)L, sizeof(leaf_t)), .len = d.len,
              .bytes = bytes, .keep_max = p->hist_budget / (int64_t)(most > 0 ? most : 1), .quant = quant,
              .x3 = quant ? ps_malloc(sizeof(int64_t) * PS_HIST_W * (size_t)(d.nq + 1)) : NULL, .d = d};
  g.dev = b->dh_root && (!bins->cat || b->dh_cat);
  if (g.dev && b->dh_cat) b->dh_cat(b, bins->cat); /* NULL: numeric only */
  t->nleaves = 1;
  t->ncat = 0;
  grow_root(&g);
  while (t->nleaves < L) {
    int best = -1;
    for (int i = 0; i < t->nleaves; i++)
      if (g.leaf[i].best.feature >= 0 && (best < 0 || g.leaf[i].best.gain > g.leaf[best].best.gain)) best = i;
    if (best < 0) break;
    split_leaf(&g, t, best, t->nleaves);
    t->nleaves++;
  }
  if (quant) refit(&g, t->nleaves);
  for (int i = 0; i < t->nleaves; i++) {
    double G = (double)g.leaf[i].g / p->split.scale, H = (double)g.leaf[i].h / p->split.scale;
    /* Quantized: the structure passed --min-sum-hessian on the quantized
     * sums, but a leaf's exact Hessian may be below it (rows whose
     * predictions saturated): -G/(H + l2) is then unbounded (H = 0: an
     * infinite logit). Such a leaf keeps 0, as the exact search never makes it. */
    int weak = quant && !(H >= p->split.min_hess && H + p->split.l2 > 0);
    t->leaf_value[i] = weak ? 0.0 : p->learning_rate * ps_gbdt_leaf_output(G, H, p->split.l2);
    t->leaf_count[i] = g.leaf[i].n;
  }
  for (int i = 0; i < L; i++) free(g.leaf[i].hist);
  free(g.leaf);
  free(g.x3);
  dist_free(&g.d);
}
