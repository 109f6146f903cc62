/* backend.h: the compute contract of the trees -- what grow.c asks of a
 * device: resident binned rows, the row partition of the tree being grown
 * (leaf -> its rows), a leaf's local histogram, a split of a leaf's rows,
 * and the leaves' values added to the rows' scores. The CPU backend runs
 * the CPU twins of kernels/gbdt; a CUDA backend runs the kernels (issue 11).
 * Never sees MPI: histograms are summed across ranks by the caller. */
#ifndef PS_GBDT_BACKEND_H
#define PS_GBDT_BACKEND_H
#include <stdint.h>

typedef struct ps_gbdt_backend ps_gbdt_backend_t;
struct ps_gbdt_backend {
  const char *name;
  /* The training rows' bins B [n][f] (kept, not copied, by the CPU backend). */
  void (*set_rows)(ps_gbdt_backend_t *b, const uint8_t *B, int64_t n, int64_t f, const int64_t *bin_off,
                   int64_t total_bins, int max_leaves);
  /* A new tree: every row's fixed-point gradient and Hessian; the rows with
   * bag[i] != 0 (bag NULL: all) form leaf 0, in order. */
  void (*begin_tree)(ps_gbdt_backend_t *b, const int64_t *gq, const int64_t *hq, const uint8_t *bag);
  /* This rank's histogram of a leaf: int64 [total_bins][3], overwritten. */
  void (*hist)(ps_gbdt_backend_t *b, int leaf, int64_t *hist);
  /* Split a leaf's rows: the left ones stay in `leaf`, the right ones form `right`. */
  void (*split)(ps_gbdt_backend_t *b, int leaf, int right, int32_t feature, int32_t bin, int32_t default_left);
  /* score[i] += value[leaf of row i], for the rows of the tree (nleaves leaves). */
  void (*add_leaves)(ps_gbdt_backend_t *b, int nleaves, const double *value, double *score);
  void (*destroy)(ps_gbdt_backend_t *b);
  void *impl;
};

ps_gbdt_backend_t *gbdt_backend_cpu(void);
/* The backend for --device (collective). */
ps_gbdt_backend_t *gbdt_backend_create(const char *device);
#endif
