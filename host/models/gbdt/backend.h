/* backend.h: the compute contract of the trees -- what grow.c asks of a
 * device: resident binned rows, the row partition of the tree being grown
 * (leaf -> its rows), a leaf's local histogram, a split of a leaf's rows,
 * and the leaves' values added to the rows' scores; optionally the binning
 * of raw rows and the split search. The CPU backend runs the CPU twins of
 * kernels/gbdt (backend_cpu.c); the CUDA backend the kernels, rows resident
 * on the device (backend_cuda.c). Both give the same bits. Never sees MPI:
 * histograms are summed across ranks by the caller. */
#ifndef PS_GBDT_BACKEND_H
#define PS_GBDT_BACKEND_H
#include <stdint.h>

#include "gbdt/gbdt_cpu.h"
#include "gbdt/gbdt_sparse_cpu.h"
#include "gbdt/leafhist.h"
#include "models/gbdt/bundle.h"

typedef struct ps_gbdt_backend ps_gbdt_backend_t;
/* A leaf to search on the device (dh_search): its sums over all ranks, and
 * the units of a quantized histogram. */
typedef struct {
  int leaf;
  int64_t G, H, N;
  ps_split_q_t q;
} ps_dh_query_t;
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
  /* Optional (NULL: the caller runs the CPU twin). B [n][f] = the bins of
   * raw rows X [n][f] (host pointers; cut points as in binning.h). */
  void (*bin)(ps_gbdt_backend_t *b, const float *X, int64_t n, int64_t f, const float *cuts, const int64_t *cut_off,
              uint8_t *B);
  /* Optional: the best split of a leaf from its all-rank histogram (host). */
  void (*find_split)(ps_gbdt_backend_t *b, const int64_t *hist, const uint8_t *use, int64_t G, int64_t H, int64_t N,
                     const ps_split_params_t *p, ps_split_t *best);
  /* Optional, quantized gradients (--grad-bits; NULL: not supported): the
   * tree's packed (qg, qh) of every row (gbdt_math.h) after begin_tree, Q
   * their bound; a leaf's local int64 [total_bins][2] (sum qg, sum qh),
   * overwritten; a leaf's local rows; every leaf's local exact sums
   * (sum gq, sum hq) into sums [nleaves][2] for the refit of the values. */
  void (*set_quant)(ps_gbdt_backend_t *b, const int32_t *gh, int32_t qmax);
  void (*hist_q)(ps_gbdt_backend_t *b, int leaf, int64_t *hist);
  int64_t (*leaf_rows)(ps_gbdt_backend_t *b, int leaf);
  void (*leaf_sums)(ps_gbdt_backend_t *b, int nleaves, int64_t *sums);
  void (*destroy)(ps_gbdt_backend_t *b);
  /* Device memory this rank may use (bytes; 0: a host backend) and the most
   * it holds at once: binning blocks of bin_rows raw rows (bin), then what
   * set_rows needs for n rows (set_rows frees the binning buffers first). */
  int64_t device_memory;
  int64_t (*device_bytes)(int64_t n, int64_t f, int64_t total_bins, int max_leaves, int64_t bin_rows);
  void *impl;
  /* Optional (NULL: no categorical splits on this backend): split a leaf's
   * rows by a category set on bins (gbdt/gbdt_cat.h), like split. */
  void (*split_set)(ps_gbdt_backend_t *b, int leaf, int right, int32_t feature, const uint8_t *set);
  /* Optional (NULL: histograms over the feature columns): the training
   * rows' bundle columns Bb [n][bd->nb] (bundle.h), kept, not copied; hist
   * and hist_q then read them and return the same per-feature histograms. */
  void (*set_bundles)(ps_gbdt_backend_t *b, const ps_bundles_t *bd, const uint8_t *Bb);
  /* Optional (NULL: dense rows only): the training rows as sparse bins
   * (gbdt/gbdt_sparse_cpu.h; set_rows had B NULL), kept, not copied; hist,
   * hist_q and split then read them. */
  void (*set_sparse)(ps_gbdt_backend_t *b, const ps_gbdt_sparse_t *sp);
  /* Optional (NULL: grow.c sums, subtracts and searches the histograms on
   * the host; issue 28): a leaf's ALL-RANK histogram kept on the device --
   * built there, summed across ranks there (NCCL on device memory, else a
   * host copy and MPI), the larger child's by subtraction there, the split
   * searched there over every feature (so every rank finds the serial
   * search's split: nothing to exchange) -- only a split's numbers come
   * back. dh_root: a new tree (every kept histogram dropped), the root's
   * histogram (quant: (qg, qh) pairs, hist_q's), sums [3] += the all-rank
   * sums of feature 0's bins; dh_children: leaf splits into itself and
   * right, the smaller child's built, the larger the parent's minus it
   * while the parent's is kept (returns 1), else built too (0); dh_search:
   * best[i] = ps_gbdt_split_cpu's best of leaf qs[i].leaf's histogram (n <=
   * 2: both children, one copy back; quant: read in qs[i].q's units, as
   * grow.c's search); dh_drop: a leaf's histogram freed. */
  void (*dh_root)(ps_gbdt_backend_t *b, int quant, int64_t *sums);
  int (*dh_children)(ps_gbdt_backend_t *b, int leaf, int right, int small);
  void (*dh_search)(ps_gbdt_backend_t *b, int n, const ps_dh_query_t *qs, const uint8_t *use,
                    const ps_split_params_t *p, int quant, ps_split_t *best);
  void (*dh_drop)(ps_gbdt_backend_t *b, int leaf);
  /* Optional with dh_* (NULL: a tree with categorical features takes the
   * host path): dh_cat: the categorical features (cat [f] != 0: a bin per
   * code, categorical.h; NULL or none: numeric only); dh_search then
   * searches their category sets too (gbdt/split_cat_cpu.h: categorical.c's
   * search, the host's rule between a numeric and a set winner); dh_set:
   * query i's winner's set of the last dh_search (PS_GBDT_CAT_BYTES),
   * already on the host. */
  void (*dh_cat)(ps_gbdt_backend_t *b, const uint8_t *cat);
  void (*dh_set)(ps_gbdt_backend_t *b, int i, uint8_t *set);

  /* Optional (with set_sparse on a device backend): device_bytes for n
   * sparse rows holding `kept` bins off their zero bins. */
  int64_t (*device_bytes_sparse)(int64_t n, int64_t kept, int64_t f, int64_t total_bins, int max_leaves);

  /* Optional (NULL: the caller computes the gradients on the host and
   * begin_tree uploads them; issue 28): the training rows' scores and a
   * head's labels kept on the device. set_scores: z [n] and the head's
   * labels y [i * ystride] up (a new head, or scores changed on the host);
   * add_leaves then adds to the device's scores only, of every training
   * row (a bagged tree's rows out of the bag too: its splits replayed on
   * them), its score argument untouched: the leaf numbers never leave the
   * device; get_scores brings the scores down when the host needs them.
   * grad: the tree's
   * ps_gbdt_grad_q_cpu there (gq, hq stay there for begin_tree_dev, hist
   * and leaf_sums): returns the loss sum over ALL ranks, top[2] the maxima
   * over all ranks (comm's device collectives: NCCL when on, else MPI).
   * begin_tree_dev: begin_tree over those gradients. quant: set_quant's
   * packed words made there (ps_gbdt_quant_cpu; ids [n] up once). */
  void (*set_scores)(ps_gbdt_backend_t *b, const double *z, const uint8_t *y, int64_t ystride);
  int64_t (*grad)(ps_gbdt_backend_t *b, double w_pos, double w_neg, double scale, int64_t top[2]);
  void (*begin_tree_dev)(ps_gbdt_backend_t *b, const uint8_t *bag);
  void (*quant)(ps_gbdt_backend_t *b, const int64_t *ids, uint64_t seed, uint64_t key, int64_t sg, int64_t sh,
                int32_t qmax);
  /* With set_scores: the device's training scores into z [n] (host). */
  void (*get_scores)(ps_gbdt_backend_t *b, double *z);

  /* Host bytes this rank's optional copies may take (-1: no limit; fit.c
   * sets it before set_rows: --host-mem-limit less the binned rows and the
   * bundle columns). The CPU backend makes its column copy of the bins (n x
   * f bytes, f <= 128) and its packed 4-bit rows (n x packed bytes) only
   * while they fit; without them the same model, more slowly. */
  int64_t host_room;
};

