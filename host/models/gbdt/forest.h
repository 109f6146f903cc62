/* forest.h: one head's trees, appended in flat arrays (the layout of
 * kernels/gbdt ps_forest_view_t): internal nodes of every tree one after
 * another, then leaves; a child < 0 is leaf ~child of the same tree. */
#ifndef PS_GBDT_FOREST_H
#define PS_GBDT_FOREST_H
#include <stdint.h>

#include "gbdt/gbdt_cpu.h"

/* A tree being grown (grow.c) or read back: nleaves - 1 internal nodes. */
typedef struct {
  int32_t nleaves;
  int32_t *feature, *left, *right;  /* [nleaves-1] */
  float *threshold;                 /* [nleaves-1] */
  uint8_t *bin, *default_left;      /* [nleaves-1] */
  double *gain;                     /* [nleaves-1] split gains */
  double *leaf_value;               /* [nleaves] (learning rate applied) */
  int64_t *leaf_count;              /* [nleaves] training rows */
  int32_t *cat;                     /* [nleaves-1] category set of the node (cat_set), -1: numerical */
  uint8_t *cat_set;                 /* [ncat][PS_GBDT_CAT_BYTES] (gbdt/gbdt_cat.h) */
  int32_t ncat;
} ps_tree_t;

void tree_alloc(ps_tree_t *t, int max_leaves);
void tree_free(ps_tree_t *t);

typedef struct {
  int32_t ntrees;
  int64_t nnodes, nleaves, cap_nodes, cap_leaves, cap_trees;
  int64_t *node_off, *leaf_off; /* [ntrees+1] */
  int32_t *feature, *left, *right;
  float *threshold;
  uint8_t *bin, *default_left;
  double *gain;
  double *leaf_value;
  int64_t *leaf_count;
  int32_t *cat;      /* [nodes] index into cat_set, -1: numerical (NULL until a tree has a categorical split) */
  uint8_t *cat_set;  /* [ncat][PS_GBDT_CAT_BYTES] every categorical node's set, in node order */
  int64_t ncat, cap_cat;
} ps_forest_t;

void forest_init(ps_forest_t *fo);
void forest_free(ps_forest_t *fo);
void forest_add(ps_forest_t *fo, const ps_tree_t *t);
/* Keep the first ntrees trees (early stopping). */
void forest_truncate(ps_forest_t *fo, int32_t ntrees);
ps_forest_view_t forest_view(const ps_forest_t *fo);
#endif
