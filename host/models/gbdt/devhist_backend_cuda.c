/* devhist_backend_cuda.c: the leaf histograms kept on the device
 * (devhist_backend_cuda.h). A leaf's round trip is then: its local histogram built (hist.cu or
 * hist_q.cu) into its own device buffer, the all-rank sum in place
 * (ncclAllReduce of int64 on the backend's stream when NCCL is on; else
 * down to pinned memory, MPI, back up: the fallback), the larger sibling
 * by hist_sub.cu from the parent's buffer (kept until both children
 * exist), the split search from the buffer; only the ps_split_t comes
 * back (with categorical features, split_cat.cu's search: and the
 * winner's 32-byte category set, in the same copy). Every value is an
 * exact integer sum, so the bits are the host path's (grow.c) whichever
 * transport summed them. */
#include "models/gbdt/devhist_backend_cuda.h"

#include <cuda_runtime_api.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "common/cuda_check.h"
#include "core/util.h"
#include "gbdt/gbdt_cat.h"
#include "gbdt/gbdt_kernels.h"
#include "gbdt/leafhist_kernels.h"
#include "gbdt/split_cat.h"

struct gbdt_devhist {
  gbdt_devhist_env_t e;
  cudaStream_t s;       /* e.s */
  int64_t *bin_off;     /* host [f+1] */
  int64_t **slot;       /* [max_leaves + 1]: a leaf's all-rank histogram, or NULL */
  int64_t **pool;       /* free device histograms */
  int npool, quant;
  size_t len;           /* int64 values of a histogram: total_bins * (quant ? 2 : 3) */
  int64_t *host;        /* pinned [total_bins][3]: the fallback's copy, feature 0's bins */
  uint8_t *use_h;       /* [f]: the mask on the device (use_set: one was uploaded) */
  int use_set;
  ps_split_t *dbest, *hbest; /* [2] device, pinned: the searched leaves' splits, then their sets (OUT_BYTES) */
  uint8_t *cat_h, *cat_d;    /* [f] host, device: the categorical features (set_cat; NULL: none) */
  void *cwork;               /* device: ps_gbdt_split_cat_work(f) bytes */
};

/* the search's output: 2 splits, then 2 category sets */
#define OUT_BYTES (2 * sizeof(ps_split_t) + 2 * PS_GBDT_CAT_BYTES)
static uint8_t *out_sets(ps_split_t *out) { return (uint8_t *)(out + 2); }

gbdt_devhist_t *gbdt_devhist_create(const gbdt_devhist_env_t *env) {
  gbdt_devhist_t *d = ps_calloc(1, sizeof *d);
  d->e = *env;
  d->s = (cudaStream_t)env->s;
  size_t L = (size_t)env->max_leaves + 1, tb = (size_t)(env->total_bins > 0 ? env->total_bins : 1);
  d->bin_off = ps_malloc(sizeof(int64_t) * (size_t)(env->f + 1));
  memcpy(d->bin_off, env->bin_off, sizeof(int64_t) * (size_t)(env->f + 1));
  d->e.bin_off = d->bin_off;
  d->slot = ps_calloc(L, sizeof(int64_t *));
  d->pool = ps_calloc(L + 1, sizeof(int64_t *));
  d->use_h = ps_calloc((size_t)env->f + 1, 1);
  CUDA_CHECK(cudaMallocHost((void **)&d->host, sizeof(int64_t) * PS_HIST_W * tb));
  CUDA_CHECK(cudaMallocHost((void **)&d->hbest, OUT_BYTES));
  ps_cuda_malloc((void **)&d->dbest, OUT_BYTES, "the split search");
  return d;
}