ps_gbdt_backend_t *gbdt_backend_cpu(void);
#ifdef PROPSCORE_HAVE_CUDA
ps_gbdt_backend_t *gbdt_backend_cuda(void);
/* Scoring raw rows on the device (backend_cuda.c): every head's forest
 * uploaded once; z [k][n] = init[h] + the forest's value (the CPU twin's
 * bits). */
typedef struct gbdt_cuda_scorer gbdt_cuda_scorer_t;
gbdt_cuda_scorer_t *gbdt_cuda_scorer_create(const ps_forest_view_t *heads, int k);
void gbdt_cuda_scorer_predict(gbdt_cuda_scorer_t *c, const float *X, int64_t n, int64_t f, const double *init,
                              double *z);
void gbdt_cuda_scorer_destroy(gbdt_cuda_scorer_t *c);
/* The same for CSR rows (host ptr [n+1], idx, val as scorer.h's
 * predict_csr): the stored values up, scattered into a tile of rows kept
 * zero on the device (kernels/gbdt/csr_tile.cu) and walked as dense rows:
 * the dense rows' bits; device memory per stored value plus one tile. */
void gbdt_cuda_scorer_predict_csr(gbdt_cuda_scorer_t *c, const int64_t *ptr, const int32_t *idx, const float *val,
                                  int64_t n, int64_t f, const double *init, double *z);
#endif
/* The backend for --device (collective): cuda when chosen (device.h). */
ps_gbdt_backend_t *gbdt_backend_create(const char *device);
#endif
