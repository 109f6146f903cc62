/* test_grow.c: leaf-wise tree growth (models/gbdt/grow.c) on a small planted
 * binned dataset against an oracle that grows the same tree from the rows
 * themselves: every leaf's best split by brute force over all features,
 * thresholds and sides of the missing values (no histograms, so neither the
 * subtraction trick nor the kept-histogram budget), the leaf with the
 * largest gain split next. The tree must equal the oracle's node for node,
 * and respect num_leaves, max_depth and min_data_in_leaf. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "comm/comm.h"
#include "models/gbdt/grow.h"

enum { N = 300, F = 3, LMAX = 64 };
static const int64_t NCUTS[F] = {3, 5, 1};
static uint8_t B[N * F];
static int64_t GQ[N], HQ[N];
static ps_bins_t bins;

static uint64_t state = 0x243F6A8885A308D3ull;
static double unif(void) { /* xorshift64*: the test's own data, nothing of the code under test */
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return (double)((state * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

/* Bins drawn at random (feature 0 and 1 missing now and then, 2 never);
 * the gradient planted on features 1 and 0, with noise. */
static void make_data(double scale) {
  float cuts[16];
  int64_t cut_off[F + 1] = {0};
  for (int j = 0; j < F; j++) {
    cut_off[j + 1] = cut_off[j] + NCUTS[j];
    for (int64_t c = 0; c < NCUTS[j]; c++) cuts[cut_off[j] + c] = (float)(10 * j + c);
  }
  bins_from_cuts(F, cuts, cut_off, &bins);
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < F; j++) {
      int nb = (int)(bins.bin_off[j + 1] - bins.bin_off[j]);
      B[i * F + j] = (uint8_t)(j < 2 && unif() < 0.1 ? 0 : 1 + (int)(unif() * (nb - 1)));
    }
    double y = (B[i * F + 1] >= 4) ^ (B[i * F + 0] == 2) ^ (unif() < 0.15);
    GQ[i] = (int64_t)nearbyint(scale * (0.5 - y + 0.2 * (unif() - 0.5)));
    HQ[i] = (int64_t)nearbyint(scale * (0.1 + 0.15 * unif()));
  }
}

typedef struct {
  int64_t rows[N], m;
  int depth, parent_node, parent_side;
  ps_split_t best;
} oleaf_t;

static int goes_left(int i, const ps_split_t *s) {
  int bin = B[i * F + s->feature];
  return bin == 0 ? s->default_left : bin <= s->bin;
}

/* The best split of a leaf's rows, trying every candidate on the rows. */
static void brute_split(oleaf_t *l, const ps_grow_params_t *p) {
  const ps_split_params_t *sp = &p->split;
  l->best = (ps_split_t){.gain = sp->min_gain, .feature = -1};
  if (p->max_depth > 0 && l->depth >= p->max_depth) return;
  int64_t G = 0, H = 0, N_ = l->m;
  for (int64_t r = 0; r < l->m; r++) G += GQ[l->rows[r]], H += HQ[l->rows[r]];
  double parent = ps_gbdt_split_parent(G, H, sp->scale, sp->l2);
  for (int j = 0; j < F; j++) {
    if (p->use && !p->use[j]) continue;
    int nb = (int)(bins.bin_off[j + 1] - bins.bin_off[j]);
    for (int t = 1; t < nb; t++)
      for (int dl = 0; dl < 2; dl++) {
        ps_split_t c = {.feature = j, .bin = t, .default_left = dl};
        for (int64_t r = 0; r < l->m; r++)
          if (goes_left((int)l->rows[r], &c)) c.lg += GQ[l->rows[r]], c.lh += HQ[l->rows[r]], c.ln++;
        c.gain = ps_gbdt_split_gain(c.lg, c.lh, c.ln, G, H, N_, parent, 1.0 / sp->scale, sp->l2, sp->min_data,
                                    sp->min_hess);
        if (c.gain > l->best.gain) l->best = c;
      }
  }
  if (l->best.feature >= 0) { /* no missing rows here: missing values (at scoring) go to the larger side */
    int missing = 0;
    for (int64_t r = 0; r < l->m; r++) missing += B[l->rows[r] * F + l->best.feature] == 0;
    if (!missing) l->best.default_left = l->best.ln >= N_ - l->best.ln;
  }
}

