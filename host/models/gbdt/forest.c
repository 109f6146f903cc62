/* forest.c: one head's trees in flat arrays (see forest.h). */
#include "models/gbdt/forest.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "gbdt/gbdt_cat.h"

void tree_alloc(ps_tree_t *t, int max_leaves) {
  size_t n = (size_t)(max_leaves > 1 ? max_leaves : 2);
  t->nleaves = 1;
  t->feature = ps_calloc(n, sizeof(int32_t));
  t->left = ps_calloc(n, sizeof(int32_t));
  t->right = ps_calloc(n, sizeof(int32_t));
  t->threshold = ps_calloc(n, sizeof(float));
  t->bin = ps_calloc(n, 1);
  t->default_left = ps_calloc(n, 1);
  t->gain = ps_calloc(n, sizeof(double));
  t->leaf_value = ps_calloc(n, sizeof(double));
  t->leaf_count = ps_calloc(n, sizeof(int64_t));
  t->cat = ps_calloc(n, sizeof(int32_t));
  t->cat_set = ps_calloc(n, PS_GBDT_CAT_BYTES);
  t->ncat = 0;
}

void tree_free(ps_tree_t *t) {
  free(t->feature); free(t->left); free(t->right); free(t->threshold); free(t->bin); free(t->default_left);
  free(t->gain); free(t->leaf_value); free(t->leaf_count); free(t->cat); free(t->cat_set);
  memset(t, 0, sizeof *t);
}

void forest_init(ps_forest_t *fo) {
  memset(fo, 0, sizeof *fo);
  fo->cap_trees = 16;
  fo->node_off = ps_calloc((size_t)fo->cap_trees + 1, sizeof(int64_t));
  fo->leaf_off = ps_calloc((size_t)fo->cap_trees + 1, sizeof(int64_t));
}

void forest_free(ps_forest_t *fo) {
  free(fo->node_off); free(fo->leaf_off); free(fo->feature); free(fo->left); free(fo->right); free(fo->threshold);
  free(fo->bin); free(fo->default_left); free(fo->gain); free(fo->leaf_value); free(fo->leaf_count);
  free(fo->cat); free(fo->cat_set);
  memset(fo, 0, sizeof *fo);
}

#define GROW(arr, cap, need, type)                                        \
  do {                                                                     \
    if ((need) > (cap)) (arr) = ps_realloc((arr), sizeof(type) * (size_t)(need)); \
  } while (0)

/* The tree's category sets appended to the forest's (node indices shifted);
 * fo->cat exists from the first categorical tree on (-1 before it). */
static void add_sets(ps_forest_t *fo, const ps_tree_t *t, int64_t a, int64_t nodes) {
  if (!fo->cat && t->ncat == 0) return;
  int fresh = !fo->cat;
  fo->cat = ps_realloc(fo->cat, sizeof(int32_t) * (size_t)(fo->cap_nodes > 0 ? fo->cap_nodes : 1));
  if (fresh)
    for (int64_t q = 0; q < a; q++) fo->cat[q] = -1;
  for (int64_t q = 0; q < nodes; q++) fo->cat[a + q] = t->cat[q] >= 0 ? (int32_t)(t->cat[q] + fo->ncat) : -1;
  if (fo->ncat + t->ncat > fo->cap_cat) {
    fo->cap_cat = 2 * (fo->ncat + t->ncat) + 8;
    fo->cat_set = ps_realloc(fo->cat_set, PS_GBDT_CAT_BYTES * (size_t)fo->cap_cat);
  }
  if (t->ncat > 0) memcpy(fo->cat_set + PS_GBDT_CAT_BYTES * fo->ncat, t->cat_set, PS_GBDT_CAT_BYTES * (size_t)t->ncat);
  fo->ncat += t->ncat;
}

