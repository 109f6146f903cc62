/* grow.h: one tree, grown leaf-wise (LightGBM): the leaf whose best split
 * gains most is split next, until num_leaves (or no split gains, or every
 * leaf is at max_depth). Histograms: the smaller child's is built and
 * summed across ranks, the larger one's is the parent's minus it (exact:
 * integers); each rank keeps and searches only its block of features, the
 * best split exchanged (split_dist.h). Every decision comes from the same
 * integer sums on every rank, so the tree is the same for any rank count. */
#ifndef PS_GBDT_GROW_H
#define PS_GBDT_GROW_H
#include <stdint.h>

#include "gbdt/gbdt_cpu.h"
#include "models/gbdt/backend.h"
#include "models/gbdt/binning.h"
#include "models/gbdt/forest.h"

typedef struct {
  int num_leaves, max_depth; /* max_depth <= 0: none */
  ps_split_params_t split;   /* l2, min rows, min Hessian, min gain, fixed-point scale */
  double learning_rate;
  const uint8_t *use;        /* features this tree may split on (NULL: all) */
  int64_t hist_budget;       /* bytes of leaf histograms kept for the subtraction trick */
  int64_t qg_step, qh_step;  /* quantized gradients (issue 26): fixed-point units per quantum; 0: exact */
} ps_grow_params_t;

/* Seconds spent, for the report (this rank). */
typedef struct {
  double hist, allreduce, split, partition;
  double hist_rows; /* rows whose bins the histogram passes read (each row once a built leaf) */
} ps_grow_times_t;

/* Grow a tree on the backend's current rows and gradients (begin_tree
 * done). t: allocated for p->num_leaves (tree_alloc).
 * Quantized (p->qg_step > 0, the backend's set_quant done): histograms are
 * (sum qg, sum qh) pairs; the split search sees them times the steps (the
 * exact path's fixed-point units) with each bin's rows estimated from its
 * Hessian, LightGBM's way: round(sum qh * N / leaf's sum qh), N the leaf's
 * exact rows (from the partition, summed across ranks). So
 * --min-data-in-leaf is checked on these estimates: a child may end a few
 * rows under it (or a split be refused a few rows over); the model's leaf
 * counts are exact. The leaf values are refit from the rows' exact
 * gradients once the structure is found (LightGBM's
 * quant_train_renew_leaf). */
void grow_tree(ps_gbdt_backend_t *b, const ps_bins_t *bins, const ps_grow_params_t *p, ps_tree_t *t,
               ps_grow_times_t *times);
#endif
