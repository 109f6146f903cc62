/* gbdt_cpu.h: the CPU twins of the tree kernels (the contracts the CUDA
 * kernels of issue 11 implement too): binning, fixed-point gradients,
 * histograms, split search, row partition, prediction. Per-element rules
 * live in gbdt_math.h. Histograms are int64 [total_bins][PS_HIST_W]; feature
 * j owns bins [bin_off[j], bin_off[j+1]), code 0 of each feature = missing.
 * Every result is an exact function of its inputs (integer sums), so the
 * twins and the kernels agree bitwise. */
#ifndef PS_GBDT_CPU_H
#define PS_GBDT_CPU_H
#include <stddef.h>
#include <stdint.h>

#include "gbdt/gbdt_math.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A forest in flat arrays (every tree's internal nodes one after another;
 * a child < 0 is leaf ~child of the same tree). */
typedef struct {
  int32_t ntrees;
  const int64_t *node_off;   /* [ntrees+1] first internal node of each tree */
  const int64_t *leaf_off;   /* [ntrees+1] first leaf of each tree */
  const int32_t *feature;    /* [nodes] */
  const float *threshold;    /* [nodes] raw value: left if value <= threshold */
  const uint8_t *bin;        /* [nodes] the same test on bins: left if bin <= this */
  const uint8_t *default_left; /* [nodes] where missing values go */
  const int32_t *left, *right; /* [nodes] */
  const double *leaf_value;  /* [leaves] */
  const int32_t *cat;        /* [nodes] category set of a categorical split, -1 numerical (NULL: none; gbdt_cat.h) */
  const uint8_t *cat_set;    /* [sets][PS_GBDT_CAT_BYTES] */
} ps_forest_view_t;

typedef struct {
  double l2;                 /* lambda_l2 */
  int64_t min_data;          /* rows a child needs */
  double min_hess;           /* sum of Hessians a child needs */
  double min_gain;           /* a split must gain more than this */
  double scale;              /* 2^shift of the fixed-point sums */
  /* categorical splits (models/gbdt/categorical.h; train's --cat-smooth ...) */
  double cat_smooth, cat_l2;
  int64_t cat_min_group;
  int32_t cat_onehot, cat_max_set;
} ps_split_params_t;

typedef struct {
  double gain;
  int32_t feature, bin, default_left;
  int64_t lg, lh, ln;        /* the left child's sums (fixed point, rows) */
} ps_split_t;

/* Bins of raw rows X [n][f]: feature j has cuts[cut_off[j] .. cut_off[j+1]). */
void ps_gbdt_bin_cpu(const float *X, int64_t n, int64_t f, const float *cuts, const int64_t *cut_off, uint8_t *B);
/* Fixed-point gradient and Hessian (times scale = 2^shift) of the weighted
 * log-loss for rows [0, n): z = score[i], y = labels[i*ystride], row
 * weight w_pos or w_neg (common/psmath.h formulas; grad_q_cpu.c). Returns
 * the rows' weighted log-loss at z, each row's in fixed point (times 2^24,
 * capped at 64), summed: exact, the same in any order; top[0] = max |gq|,
 * top[1] = max hq over the rows (0 if none). */
int64_t ps_gbdt_grad_q_cpu(const double *score, const uint8_t *y, int64_t ystride, int64_t n, double w_pos,
                           double w_neg, double scale, int64_t *gq, int64_t *hq, int64_t top[2]);
/* --grad-bits: gh[i] = PS_GBDT_QPACK(ps_gbdt_quant(gq[i], sg, u),
 * ps_gbdt_quant(hq[i], sh, ps_mix64(u))), u = ps_rng_u64(seed,
 * PS_GBDT_QUANT_STREAM, ids[i], key) (core/rng.h): the same for any rank
 * count and row order. key: head << 32 | tree. */
#define PS_GBDT_QUANT_STREAM 19
void ps_gbdt_quant_cpu(const int64_t *gq, const int64_t *hq, const int64_t *ids, int64_t n, uint64_t seed,
                       uint64_t key, int64_t sg, int64_t sh, int32_t *gh);
#define PS_GBDT_LOSS_SCALE 16777216.0
/* The unweighted log-loss of rows [0, n) at z = score[i], y =
 * labels[i*ystride], each row's in fixed point as ps_gbdt_grad_q_cpu's
 * (times PS_GBDT_LOSS_SCALE, capped at 64), summed (grad_q_cpu.c). */
int64_t ps_gbdt_loss_q_cpu(const double *score, const uint8_t *y, int64_t ystride, int64_t n);
/* hist += the (g, h, 1) of rows rows[0..m) over every feature (B [n][f]). */
void ps_gbdt_hist_cpu(const uint8_t *B, int64_t f, const int64_t *bin_off, const int64_t *rows, int64_t m,
                      const int64_t *gq, const int64_t *hq, int64_t *hist);
/* Quantized histogram (hist_q_cpu.c): hist int64 [total_bins][2] = the
 * (sum qg, sum qh) of rows rows[0..m), gh [n] packed (PS_GBDT_QPACK),
 * overwritten. The bins accumulate packed pairs of `width` bits
 * (ps_gbdt_hist_q_width of the leaf's rows and Q: 32 = int32 packed
 * pairs, 64 = int64 packed pairs, 128 = two int64), then are widened.
 * work: total_bins * 8 bytes (unused at width 128). */
