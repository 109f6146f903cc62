/* shap_cpu.c: CPU twin of shap.cu -- exact TreeSHAP of raw rows (shap_cpu.h),
 * a row at a time, trees and leaves in order; and every leaf's
 * root-to-leaf path (the nodes, the branch taken, the cover fractions) and
 * each tree's expected value, which the twin and the kernel share. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "gbdt/shap_cpu.h"

/* Tree t's covers: rows under each internal node (children come after their parent). */
static void node_covers(const ps_forest_view_t *fo, int32_t t, const int64_t *leaf_count, double *cover) {
  int64_t n0 = fo->node_off[t], nodes = fo->node_off[t + 1] - n0, l0 = fo->leaf_off[t];
  for (int64_t q = nodes - 1; q >= 0; q--) {
    int32_t c[2] = {fo->left[n0 + q], fo->right[n0 + q]};
    cover[q] = 0;
    for (int s = 0; s < 2; s++) cover[q] += c[s] >= 0 ? cover[c[s]] : (double)leaf_count[l0 + ~c[s]];
  }
}

/* Room for `need` path entries. */
static void reserve(ps_shap_paths_t *ps, int64_t *cap, int64_t need) {
  if (need <= *cap) return;
  *cap = need > 2 * *cap ? need : 2 * *cap;
  ps->node = ps_realloc(ps->node, sizeof(int64_t) * (size_t)*cap);
  ps->go_left = ps_realloc(ps->go_left, (size_t)*cap);
  ps->zero = ps_realloc(ps->zero, sizeof(double) * (size_t)*cap);
}

/* Tree t's paths into ps (entries from ps->npath on); parent / side / cover:
 * scratch of the tree's size (internal nodes [0, nodes), then leaves). */
static int tree_paths(const ps_forest_view_t *fo, int32_t t, const int64_t *leaf_count, ps_shap_paths_t *ps,
                      int64_t *cap, int64_t *parent, uint8_t *side, double *cover) {
  int64_t n0 = fo->node_off[t], nodes = fo->node_off[t + 1] - n0, l0 = fo->leaf_off[t];
  int64_t leaves = fo->leaf_off[t + 1] - l0;
  node_covers(fo, t, leaf_count, cover);
  parent[0] = -1; /* the root, or the single leaf */
  for (int64_t q = 0; q < nodes; q++) {
    int32_t c[2] = {fo->left[n0 + q], fo->right[n0 + q]};
    for (int s = 0; s < 2; s++) {
      int64_t k = c[s] >= 0 ? c[s] : nodes + ~c[s];
      parent[k] = q;
      side[k] = (uint8_t)(s == 0);
    }
  }
  for (int64_t l = 0; l < leaves; l++) {
    if (nodes > 0 && leaf_count[l0 + l] <= 0) return -1;
    int64_t e = ps->npath, depth = 0;
    ps->path_off[l0 + l] = e;
    for (int64_t k = nodes + l; parent[k] >= 0; k = parent[k]) depth++;
    reserve(ps, cap, e + depth);
    int64_t k = nodes + l;
    for (int64_t i = depth - 1; i >= 0; i--, k = parent[k]) { /* from the leaf up: filled back to front */
      int64_t q = parent[k];
      ps->node[e + i] = n0 + q;
      ps->go_left[e + i] = side[k];
      ps->zero[e + i] = (k >= nodes ? (double)leaf_count[l0 + k - nodes] : cover[k]) / cover[q];
      ps->edge_zero[2 * (n0 + q) + (side[k] ? 0 : 1)] = ps->zero[e + i];
    }
    ps->npath = e + depth;
    if (depth > ps->max_depth) ps->max_depth = (int32_t)depth;
  }
  return 0;
}

static double tree_expected(const ps_forest_view_t *fo, int32_t t, const int64_t *leaf_count) {
  int64_t l0 = fo->leaf_off[t], l1 = fo->leaf_off[t + 1];
  if (l1 - l0 == 1) return fo->leaf_value[l0];
  double total = 0, ev = 0;
  for (int64_t l = l0; l < l1; l++) total += (double)leaf_count[l];
  for (int64_t l = l0; l < l1; l++) ev += ((double)leaf_count[l] / total) * fo->leaf_value[l];
  return ev;
}

int ps_gbdt_shap_paths(const ps_forest_view_t *fo, const int64_t *leaf_count, ps_shap_paths_t *ps) {
  int64_t leaves = fo->leaf_off[fo->ntrees], most = 1, cap = 0;
  for (int32_t t = 0; t < fo->ntrees; t++) {
    int64_t size = fo->leaf_off[t + 1] - fo->leaf_off[t] + fo->node_off[t + 1] - fo->node_off[t];
    if (size > most) most = size;
  }
  ps->max_depth = 0;
  ps->npath = 0;
  ps->node = NULL, ps->go_left = NULL, ps->zero = NULL;
  reserve(ps, &cap, 1);
  ps->path_off = ps_malloc(sizeof(int64_t) * (size_t)(leaves + 1));
  ps->expected = ps_malloc(sizeof(double) * (size_t)(fo->ntrees > 0 ? fo->ntrees : 1));
  ps->edge_zero = ps_malloc(sizeof(double) * (size_t)(2 * fo->node_off[fo->ntrees] + 1));
  int64_t *parent = ps_malloc(sizeof(int64_t) * (size_t)most);
  uint8_t *side = ps_malloc((size_t)most);
  double *cover = ps_malloc(sizeof(double) * (size_t)most);
  int rc = 0;
  for (int32_t t = 0; t < fo->ntrees && rc == 0; t++) {
    rc = tree_paths(fo, t, leaf_count, ps, &cap, parent, side, cover);
    ps->expected[t] = tree_expected(fo, t, leaf_count);
  }
  ps->path_off[leaves] = ps->npath;
  free(parent), free(side), free(cover);
  if (rc != 0) ps_gbdt_shap_paths_free(ps);
  return rc;
}