/* The oracle's tree: as grow.h says, the leaf with the largest gain next
 * (the lowest leaf on ties), its left rows keep its number. */
static void oracle_tree(const ps_grow_params_t *p, ps_tree_t *t, oleaf_t *leaf) {
  int L = p->num_leaves;
  leaf[0].m = 0;
  for (int i = 0; i < N; i++) leaf[0].rows[leaf[0].m++] = i;
  leaf[0].depth = 0;
  leaf[0].parent_node = -1;
  brute_split(&leaf[0], p);
  t->nleaves = 1;
  while (t->nleaves < L) {
    int best = -1;
    for (int i = 0; i < t->nleaves; i++)
      if (leaf[i].best.feature >= 0 && (best < 0 || leaf[i].best.gain > leaf[best].best.gain)) best = i;
    if (best < 0) break;
    int node = t->nleaves - 1, right = t->nleaves;
    oleaf_t parent = leaf[best];
    const ps_split_t *s = &parent.best;
    t->feature[node] = s->feature;
    t->bin[node] = (uint8_t)s->bin;
    t->default_left[node] = (uint8_t)s->default_left;
    t->gain[node] = s->gain;
    t->left[node] = ~best;
    t->right[node] = ~right;
    if (parent.parent_node >= 0) {
      if (parent.parent_side) t->right[parent.parent_node] = node;
      else t->left[parent.parent_node] = node;
    }
    oleaf_t *lc = &leaf[best], *rc = &leaf[right];
    lc->m = rc->m = 0;
    for (int64_t r = 0; r < parent.m; r++) {
      oleaf_t *c = goes_left((int)parent.rows[r], s) ? lc : rc;
      c->rows[c->m++] = parent.rows[r];
    }
    lc->depth = rc->depth = parent.depth + 1;
    lc->parent_node = rc->parent_node = node;
    lc->parent_side = 0;
    rc->parent_side = 1;
    brute_split(lc, p);
    brute_split(rc, p);
    t->nleaves++;
  }
}

static int leaf_depths(const ps_tree_t *t, int node, int depth, int *d) {
  int max = 0;
  for (int side = 0; side < 2; side++) {
    int c = side ? t->right[node] : t->left[node], got;
    if (c < 0) d[~c] = got = depth + 1;
    else got = leaf_depths(t, c, depth + 1, d);
    if (got > max) max = got;
  }
  return max;
}