void gbdt_devhist_destroy(gbdt_devhist_t *d) {
  if (!d) return;
  for (int i = 0; i <= d->e.max_leaves; i++)
    if (d->slot[i]) CUDA_CHECK(cudaFree(d->slot[i]));
  for (int i = 0; i < d->npool; i++) CUDA_CHECK(cudaFree(d->pool[i]));
  CUDA_CHECK(cudaFreeHost(d->host));
  CUDA_CHECK(cudaFreeHost(d->hbest));
  CUDA_CHECK(cudaFree(d->dbest));
  if (d->cat_d) {
    CUDA_CHECK(cudaFree(d->cat_d));
    CUDA_CHECK(cudaFree(d->cwork));
  }
  free(d->bin_off), free(d->slot), free(d->pool), free(d->use_h), free(d->cat_h);
  free(d);
}

/* A free device histogram (room for the exact layout, so any tree's fits). */
static int64_t *take(gbdt_devhist_t *d) {
  if (d->npool > 0) return d->pool[--d->npool];
  int64_t *p = NULL;
  size_t tb = (size_t)(d->e.total_bins > 0 ? d->e.total_bins : 1);
  ps_cuda_malloc((void **)&p, sizeof(int64_t) * PS_HIST_W * tb, "a leaf histogram");
  return p;
}

void gbdt_devhist_drop(gbdt_devhist_t *d, int leaf) {
  if (!d->slot[leaf]) return;
  d->pool[d->npool++] = d->slot[leaf];
  d->slot[leaf] = NULL;
}

/* leaf's all-rank histogram into its own buffer: built, then summed in
 * place by NCCL or, NCCL off, through pinned host memory by MPI. */
static void build(gbdt_devhist_t *d, int leaf) {
  int64_t *h = d->slot[leaf] = take(d);
  d->e.local(d->e.ctx, leaf, d->quant, h);
  if (d->len == 0 || comm_allreduce_sum_i64_device(h, d->len, d->e.s)) return;
  CUDA_CHECK(cudaMemcpyAsync(d->host, h, sizeof(int64_t) * d->len, cudaMemcpyDeviceToHost, d->s));
  CUDA_CHECK(cudaStreamSynchronize(d->s));
  comm_allreduce_sum_i64(d->host, d->len);
  CUDA_CHECK(cudaMemcpyAsync(h, d->host, sizeof(int64_t) * d->len, cudaMemcpyHostToDevice, d->s));
}

void gbdt_devhist_root(gbdt_devhist_t *d, int quant, int64_t *sums) {
  for (int i = 0; i <= d->e.max_leaves; i++) gbdt_devhist_drop(d, i);
  int w = quant ? 2 : PS_HIST_W;
  d->quant = quant;
  d->len = (size_t)w * (size_t)d->e.total_bins;
  d->use_set = 0;
  build(d, 0);
  size_t n0 = (size_t)w * (size_t)(d->bin_off[1] - d->bin_off[0]); /* every row is in one bin of feature 0 */
  if (d->e.f > 0 && n0 > 0)
    CUDA_CHECK(cudaMemcpyAsync(d->host, d->slot[0] + (size_t)w * (size_t)d->bin_off[0], sizeof(int64_t) * n0,
                               cudaMemcpyDeviceToHost, d->s));
  CUDA_CHECK(cudaStreamSynchronize(d->s));
  for (size_t i = 0; d->e.f > 0 && i < n0; i++) sums[i % (size_t)w] += d->host[i];
}

int gbdt_devhist_children(gbdt_devhist_t *d, int leaf, int right, int small) {
  int large = small == leaf ? right : leaf;
  int64_t *parent = d->slot[leaf];
  d->slot[leaf] = NULL;
  build(d, small);
  if (parent) { /* the larger child: the parent's minus the smaller's, in the parent's buffer */
    ps_gbdt_hist_sub_cuda(parent, d->slot[small], (int64_t)d->len, d->s);
    d->slot[large] = parent;
    return 1;
  }
  build(d, large);
  return 0;
}

