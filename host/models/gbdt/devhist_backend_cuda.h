/* devhist_backend_cuda.h: private to the trees' CUDA backend -- the leaf
 * histograms kept on the device (backend.h's dh_* ops, issue 28): a pool
 * of device histograms, one a leaf while it may still split, the
 * cross-rank sum (comm_allreduce_sum_i64_device: NCCL on device memory,
 * else a pinned host copy and MPI), the subtraction trick (hist_sub.cu)
 * and the split search of the exact or quantized histogram (split.cu;
 * split_cat.cu with categorical features). */
#ifndef PS_GBDT_DEVHIST_BACKEND_CUDA_H
#define PS_GBDT_DEVHIST_BACKEND_CUDA_H
#include <stdint.h>

#include "gbdt/gbdt_cpu.h"
#include "models/gbdt/backend.h"

typedef struct gbdt_devhist gbdt_devhist_t;
typedef struct {
  void *s;                  /* the backend's cudaStream_t */
  int64_t f, total_bins;
  int max_leaves;
  const int64_t *bin_off;   /* host [f+1] (copied) */
  const int64_t *dbin_off;  /* device [f+1] */
  uint8_t *use;             /* device [f]: the tree's features */
  void *swork;              /* device: ps_gbdt_split_work(f) bytes */
  /* a leaf's LOCAL histogram into dst (device [total_bins][quant ? 2 : 3]), queued on s */
  void (*local)(void *ctx, int leaf, int quant, int64_t *dst);
  void *ctx;
} gbdt_devhist_env_t;

gbdt_devhist_t *gbdt_devhist_create(const gbdt_devhist_env_t *env);
void gbdt_devhist_destroy(gbdt_devhist_t *d);
/* backend.h's dh_root, dh_children, dh_search, dh_drop */
void gbdt_devhist_root(gbdt_devhist_t *d, int quant, int64_t *sums);
int gbdt_devhist_children(gbdt_devhist_t *d, int leaf, int right, int small);
void gbdt_devhist_search(gbdt_devhist_t *d, int n, const ps_dh_query_t *qs, const uint8_t *use,
                         const ps_split_params_t *p, int quant, ps_split_t *best);
void gbdt_devhist_drop(gbdt_devhist_t *d, int leaf);
/* backend.h's dh_cat and dh_set: the categorical features (split_cat.cu's search) and a winner's set */
void gbdt_devhist_set_cat(gbdt_devhist_t *d, const uint8_t *cat);
void gbdt_devhist_set(gbdt_devhist_t *d, int i, uint8_t *set);
#endif