static void grow_and_check(const ps_grow_params_t *p, int expect_leaves) {
  static oleaf_t oleaf[LMAX];
  ps_gbdt_backend_t *b = gbdt_backend_cpu();
  b->set_rows(b, B, N, F, bins.bin_off, bins.total_bins, p->num_leaves);
  b->begin_tree(b, GQ, HQ, NULL);
  ps_tree_t t, o;
  tree_alloc(&t, p->num_leaves);
  tree_alloc(&o, p->num_leaves);
  ps_grow_times_t tm = {0};
  grow_tree(b, &bins, p, &t, &tm);
  oracle_tree(p, &o, oleaf);
  assert_int_equal(t.nleaves, o.nleaves);
  if (expect_leaves) assert_int_equal(t.nleaves, expect_leaves);
  assert_true(t.nleaves <= p->num_leaves);
  for (int k = 0; k < t.nleaves - 1; k++) {
    assert_int_equal(t.feature[k], o.feature[k]);
    assert_int_equal(t.bin[k], o.bin[k]);
    assert_int_equal(t.default_left[k], o.default_left[k]);
    assert_true(t.gain[k] == o.gain[k]);
    assert_int_equal(t.left[k], o.left[k]);
    assert_int_equal(t.right[k], o.right[k]);
    int64_t ncuts = bins.cut_off[t.feature[k] + 1] - bins.cut_off[t.feature[k]];
    float thr = t.bin[k] <= ncuts ? bins.cuts[bins.cut_off[t.feature[k]] + t.bin[k] - 1] : INFINITY;
    assert_true(t.threshold[k] == thr);
    if (p->use) assert_true(p->use[t.feature[k]]);
  }
  int depth[LMAX] = {0}, max_depth = t.nleaves > 1 ? leaf_depths(&t, 0, 0, depth) : 0;
  if (p->max_depth > 0) assert_true(max_depth <= p->max_depth);
  int64_t total = 0;
  for (int i = 0; i < t.nleaves; i++) {
    int64_t G = 0, H = 0;
    for (int64_t r = 0; r < oleaf[i].m; r++) G += GQ[oleaf[i].rows[r]], H += HQ[oleaf[i].rows[r]];
    assert_int_equal(t.leaf_count[i], oleaf[i].m);
    assert_true(t.leaf_count[i] >= (t.nleaves > 1 ? p->split.min_data : 1));
    double v = p->learning_rate * ps_gbdt_leaf_output((double)G / p->split.scale, (double)H / p->split.scale,
                                                      p->split.l2);
    assert_true(t.leaf_value[i] == v);
    total += t.leaf_count[i];
  }
  assert_int_equal(total, N);
  tree_free(&t);
  tree_free(&o);
  b->destroy(b);
}

static ps_grow_params_t params(int leaves, int depth, int64_t min_data, int64_t budget) {
  return (ps_grow_params_t){.num_leaves = leaves, .max_depth = depth, .learning_rate = 0.1, .hist_budget = budget,
                            .split = {.l2 = 1.0, .min_data = min_data, .min_hess = 1e-3, .min_gain = 0,
                                      .scale = 0x1.0p20}};
}

static void check(int leaves, int depth, int64_t min_data, int64_t budget, int expect_leaves) {
  ps_grow_params_t p = params(leaves, depth, min_data, budget);
  grow_and_check(&p, expect_leaves);
}

static void one_split_is_the_brute_force_best(void **state_) {
  check(2, 0, 1, 1 << 20, 2);
}

static void num_leaves_reached_with_or_without_kept_histograms(void **state_) {
  check(12, 0, 3, 1 << 20, 12);
  check(12, 0, 3, 0, 12); /* no histogram kept: every child built */
  int64_t one = (int64_t)PS_HIST_W * bins.total_bins * (int64_t)sizeof(int64_t);
  check(12, 0, 3, 2 * one, 12);
}

static void max_depth_bounds_the_tree(void **state_) {
  check(31, 2, 1, 1 << 20, 4); /* planted signal splits every leaf */
  check(31, 3, 5, 1 << 20, 0);
}

static void min_data_in_leaf_is_respected(void **state_) {
  check(31, 0, 40, 1 << 20, 0);
  check(31, 0, N / 2 + 1, 1 << 20, 1); /* no split can keep both sides */
}

static void features_not_in_use_are_never_split(void **state_) {
  static const uint8_t use[F] = {1, 0, 1};
  ps_grow_params_t p = params(8, 0, 5, 1 << 20);
  p.use = use;
  grow_and_check(&p, 0);
}

int main(void) {
  comm_init(NULL, NULL);
  make_data(0x1.0p20);
  const struct CMUnitTest tests[] = {cmocka_unit_test(one_split_is_the_brute_force_best),
                                     cmocka_unit_test(num_leaves_reached_with_or_without_kept_histograms),
                                     cmocka_unit_test(max_depth_bounds_the_tree),
                                     cmocka_unit_test(min_data_in_leaf_is_respected),
                                     cmocka_unit_test(features_not_in_use_are_never_split)};
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  bins_free(&bins);
  return rc;
}