void gbdt_devhist_search(gbdt_devhist_t *d, int n, const ps_dh_query_t *qs, const uint8_t *use,
                         const ps_split_params_t *p, int quant, ps_split_t *best) {
  size_t f = (size_t)d->e.f;
  if (use && f > 0 && (!d->use_set || memcmp(d->use_h, use, f) != 0)) { /* the tree's mask goes up once */
    memcpy(d->use_h, use, f);
    CUDA_CHECK(cudaMemcpyAsync(d->e.use, d->use_h, f, cudaMemcpyHostToDevice, d->s));
    CUDA_CHECK(cudaStreamSynchronize(d->s)); /* use_h may change before the copy ran */
    d->use_set = 1;
  }
  const uint8_t *du = use ? d->e.use : NULL;
  for (int i = 0; i < n; i++) { /* one after the other on the stream: they share the work buffer */
    const ps_dh_query_t *x = &qs[i];
    if (d->cat_h && quant)
      ps_gbdt_split_cat_q_cuda(d->slot[x->leaf], d->e.f, d->e.dbin_off, d->cat_d, du, x->G, x->H, x->N, *p, x->q,
                               d->cwork, d->dbest + i, out_sets(d->dbest) + PS_GBDT_CAT_BYTES * i, d->s);
    else if (d->cat_h)
      ps_gbdt_split_cat_cuda(d->slot[x->leaf], d->e.f, d->e.dbin_off, d->cat_d, du, x->G, x->H, x->N, *p, d->cwork,
                             d->dbest + i, out_sets(d->dbest) + PS_GBDT_CAT_BYTES * i, d->s);
    else if (quant)
      ps_gbdt_split_q_cuda(d->slot[x->leaf], d->e.f, d->e.dbin_off, du, x->G, x->H, x->N, *p, x->q, d->e.swork,
                           d->dbest + i, d->s);
    else
      ps_gbdt_split_cuda(d->slot[x->leaf], d->e.f, d->e.dbin_off, du, x->G, x->H, x->N, *p, d->e.swork, d->dbest + i,
                         d->s);
  }
  size_t bytes = d->cat_h ? OUT_BYTES : sizeof(ps_split_t) * (size_t)n; /* the sets in the same copy */
  if (n > 0) CUDA_CHECK(cudaMemcpyAsync(d->hbest, d->dbest, bytes, cudaMemcpyDeviceToHost, d->s));
  CUDA_CHECK(cudaStreamSynchronize(d->s));
  memcpy(best, d->hbest, sizeof(ps_split_t) * (size_t)n);
}

void gbdt_devhist_set_cat(gbdt_devhist_t *d, const uint8_t *cat) {
  size_t f = (size_t)d->e.f;
  int any = 0;
  for (size_t j = 0; cat && j < f; j++) any |= cat[j] != 0;
  if (!any) { /* numeric features only: split.cu's search */
    free(d->cat_h);
    d->cat_h = NULL;
    return;
  }
  if (d->cat_h && memcmp(d->cat_h, cat, f) == 0) return;
  if (!d->cat_d) {
    ps_cuda_malloc((void **)&d->cat_d, f, "the categorical features");
    ps_cuda_malloc(&d->cwork, ps_gbdt_split_cat_work(d->e.f), "the category-set search");
    ps_log("gbdt: categorical features' category sets searched on the device (only the split and its set come back)");
  }
  if (!d->cat_h) d->cat_h = ps_malloc(f);
  memcpy(d->cat_h, cat, f);
  CUDA_CHECK(cudaMemcpyAsync(d->cat_d, d->cat_h, f, cudaMemcpyHostToDevice, d->s));
  CUDA_CHECK(cudaStreamSynchronize(d->s)); /* cat_h may change before the copy ran */
}

void gbdt_devhist_set(gbdt_devhist_t *d, int i, uint8_t *set) {
  memcpy(set, out_sets(d->hbest) + PS_GBDT_CAT_BYTES * i, PS_GBDT_CAT_BYTES);
}
