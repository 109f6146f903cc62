/* csr_backend_cuda.c: CSR training rows resident on the GPU and the exact
 * pass over them (csr_backend.h); dense standardized rows the same way.
 * Device memory: 12 bytes a stored value, 8 + k a row (dense: 4 bytes a
 * value, k a row), the sums of up to CHUNK_BYTES of grid blocks at a time and
 * the exact words (56 bytes a sum). Every CUDA call is checked. */
#include <cuda_runtime_api.h>
#include <stdlib.h>
#include <string.h>

#include "common/cuda_check.h"
#include "core/util.h"
#include "core/xsum.h"
#include "logreg/logreg_csr_kernels.h"
#include "models/logreg/csr_backend.h"

#define CHUNK_BYTES ((size_t)64 << 20) /* block sums on the device at a time */

struct csr_dev {
  cudaStream_t s;
  int64_t c, nb, V, chunk;
  int k, dense; /* dense: val holds rows [n][c] (no ptr, idx) */
  int64_t *ptr, *blk, *acc, *acc_host;
  int32_t *idx;
  float *val;
  uint8_t *Y;
  double *theta, *w_pos, *w_neg, *out;
};

static void *up(cudaStream_t s, const void *src, size_t bytes, const char *what) {
  void *p = NULL;
  ps_cuda_malloc(&p, bytes, what);
  if (bytes) CUDA_CHECK(cudaMemcpyAsync(p, src, bytes, cudaMemcpyHostToDevice, s));
  return p;
}

/* Row offsets of the non-empty grid blocks of the training rows: [nb + 1]. */
static int64_t *grid_offsets(const ps_trainset_t *ts, int64_t *nb) {
  int64_t *o = ps_malloc(sizeof(int64_t) * (size_t)(ts->n_grid + 1)), row = 0, n = 0;
  o[0] = 0;
  for (int64_t g = 0; g < ts->n_grid; g++) {
    if (ts->grid_ntr[g] == 0) continue;
    if (ts->grid_ntr[g] > PS_CSR_BLOCK_MAX)
      ps_die_local("train: a grid block of %d training rows [%s:%d]", ts->grid_ntr[g], __FILE__, __LINE__);
    row += ts->grid_ntr[g];
    o[++n] = row;
  }
  *nb = n;
  return o;
}

/* What both layouts upload alike: grid blocks, labels, class weights, parameter and sum buffers. */
static csr_dev_t *dev_common(const ps_trainset_t *ts, int64_t n, const double *w_pos, const double *w_neg,
                             const char *what) {
  csr_dev_t *d = ps_calloc(1, sizeof *d);
  d->c = ts->c;
  d->k = ts->k;
  d->V = d->k + d->k * (d->c + 1);
  if (d->k > PS_CSR_KMAX) ps_die_local("train --device cuda: %s take at most %d heads", what, PS_CSR_KMAX);
  CUDA_CHECK(cudaStreamCreateWithFlags(&d->s, cudaStreamNonBlocking));
  int64_t *off = grid_offsets(ts, &d->nb);
  d->blk = up(d->s, off, sizeof(int64_t) * (size_t)(d->nb + 1), "grid blocks");
  d->Y = up(d->s, ts->Ytr, (size_t)n * (size_t)d->k, "labels");
  d->w_pos = up(d->s, w_pos, sizeof(double) * (size_t)d->k, "class weights");
  d->w_neg = up(d->s, w_neg, sizeof(double) * (size_t)d->k, "class weights");
  ps_cuda_malloc((void **)&d->theta, sizeof(double) * (size_t)d->V, "parameters");
  d->chunk = (int64_t)(CHUNK_BYTES / (sizeof(double) * (size_t)d->V));
  if (d->chunk < 1) d->chunk = 1;
  if (d->chunk > d->nb) d->chunk = d->nb > 0 ? d->nb : 1;
  ps_cuda_malloc((void **)&d->out, sizeof(double) * (size_t)(d->chunk * d->V), "block sums");
  ps_cuda_malloc((void **)&d->acc, sizeof(int64_t) * (size_t)(d->V * PS_XS_WORDS), "exact sums");
  d->acc_host = ps_malloc(sizeof(int64_t) * (size_t)(d->V * PS_XS_WORDS));
  CUDA_CHECK(cudaStreamSynchronize(d->s));
  free(off);
  return d;
}