void forest_add(ps_forest_t *fo, const ps_tree_t *t) {
  int64_t nodes = t->nleaves - 1, leaves = t->nleaves;
  if (fo->ntrees + 1 > fo->cap_trees) {
    fo->cap_trees *= 2;
    fo->node_off = ps_realloc(fo->node_off, sizeof(int64_t) * (size_t)(fo->cap_trees + 1));
    fo->leaf_off = ps_realloc(fo->leaf_off, sizeof(int64_t) * (size_t)(fo->cap_trees + 1));
  }
  int64_t nn = fo->nnodes + nodes, nl = fo->nleaves + leaves;
  if (nn > fo->cap_nodes) {
    int64_t cap = fo->cap_nodes * 2 > nn ? fo->cap_nodes * 2 : nn + 64;
    GROW(fo->feature, fo->cap_nodes, cap, int32_t);
    GROW(fo->left, fo->cap_nodes, cap, int32_t);
    GROW(fo->right, fo->cap_nodes, cap, int32_t);
    GROW(fo->threshold, fo->cap_nodes, cap, float);
    GROW(fo->bin, fo->cap_nodes, cap, uint8_t);
    GROW(fo->default_left, fo->cap_nodes, cap, uint8_t);
    GROW(fo->gain, fo->cap_nodes, cap, double);
    fo->cap_nodes = cap;
  }
  if (nl > fo->cap_leaves) {
    int64_t cap = fo->cap_leaves * 2 > nl ? fo->cap_leaves * 2 : nl + 64;
    GROW(fo->leaf_value, fo->cap_leaves, cap, double);
    GROW(fo->leaf_count, fo->cap_leaves, cap, int64_t);
    fo->cap_leaves = cap;
  }
  size_t a = (size_t)fo->nnodes, b = (size_t)fo->nleaves, nb = (size_t)nodes;
  if (nb > 0) { /* a one-leaf tree has no node: the arrays may not exist yet */
    memcpy(fo->feature + a, t->feature, sizeof(int32_t) * nb);
    memcpy(fo->left + a, t->left, sizeof(int32_t) * nb);
    memcpy(fo->right + a, t->right, sizeof(int32_t) * nb);
    memcpy(fo->threshold + a, t->threshold, sizeof(float) * nb);
    memcpy(fo->bin + a, t->bin, nb);
    memcpy(fo->default_left + a, t->default_left, nb);
    memcpy(fo->gain + a, t->gain, sizeof(double) * nb);
  }
  add_sets(fo, t, (int64_t)a, nodes);
  memcpy(fo->leaf_value + b, t->leaf_value, sizeof(double) * (size_t)leaves);
  memcpy(fo->leaf_count + b, t->leaf_count, sizeof(int64_t) * (size_t)leaves);
  fo->nnodes = nn;
  fo->nleaves = nl;
  fo->ntrees++;
  fo->node_off[fo->ntrees] = nn;
  fo->leaf_off[fo->ntrees] = nl;
}

void forest_truncate(ps_forest_t *fo, int32_t ntrees) {
  if (ntrees >= fo->ntrees) return;
  fo->ntrees = ntrees;
  fo->nnodes = fo->node_off[ntrees];
  fo->nleaves = fo->leaf_off[ntrees];
  if (fo->cat) { /* sets are appended in node order: keep those of the kept nodes */
    fo->ncat = 0;
    for (int64_t q = 0; q < fo->nnodes; q++)
      if (fo->cat[q] >= fo->ncat) fo->ncat = fo->cat[q] + 1;
  }
}

ps_forest_view_t forest_view(const ps_forest_t *fo) {
  ps_forest_view_t v = {.ntrees = fo->ntrees, .node_off = fo->node_off, .leaf_off = fo->leaf_off,
                        .feature = fo->feature, .threshold = fo->threshold, .bin = fo->bin,
                        .default_left = fo->default_left, .left = fo->left, .right = fo->right,
                        .leaf_value = fo->leaf_value, .cat = fo->ncat > 0 ? fo->cat : NULL,
                        .cat_set = fo->ncat > 0 ? fo->cat_set : NULL};
  return v;
}
