/* grow.c: leaf-wise growth of one tree (see grow.h). */
#include "models/gbdt/grow.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"

typedef struct {
  int64_t g, h, n;  /* the leaf's sums over all ranks */
  int depth;
  int parent_node;  /* -1: the root */
  int parent_side;  /* 0 left, 1 right */
  ps_split_t best;
  int64_t *hist;    /* kept for the subtraction trick, or NULL */
} leaf_t;

static double now_minus(double t0) { return ps_now() - t0; }

/* A leaf's histogram over all ranks into h. */
static void build(ps_gbdt_backend_t *b, int leaf, int64_t *h, size_t len, ps_grow_times_t *tm) {
  double t0 = ps_now();
  b->hist(b, leaf, h);
  tm->hist += now_minus(t0);
  t0 = ps_now();
  comm_allreduce_sum_i64(h, len);
  tm->allreduce += now_minus(t0);
}

/* A leaf's best split: on the backend's device if it has a split search
 * (the same bits), else by the CPU twin. */
static void find_split(ps_gbdt_backend_t *b, leaf_t *l, const int64_t *h, const ps_bins_t *bins,
                       const ps_grow_params_t *p, ps_grow_times_t *tm) {
  double t0 = ps_now();
  l->best.feature = -1;
  l->best.gain = 0;
  int deep = p->max_depth > 0 && l->depth >= p->max_depth;
  if (!deep && l->n / 2 >= p->split.min_data) { /* n >= 2 min_data, for any int64 min_data */
    if (b->find_split) b->find_split(b, h, p->use, l->g, l->h, l->n, &p->split, &l->best);
    else ps_gbdt_split_cpu(h, bins->f, bins->bin_off, p->use, l->g, l->h, l->n, &p->split, &l->best);
  }
  tm->split += now_minus(t0);
}

void grow_tree(ps_gbdt_backend_t *b, const ps_bins_t *bins, const ps_grow_params_t *p, ps_tree_t *t,
               ps_grow_times_t *tm) {
  int L = p->num_leaves < 2 ? 2 : p->num_leaves;
  size_t len = (size_t)PS_HIST_W * (size_t)bins->total_bins, bytes = len * sizeof(int64_t);
  int64_t kept = 0, keep_max = p->hist_budget / (int64_t)(bytes > 0 ? bytes : 1);
  leaf_t *leaf = ps_calloc((size_t)L, sizeof(leaf_t));
  /* the root: its histogram, its sums (every row is in one bin of feature 0) */
  leaf[0].hist = ps_malloc(bytes);
  kept = 1;
  build(b, 0, leaf[0].hist, len, tm);
  for (int64_t q = bins->bin_off[0]; q < bins->bin_off[1]; q++) {
    leaf[0].g += leaf[0].hist[PS_HIST_W * q];
    leaf[0].h += leaf[0].hist[PS_HIST_W * q + 1];
    leaf[0].n += leaf[0].hist[PS_HIST_W * q + 2];
  }
  leaf[0].parent_node = -1;
  find_split(b, &leaf[0], leaf[0].hist, bins, p, tm);
  t->nleaves = 1;
  while (t->nleaves < L) {
    int best = -1;
    for (int i = 0; i < t->nleaves; i++)
      if (leaf[i].best.feature >= 0 && (best < 0 || leaf[i].best.gain > leaf[best].best.gain)) best = i;
    if (best < 0) break;
    leaf_t *lf = &leaf[best];
    const ps_split_t *s = &lf->best;
    int node = t->nleaves - 1, right = t->nleaves;
    int64_t ncuts = bins->cut_off[s->feature + 1] - bins->cut_off[s->feature];
    t->feature[node] = s->feature;
    t->bin[node] = (uint8_t)s->bin;
    t->threshold[node] = s->bin <= ncuts ? bins->cuts[bins->cut_off[s->feature] + s->bin - 1] : INFINITY;
    t->default_left[node] = (uint8_t)s->default_left;
    t->gain[node] = s->gain;
    t->left[node] = ~best;
    t->right[node] = ~right;
    if (lf->parent_node >= 0) {
      if (lf->parent_side == 0) t->left[lf->parent_node] = node;
      else t->right[lf->parent_node] = node;
    }
    double t0 = ps_now();
    b->split(b, best, right, s->feature, s->bin, s->default_left);
    tm->partition += now_minus(t0);
    leaf_t *lc = &leaf[best], *rc = &leaf[right];
    leaf_t parent = *lf;
    rc->g = parent.g - s->lg;
    rc->h = parent.h - s->lh;
    rc->n = parent.n - s->ln;
    lc->g = s->lg;
    lc->h = s->lh;
    lc->n = s->ln;
    lc->depth = rc->depth = parent.depth + 1;
    lc->parent_node = node;
    lc->parent_side = 0;
    rc->parent_node = node;
    rc->parent_side = 1;
    /* the smaller child's histogram is built; the larger is the parent's minus it */
    int small = lc->n <= rc->n ? best : right, large = small == best ? right : best;
    int64_t *ph = parent.hist;
    leaf[small].hist = NULL;
    leaf[large].hist = NULL;
    int64_t *hs = ps_malloc(bytes), *hl = ph ? ph : ps_malloc(bytes);
    build(b, small, hs, len, tm);
    if (ph) {
      for (size_t q = 0; q < len; q++) hl[q] -= hs[q];
      kept--;
    } else {
      build(b, large, hl, len, tm);
    }
    find_split(b, &leaf[small], hs, bins, p, tm);
    find_split(b, &leaf[large], hl, bins, p, tm);
    /* keep them while the budget allows (a leaf that can still split needs its histogram) */
    leaf[small].hist = hs;
    leaf[large].hist = hl;
    kept += 2;
    for (int c = 0; c < 2; c++) {
      leaf_t *x = &leaf[c ? large : small];
      if (x->hist && (x->best.feature < 0 || kept > keep_max)) {
        free(x->hist);
        x->hist = NULL;
        kept--;
      }
    }
    t->nleaves++;
  }
  for (int i = 0; i < t->nleaves; i++) {
    double G = (double)leaf[i].g / p->split.scale, H = (double)leaf[i].h / p->split.scale;
    t->leaf_value[i] = p->learning_rate * ps_gbdt_leaf_output(G, H, p->split.l2);
    t->leaf_count[i] = leaf[i].n;
  }
  for (int i = 0; i < L; i++) free(leaf[i].hist);
  free(leaf);
}
