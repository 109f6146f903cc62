/* scorer_cuda.c: scoring raw rows with the trees on the device (backend.h
 * gbdt_cuda_scorer_*, for `score --device cuda`): every head's forest goes
 * up once; a block of rows goes up once for all heads; the predict kernel
 * adds the trees in order (the CPU twin's bits), the scores come back. */
#include <cuda_runtime_api.h>
#include <nvtx3/nvToolsExt.h>
#include <stdlib.h>

#include "comm/comm.h"
#include "common/cuda_check.h"
#include "core/util.h"
#include "gbdt/gbdt_kernels.h"
#include "models/gbdt/backend.h"

struct gbdt_cuda_scorer {
  cudaStream_t s;
  int k;
  ps_forest_view_t *dev; /* [k] views of device arrays */
  float *X;
  double *z;
  size_t cap; /* rows the buffers hold */
  int64_t f;
};

static void *up(const void *h, size_t bytes, cudaStream_t s) {
  void *d = NULL;
  CUDA_CHECK(cudaMalloc(&d, bytes ? bytes : 8));
  if (bytes) CUDA_CHECK(cudaMemcpyAsync(d, h, bytes, cudaMemcpyHostToDevice, s));
  return d;
}

gbdt_cuda_scorer_t *gbdt_cuda_scorer_create(const ps_forest_view_t *heads, int k) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    cudaGetLastError();
    ps_die_local("--device cuda: no CUDA device visible to rank %d", ps_rank);
  }
  CUDA_CHECK(cudaSetDevice(comm_local_rank() % count));
  gbdt_cuda_scorer_t *c = ps_calloc(1, sizeof *c);
  CUDA_CHECK(cudaStreamCreateWithFlags(&c->s, cudaStreamNonBlocking));
  c->k = k;
  c->dev = ps_calloc((size_t)(k > 0 ? k : 1), sizeof(ps_forest_view_t));
  for (int h = 0; h < k; h++) {
    const ps_forest_view_t *v = &heads[h];
    ps_forest_view_t *d = &c->dev[h];
    size_t nt = (size_t)v->ntrees, nodes = (size_t)v->node_off[nt], leaves = (size_t)v->leaf_off[nt];
    d->ntrees = v->ntrees;
    d->node_off = up(v->node_off, sizeof(int64_t) * (nt + 1), c->s);
    d->leaf_off = up(v->leaf_off, sizeof(int64_t) * (nt + 1), c->s);
    d->feature = up(v->feature, sizeof(int32_t) * nodes, c->s);
    d->threshold = up(v->threshold, sizeof(float) * nodes, c->s);
    d->bin = up(v->bin, nodes, c->s);
    d->default_left = up(v->default_left, nodes, c->s);
    d->left = up(v->left, sizeof(int32_t) * nodes, c->s);
    d->right = up(v->right, sizeof(int32_t) * nodes, c->s);
    d->leaf_value = up(v->leaf_value, sizeof(double) * leaves, c->s);
  }
  CUDA_CHECK(cudaStreamSynchronize(c->s));
  return c;
}

void gbdt_cuda_scorer_predict(gbdt_cuda_scorer_t *c, const float *X, int64_t n, int64_t f, const double *init,
                              double *z) {
  if (n <= 0) return;
  size_t need = (size_t)n;
  if (need > c->cap || f != c->f) {
    if (c->X) CUDA_CHECK(cudaFree(c->X));
    if (c->z) CUDA_CHECK(cudaFree(c->z));
    CUDA_CHECK(cudaMalloc((void **)&c->X, sizeof(float) * need * (size_t)(f > 0 ? f : 1)));
    CUDA_CHECK(cudaMalloc((void **)&c->z, sizeof(double) * need * (size_t)(c->k > 0 ? c->k : 1)));
    c->cap = need;
    c->f = f;
  }
  nvtxRangePushA("score (trees)");
  for (int h = 0; h < c->k; h++) /* the starting scores: init[h] on every row */
    for (int64_t i = 0; i < n; i++) z[(size_t)h * need + (size_t)i] = init[h];
  CUDA_CHECK(cudaMemcpyAsync(c->X, X, sizeof(float) * need * (size_t)f, cudaMemcpyHostToDevice, c->s));
  CUDA_CHECK(cudaMemcpyAsync(c->z, z, sizeof(double) * need * (size_t)c->k, cudaMemcpyHostToDevice, c->s));
  for (int h = 0; h < c->k; h++) ps_gbdt_predict_cuda(&c->dev[h], c->X, n, f, c->z + (size_t)h * need, c->s);
  CUDA_CHECK(cudaMemcpyAsync(z, c->z, sizeof(double) * need * (size_t)c->k, cudaMemcpyDeviceToHost, c->s));
  CUDA_CHECK(cudaStreamSynchronize(c->s));
  nvtxRangePop();
}

void gbdt_cuda_scorer_destroy(gbdt_cuda_scorer_t *c) {
  if (!c) return;
  for (int h = 0; h < c->k; h++) {
    ps_forest_view_t *d = &c->dev[h];
    const void *ps[] = {d->node_off, d->leaf_off, d->feature, d->threshold, d->bin, d->default_left,
                        d->left, d->right, d->leaf_value};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) CUDA_CHECK(cudaFree((void *)ps[i]));
  }
  if (c->X) CUDA_CHECK(cudaFree(c->X));
  if (c->z) CUDA_CHECK(cudaFree(c->z));
  CUDA_CHECK(cudaStreamDestroy(c->s));
  free(c->dev);
  free(c);
}
