/* shap_cpu.h: exact path-dependent TreeSHAP (Lundberg et al. 2018, "Consistent
 * individualized feature attribution for tree ensembles", Algorithm 2) of a
 * forest over raw float rows: the per-row math shared (host + device) by
 * the CPU twin (shap_cpu.c) and the CUDA kernel (shap.cu, one thread a
 * row), and their contracts.
 *
 * Algorithm 2 recurses down both branches of every node; the same numbers
 * come from replaying, for each leaf, the operations the recursion performs
 * on the way from the root to that leaf: extend the unique path by the
 * root, then at each node on the path undo (unwind) an earlier element of
 * the same feature, if any, and extend by the node's feature with zero
 * fraction cover(child) / cover(node) (times the undone one's) and one
 * fraction 1 if the row takes that branch (times the undone one's), else
 * 0; at the leaf every path element i adds
 * unwound_sum(i) * (one_i - zero_i) * leaf value to its feature. The path
 * is kept in Fast TreeSHAP v1's form (Yang 2021; ps_shap_extend): the
 * permutation weights of the elements of one fraction 1 only, the others'
 * zero fractions as one factor, so a leaf costs O(h^2 + d) for h such
 * elements among d, not O(d^2), and all the leaf's "cold" elements share
 * one unwound sum. The same values as LightGBM's (src/io/tree.cpp
 * ExtendPath, UnwindPath, UnwoundPathSum) up to rounding, so its
 * pred_contrib agrees to 1e-6 and better. Covers are the training rows under each node
 * (leaf_count); a row's contributions sum to its raw score minus the base
 * value (sum of the trees' expected values: cover-weighted mean leaf).
 * Every double operation is an explicitly rounded intrinsic on the device
 * (gbdt_math.h PS_D*), so kernel and twin agree bitwise. The twin runs
 * Algorithm 2's recursion itself (a path's operations done once for all
 * the leaves below it: the same operations, so the same bits), keeps each
 * leaf's contributions and adds them in leaf order, as the kernel does. */
#ifndef PS_GBDT_SHAP_CPU_H
#define PS_GBDT_SHAP_CPU_H
#include <stdint.h>

#include "gbdt/gbdt_cat.h"
#include "gbdt/gbdt_cpu.h"
#include "gbdt/gbdt_math.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PS_SHAP_MAX_DEPTH 64 /* the kernel's longest root-to-leaf path (deeper forests: the twin) */

/* Every leaf's root-to-leaf path, the same for every row (ps_gbdt_shap_paths). */
typedef struct {
  int32_t max_depth;  /* the longest path (internal nodes) */
  int64_t npath;      /* entries over all leaves */
  int64_t *path_off;  /* [leaves+1] leaf l's entries [path_off[l], path_off[l+1]), root first */
  int64_t *node;      /* [npath] the internal node (global index into the forest's arrays) */
  uint8_t *go_left;   /* [npath] the path goes left there */
  double *zero;       /* [npath] cover(child on the path) / cover(node) */
  double *expected;   /* [ntrees] each tree's expected value: sum over leaves of cover / root cover * value */
  double *edge_zero;  /* [nodes][2] cover(left child) / cover(node), cover(right child) / cover(node): the
                         twin's recursion (host only) */
} ps_shap_paths_t;

/* One element of the unique path (Algorithm 2's m); pw: see ps_shap_extend. */
typedef struct {
  int32_t feature;
  double zero, one, pw;
} ps_shap_elem_t;

#if defined(__CUDACC__)
#define PS_SHD static __host__ __device__ __forceinline__
#else
#define PS_SHD static inline
#endif

/* The unique path p[0..d] in Fast TreeSHAP v1's form (Yang 2021,
 * "Fast TreeSHAP: Accelerating SHAP Value Computation for Trees"): every
 * one fraction is 0 or 1, so Algorithm 2's permutation weights are those
 * of the h + 1 elements of one fraction 1 (the root among them), kept in
 * p[0..h].pw, times r, the product of the other ("cold") elements' zero
 * fractions. Extend the path p[0..d-1] by element d (the empty path: h =
 * -1, r = 1). */
PS_SHD void ps_shap_extend(ps_shap_elem_t *p, int d, int *h, double *r, double zero, double one, int32_t feature) {
  p[d].feature = feature;
  p[d].zero = zero;
  p[d].one = one;
  const double d1 = (double)(d + 1);
  if (one != 0) {
    const int k = ++*h;
    p[k].pw = k == 0 ? 1.0 : 0.0;
    for (int i = k - 1; i >= 0; i--) {
      p[i + 1].pw = PS_DADD(p[i + 1].pw, PS_DDIV(PS_DMUL(p[i].pw, (double)(i + 1)), d1));
      p[i].pw = PS_DDIV(PS_DMUL(PS_DMUL(zero, p[i].pw), (double)(d - i)), d1);
    }
  } else {
    for (int i = *h; i >= 0; i--) p[i].pw = PS_DDIV(PS_DMUL(p[i].pw, (double)(d - i)), d1);
    *r = PS_DMUL(*r, zero);
  }
}