void ps_gbdt_shap_paths_free(ps_shap_paths_t *ps) {
  free(ps->path_off), free(ps->node), free(ps->go_left), free(ps->zero), free(ps->expected), free(ps->edge_zero);
  ps->path_off = ps->node = NULL;
  ps->go_left = NULL;
  ps->zero = ps->expected = ps->edge_zero = NULL;
}

double ps_gbdt_shap_base(const ps_shap_paths_t *ps, int32_t ntrees, double init) {
  double b = init;
  for (int32_t t = 0; t < ntrees; t++) b += ps->expected[t];
  return b;
}

/* One row through one tree by Algorithm 2's recursion (LightGBM's
 * Tree::TreeSHAP): leaf l's contributions go to val [path_off[l] ..
 * + cnt[l]), added to phi in leaf order afterwards; the features of those
 * entries (feat) and cnt depend on the tree only: written by the first row
 * (fill). */
typedef struct {
  const ps_forest_view_t *fo;
  const ps_shap_paths_t *ps;
  const float *x;
  int64_t n0, l0;
  int32_t *feat, *cnt;
  double *val;
  int fill;
} rec_t;

/* The path below `node`: the parent's p[0..d-1] extended by element d, in
 * a copy at parent + d (copy: the parent's path is needed again), else in
 * place (the last child). */
static void recurse(const rec_t *r, int32_t node, int d, ps_shap_elem_t *parent, int copy, int h, double res,
                    double pz, double po, int32_t pf) {
  ps_shap_elem_t *p = parent;
  if (copy && d > 0) memcpy(p = parent + d, parent, sizeof *p * (size_t)d);
  ps_shap_extend(p, d, &h, &res, pz, po, pf);
  if (node < 0) {
    int64_t l = r->l0 + ~node, e = r->ps->path_off[l];
    double v = r->fo->leaf_value[l], cold = ps_shap_cold(p, d, h, res);
    for (int k = 1; k <= d; k++) r->val[e + k - 1] = ps_shap_scale(p, d, h, res, k, cold) * v;
    if (r->fill) {
      for (int k = 1; k <= d; k++) r->feat[e + k - 1] = p[k].feature;
      r->cnt[l] = d;
    }
    return;
  }
  int64_t q = r->n0 + node;
  int32_t j = r->fo->feature[q];
  int left = ps_gbdt_node_left_raw(r->fo, q, r->x[j]);
  int32_t hot = left ? r->fo->left[q] : r->fo->right[q], cold = left ? r->fo->right[q] : r->fo->left[q];
  double hz = r->ps->edge_zero[2 * q + (left ? 0 : 1)], cz = r->ps->edge_zero[2 * q + (left ? 1 : 0)];
  double iz, io;
  d = ps_shap_unwind_feature(p, d, &h, &res, j, &iz, &io);
  recurse(r, hot, d + 1, p, 1, h, res, hz * iz, io, j);
  recurse(r, cold, d + 1, p, 0, h, res, cz * iz, 0.0, j);
}

static void row_recursive(rec_t *r, ps_shap_elem_t *stack, double *phi) {
  const ps_forest_view_t *fo = r->fo;
  for (int32_t t = 0; t < fo->ntrees; t++) {
    if (fo->node_off[t + 1] == fo->node_off[t]) continue;
    r->n0 = fo->node_off[t];
    r->l0 = fo->leaf_off[t];
    recurse(r, 0, 0, stack, 1, -1, 1.0, 1.0, 1.0, -1);
    for (int64_t l = fo->leaf_off[t]; l < fo->leaf_off[t + 1]; l++)
      for (int64_t e = r->ps->path_off[l], k = 0; k < r->cnt[l]; k++) phi[r->feat[e + k]] += r->val[e + k];
  }
}

/* Rows at a time by the recursion; paths this deep (a stack of the C
 * recursion's depth) by replaying each leaf instead: the same bits. */
#define RECURSION_MAX_DEPTH 1024

void ps_gbdt_shap_cpu(const ps_forest_view_t *fo, const ps_shap_paths_t *ps, const float *X, int64_t n, int64_t f,
                      double *phi) {
  int64_t D = ps->max_depth;
  if (D > RECURSION_MAX_DEPTH) {
    ps_shap_elem_t *p = ps_malloc(sizeof(ps_shap_elem_t) * (size_t)(D + 2));
    for (int64_t i = 0; i < n; i++) ps_shap_row(fo, ps, X + (size_t)i * (size_t)f, p, phi + (size_t)i * (size_t)f);
    free(p);
    return;
  }
  ps_shap_elem_t *stack = ps_malloc(sizeof(ps_shap_elem_t) * (size_t)((D + 2) * (D + 3) / 2));
  rec_t r = {.fo = fo, .ps = ps, .feat = ps_malloc(sizeof(int32_t) * (size_t)(ps->npath + 1)),
             .cnt = ps_calloc((size_t)fo->leaf_off[fo->ntrees] + 1, sizeof(int32_t)), .fill = 1,
             .val = ps_malloc(sizeof(double) * (size_t)(ps->npath + 1))};
  for (int64_t i = 0; i < n; i++) {
    r.x = X + (size_t)i * (size_t)f;
    row_recursive(&r, stack, phi + (size_t)i * (size_t)f);
    r.fill = 0;
  }
  free(stack), free(r.feat), free(r.cnt), free(r.val);
}