int ps_gbdt_hist_q_width(int64_t m, int32_t qmax);
void ps_gbdt_hist_q_cpu(const uint8_t *B, int64_t f, const int64_t *bin_off, int64_t total_bins, const int64_t *rows,
                        int64_t m, const int32_t *gh, int width, void *work, int64_t *hist);
/* The best split of a leaf with sums (G, H, N) from its histogram, over the
 * features with use[j] != 0 (use may be NULL: all). Ties go to the lower
 * feature, then the lower bin, then missing right. */
void ps_gbdt_split_cpu(const int64_t *hist, int64_t f, const int64_t *bin_off, const uint8_t *use, int64_t G,
                       int64_t H, int64_t N, const ps_split_params_t *p, ps_split_t *best);
/* Stable partition of rows[0..m) by the split: the left rows first, in
 * order, then the right ones; returns the number of left rows. tmp: m. */
int64_t ps_gbdt_partition_cpu(const uint8_t *B, int64_t f, int64_t *rows, int64_t m, int32_t feature, int32_t bin,
                              int32_t default_left, int64_t *tmp);
/* The rows of a tree: i in [0, n) with bag[i] != 0 (bag NULL: all), in
 * order, into rows; returns their number m. rows [m, n): the others, in
 * order (the CUDA backend adds the tree to them on the device). */
int64_t ps_gbdt_bag_rows_cpu(const uint8_t *bag, int64_t n, int64_t *rows);
/* out[i] += the forest's value for raw rows X [n][f] (trees in order). */
void ps_gbdt_predict_cpu(const ps_forest_view_t *fo, const float *X, int64_t n, int64_t f, double *out);
/* The same for binned rows rows[0..m) of B [.][f]: out[rows[r]] += value. */
void ps_gbdt_predict_bins_cpu(const ps_forest_view_t *fo, int32_t tree, const uint8_t *B, int64_t f,
                              const int64_t *rows, int64_t m, double *out);

/* A forest flattened for the CPU scorer (predict_flat_cpu.c): a node in 16
 * bytes, node and leaf numbers global over the forest. */
typedef struct {
  float threshold;  /* left if value <= threshold */
  uint32_t fdl;     /* feature | default_left << 31 */
  int32_t child[2]; /* left, right: a node, or ~leaf */
} ps_gbdt_node_t;
typedef struct {
  int32_t ntrees;
  const int32_t *root;        /* [ntrees] the root node, or ~leaf (a one-leaf tree) */
  const ps_gbdt_node_t *node; /* [nodes] */
  const double *leaf_value;   /* [leaves] */
} ps_gbdt_flat_t;
/* Does a row x go left at node nd? (The node test of ps_gbdt_left_raw.) */
static inline int ps_gbdt_flat_left(const ps_gbdt_node_t *nd, const float *x) {
  return ps_gbdt_left_raw(x[nd->fdl & 0x7FFFFFFFu], nd->threshold, (int)(nd->fdl >> 31));
}
/* The flat layout of fo into root [ntrees] and node [fo's nodes]; 0, or -1
 * if the forest has 2^31 nodes or leaves or more (then keep the view). */
int ps_gbdt_flatten(const ps_forest_view_t *fo, int32_t *root, ps_gbdt_node_t *node);
/* z [k][n] += every head's forest value for raw rows X [n][f]: rows walked
 * in blocks, every tree of every head over one block before the next, the
 * rows of a block a level at a time (their loads overlap); per row the
 * additions of ps_gbdt_predict_cpu, in its order: the same bits. */
void ps_gbdt_predict_flat_cpu(const ps_gbdt_flat_t *heads, int k, const float *X, int64_t n, int64_t f, double *z);

/* Every head's forest in QuickScorer's form for the CPU scorer
 * (predict_qs_cpu.c): trees of <= 32 leaves, a node = the offset of its
 * feature's column in the transposed block, its threshold and the mask
 * that clears its left subtree's leaves; leaves in left-to-right order. */
#define PS_QS_ROWS 16 /* rows a block: one 512-bit vector of leaf masks */
typedef struct {
  uint32_t x;      /* (2 u + default_left) * PS_QS_ROWS: used feature u, NaN -> -Inf if missing goes left */
  float threshold; /* left if value <= threshold */
  uint32_t mask;   /* ANDed in when the row goes right */
} ps_gbdt_qs_node_t;
typedef struct {
  int k;
  int32_t nu, *feature;       /* the used features [nu] */
  int32_t *ntrees;            /* [k] */
  int64_t trees, nodes, leaves;
  int64_t *node_off, *leaf_off; /* [trees+1] every head's trees one after another */
  ps_gbdt_qs_node_t *node;    /* [nodes] */
  double *leaf;               /* [leaves] each tree's leaf values, left to right */
} ps_gbdt_qs_t;
/* qs from every head's view (rows of f features); 0, or -1 (nothing
 * allocated) if a tree has more than 32 leaves, a categorical split or a
 * NaN threshold: then the flat walk. */
int ps_gbdt_qs_build(const ps_forest_view_t *heads, int k, int64_t f, ps_gbdt_qs_t *qs);
void ps_gbdt_qs_free(ps_gbdt_qs_t *qs);
/* z [k][n] += every head's forest value for raw rows X [n][f]: as
 * ps_gbdt_predict_flat_cpu (the same additions in the same order, the
 * same bits), PS_QS_ROWS rows a block. */
void ps_gbdt_predict_qs_cpu(const ps_gbdt_qs_t *qs, const float *X, int64_t n, int64_t f, double *z);

#ifdef __cplusplus
}
#endif
#endif