/* Undo element k of the path p[0..d] (it becomes p[0..d-1]). */
PS_SHD void ps_shap_unwind(ps_shap_elem_t *p, int d, int *h, double *r, int k) {
  const double zero = p[k].zero, d1 = (double)(d + 1);
  if (p[k].one != 0) {
    double next = p[*h].pw;
    for (int i = *h - 1; i >= 0; i--) {
      const double tmp = p[i].pw;
      p[i].pw = PS_DDIV(PS_DMUL(next, d1), (double)(i + 1));
      next = PS_DSUB(tmp, PS_DDIV(PS_DMUL(PS_DMUL(p[i].pw, zero), (double)(d - i)), d1));
    }
    --*h;
  } else {
    for (int i = *h; i >= 0; i--) p[i].pw = PS_DDIV(PS_DMUL(p[i].pw, d1), (double)(d - i));
    *r = PS_DDIV(*r, zero);
  }
  for (int i = k; i < d; i++) {
    p[i].feature = p[i + 1].feature;
    p[i].zero = p[i + 1].zero;
    p[i].one = p[i + 1].one;
  }
}

/* At a node splitting on feature j: undo the path's earlier element of j,
 * if any (the node redoes it), its fractions into *iz, *io (else 1, 1);
 * returns the path's new last index. */
PS_SHD int ps_shap_unwind_feature(ps_shap_elem_t *p, int d, int *h, double *r, int32_t j, double *iz, double *io) {
  *iz = 1.0;
  *io = 1.0;
  for (int k = 1; k <= d; k++)
    if (p[k].feature == j) {
      *iz = p[k].zero;
      *io = p[k].one;
      ps_shap_unwind(p, d, h, r, k);
      return d - 1;
    }
  return d;
}

/* At a leaf: the contribution per unit of leaf value of every cold element
 * of the path (the same for all of them: -r times their unwound sum with
 * their zero fraction factored out), 0 when there is none. */
PS_SHD double ps_shap_cold(const ps_shap_elem_t *p, int d, int h, double r) {
  if (d == h) return 0.0;
  double total = 0.0;
  for (int i = h; i >= 0; i--) total = PS_DADD(total, PS_DDIV(p[i].pw, (double)(d - i)));
  return -PS_DMUL(PS_DMUL(total, (double)(d + 1)), r);
}

/* At a leaf: element k's contribution per unit of leaf value (cold: ps_shap_cold's). */
PS_SHD double ps_shap_scale(const ps_shap_elem_t *p, int d, int h, double r, int k, double cold) {
  if (p[k].one == 0) return cold;
  const double zero = p[k].zero;
  double next = p[h].pw, total = 0.0;
  for (int i = h - 1; i >= 0; i--) {
    const double tmp = PS_DDIV(next, (double)(i + 1));
    total = PS_DADD(total, tmp);
    next = PS_DSUB(p[i].pw, PS_DMUL(PS_DMUL(tmp, zero), (double)(d - i)));
  }
  return PS_DMUL(PS_DMUL(PS_DMUL(total, (double)(d + 1)), r), PS_DSUB(1.0, zero));
}

/* phi[feature] += leaf `leaf`'s part of row x's contributions (the path
 * entries [e0, e1)); p: scratch of e1 - e0 + 1 elements. */
PS_SHD void ps_shap_leaf(const ps_forest_view_t *fo, const ps_shap_paths_t *ps, int64_t e0, int64_t e1, double value,
                         const float *x, ps_shap_elem_t *p, double *phi) {
  int d = 0, h = -1;
  double r = 1.0;
  ps_shap_extend(p, 0, &h, &r, 1.0, 1.0, -1);
  for (int64_t e = e0; e < e1; e++) {
    const int64_t q = ps->node[e];
    const int32_t j = fo->feature[q];
    const int hot = ps_gbdt_node_left_raw(fo, q, x[j]) == (int)ps->go_left[e];
    double iz, io;
    d = ps_shap_unwind_feature(p, d, &h, &r, j, &iz, &io) + 1;
    ps_shap_extend(p, d, &h, &r, PS_DMUL(ps->zero[e], iz), hot ? io : 0.0, j);
  }
  const double cold = ps_shap_cold(p, d, h, r);
  for (int k = 1; k <= d; k++)
    phi[p[k].feature] = PS_DADD(phi[p[k].feature], PS_DMUL(ps_shap_scale(p, d, h, r, k, cold), value));
}

/* phi [f] += row x's contributions over every tree, trees and leaves in order. */
PS_SHD void ps_shap_row(const ps_forest_view_t *fo, const ps_shap_paths_t *ps, const float *x, ps_shap_elem_t *p,
                        double *phi) {
  for (int32_t t = 0; t < fo->ntrees; t++) {
    if (fo->node_off[t + 1] == fo->node_off[t]) continue; /* a single leaf: no contributions */
    for (int64_t l = fo->leaf_off[t]; l < fo->leaf_off[t + 1]; l++)
      ps_shap_leaf(fo, ps, ps->path_off[l], ps->path_off[l + 1], fo->leaf_value[l], x, p, phi);
  }
}

/* The paths of a forest whose leaf l covers leaf_count[l] training rows.
 * Returns 0, or -1 when a leaf covers no rows (its zero fraction would be 0). */
int ps_gbdt_shap_paths(const ps_forest_view_t *fo, const int64_t *leaf_count, ps_shap_paths_t *ps);
void ps_gbdt_shap_paths_free(ps_shap_paths_t *ps);
/* The base value: init + the trees' expected values, in order. */
double ps_gbdt_shap_base(const ps_shap_paths_t *ps, int32_t ntrees, double init);
/* phi [n][f] += the contributions of rows X [n][f] (trees in order). */
void ps_gbdt_shap_cpu(const ps_forest_view_t *fo, const ps_shap_paths_t *ps, const float *X, int64_t n, int64_t f,
                      double *phi);

#ifdef __cplusplus
}
#endif
#endif
