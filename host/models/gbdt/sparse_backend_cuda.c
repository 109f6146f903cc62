/* sparse_backend_cuda.c: sparse training rows on the device for the trees'
 * CUDA backend (sparse_backend_cuda.h). The kernels give the CPU twins'
 * bits (hist_sparse_cpu.c): integer sums and the same stable partition. */
#include "models/gbdt/sparse_backend_cuda.h"

#include <cuda_runtime_api.h>
#include <stdlib.h>
#include <string.h>

#include "common/cuda_check.h"
#include "core/util.h"
#include "gbdt/hist_sparse.h"

struct gbdt_sparse_dev {
  cudaStream_t st;
  ps_gbdt_sparse_dev_t dv;  /* device views: ptr, bin, bin_off, zbin */
  int64_t *ptr, *tot;       /* device [n+1], [3] */
  uint32_t *bin;            /* device [kept] */
  uint8_t *zbin;            /* device [f] */
  int64_t *bin_off;         /* host [f+1] (the partition's bin ranges) */
  uint8_t *zbin_h;          /* host [f] */
};

static void *up(const void *h, size_t bytes, cudaStream_t st, const char *what) {
  void *p = NULL;
  ps_cuda_malloc(&p, bytes ? bytes : 8, what);
  if (bytes) CUDA_CHECK(cudaMemcpyAsync(p, h, bytes, cudaMemcpyHostToDevice, st));
  return p;
}

gbdt_sparse_dev_t *gbdt_sparse_dev_create(const ps_gbdt_sparse_t *sp, const int64_t *dbin_off, int64_t total_bins,
                                          void *stream) {
  gbdt_sparse_dev_t *d = ps_calloc(1, sizeof *d);
  cudaStream_t st = (cudaStream_t)stream;
  size_t n = (size_t)sp->n, f = (size_t)sp->f, kept = (size_t)sp->ptr[sp->n];
  d->st = st;
  d->ptr = up(sp->ptr, sizeof(int64_t) * (n + 1), st, "the sparse rows");
  d->bin = up(sp->bin, sizeof(uint32_t) * kept, st, "the sparse rows' bins");
  d->zbin = up(sp->zbin, f, st, "the zero bins");
  ps_cuda_malloc((void **)&d->tot, sizeof(int64_t) * PS_HIST_W, "a leaf's totals");
  d->bin_off = ps_malloc(sizeof(int64_t) * (f + 1));
  memcpy(d->bin_off, sp->bin_off, sizeof(int64_t) * (f + 1));
  d->zbin_h = ps_malloc(f + 1);
  memcpy(d->zbin_h, sp->zbin, f);
  d->dv = (ps_gbdt_sparse_dev_t){.ptr = d->ptr, .bin = d->bin, .f = sp->f, .total_bins = total_bins,
                                 .bin_off = dbin_off, .zbin = d->zbin};
  CUDA_CHECK(cudaStreamSynchronize(st)); /* the host arrays may go before the copies ran */
  return d;
}

void gbdt_sparse_dev_destroy(gbdt_sparse_dev_t *d) {
  if (!d) return;
  CUDA_CHECK(cudaFree(d->ptr));
  CUDA_CHECK(cudaFree(d->bin));
  CUDA_CHECK(cudaFree(d->zbin));
  CUDA_CHECK(cudaFree(d->tot));
  free(d->bin_off);
  free(d->zbin_h);
  free(d);
}

void gbdt_sparse_dev_hist(gbdt_sparse_dev_t *d, const int64_t *rows, int64_t m, const int64_t *gq, const int64_t *hq,
                          const int32_t *gh, int64_t *dst) {
  if (gh) ps_gbdt_hist_q_sparse_cuda(&d->dv, rows, m, gh, dst, d->tot, d->st);
  else ps_gbdt_hist_sparse_cuda(&d->dv, rows, m, gq, hq, dst, d->tot, d->st);
}

int64_t gbdt_sparse_dev_split(gbdt_sparse_dev_t *d, int64_t *rows, int64_t m, int32_t feature, int32_t bin,
                              int32_t default_left, int64_t *tmp, void *work) {
  return ps_gbdt_partition_sparse_cuda(d->ptr, d->bin, d->bin_off[feature], d->bin_off[feature + 1],
                                       d->zbin_h[feature], rows, m, bin, default_left, tmp, work, d->st);
}

int64_t gbdt_sparse_dev_bytes(int64_t n, int64_t kept, int64_t f) {
  return 8 * (n + 1) + 4 * kept + f + 8 * PS_HIST_W + ((int64_t)1 << 20);
}