csr_dev_t *csr_dev_create(const ps_trainset_t *ts, const double *w_pos, const double *w_neg) {
  const ps_csr_block_t *t = &ts->tr;
  csr_dev_t *d = dev_common(ts, t->n, w_pos, w_neg, "CSR rows");
  d->ptr = up(d->s, t->ptr, sizeof(int64_t) * (size_t)(t->n + 1), "CSR row pointers");
  d->idx = up(d->s, t->idx, sizeof(int32_t) * (size_t)t->nnz, "CSR column indices");
  d->val = up(d->s, t->val, sizeof(float) * (size_t)t->nnz, "CSR values");
  CUDA_CHECK(cudaStreamSynchronize(d->s));
  ps_log("train: CSR rows on the GPU: %lld stored values in %lld grid blocks (%.1f MB)", (long long)t->nnz,
         (long long)d->nb, 1e-6 * (12.0 * (double)t->nnz + (8.0 + d->k) * (double)t->n));
  return d;
}

csr_dev_t *csr_dev_create_dense(const ps_trainset_t *ts, const double *w_pos, const double *w_neg) {
  csr_dev_t *d = dev_common(ts, ts->n_tr, w_pos, w_neg, "exact sums");
  d->dense = 1;
  d->val = up(d->s, ts->Xtr, sizeof(float) * (size_t)ts->n_tr * (size_t)ts->c, "training rows");
  CUDA_CHECK(cudaStreamSynchronize(d->s));
  ps_log("train: rows on the GPU, exact sums: %lld rows x %lld columns in %lld grid blocks (%.1f MB)",
         (long long)ts->n_tr, (long long)ts->c, (long long)d->nb,
         1e-6 * (4.0 * (double)ts->c + (double)d->k) * (double)ts->n_tr);
  return d;
}

void csr_dev_pass_exact(csr_dev_t *d, const double *theta, int64_t *acc) {
  size_t words = (size_t)(d->V * PS_XS_WORDS);
  CUDA_CHECK(cudaMemcpyAsync(d->theta, theta, sizeof(double) * (size_t)(d->k * (d->c + 1)), cudaMemcpyHostToDevice,
                             d->s));
  CUDA_CHECK(cudaMemsetAsync(d->acc, 0, sizeof(int64_t) * words, d->s));
  for (int64_t b0 = 0; b0 < d->nb; b0 += d->chunk) {
    int64_t nb = d->nb - b0 < d->chunk ? d->nb - b0 : d->chunk;
    if (d->dense)
      ps_grad_dense_blocks(d->val, d->Y, d->blk + b0, nb, (int)d->c, d->k, d->theta, d->w_pos, d->w_neg, d->out, d->s);
    else
      ps_grad_csr_blocks(d->ptr, d->idx, d->val, d->Y, d->blk + b0, nb, (int)d->c, d->k, d->theta, d->w_pos,
                         d->w_neg, d->out, d->s);
    ps_xsum_blocks(d->out, nb, d->V, d->acc, d->s);
  }
  CUDA_CHECK(cudaMemcpyAsync(d->acc_host, d->acc, sizeof(int64_t) * words, cudaMemcpyDeviceToHost, d->s));
  CUDA_CHECK(cudaStreamSynchronize(d->s));
  for (size_t i = 0; i < words; i++) acc[i] += d->acc_host[i]; /* carry-save words add as integers */
}

int csr_dev_max_heads(void) { return PS_CSR_KMAX; }

void csr_dev_free(csr_dev_t *d) {
  if (!d) return;
  void *p[] = {d->ptr, d->blk, d->acc, d->idx, d->val, d->Y, d->theta, d->w_pos, d->w_neg, d->out};
  for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) CUDA_CHECK(cudaFree(p[i]));
  CUDA_CHECK(cudaStreamDestroy(d->s));
  free(d->acc_host);
  free(d);
}
