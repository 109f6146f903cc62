/* backend_cuda.c: the k-means backend over the CUDA kernels (backend.h):
 * rows resident on the device, assignment by cuBLAS SGEMM + the argmin
 * kernel, sums by the update kernel; labels and distances come back to the
 * host each iteration (empty-cluster re-seeding and the output use them). */
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <stdlib.h>

#include "common/cuda_check.h"
#include "core/util.h"
#include "kmeans/kmeans_kernels.h"
#include "models/device.h"
#include "models/kmeans/backend.h"

typedef struct {
  cudaStream_t s;
  cublasHandle_t h;
  float *X, *G, *Cf;
  double *cnorm, *d2, *xnorm;
  int32_t *label;
  int64_t *acc;
} dev_t;

static void assign(km_backend_t *b, const float *Cf, const double *cnorm, int k, int32_t *label, double *d2) {
  dev_t *d = b->impl;
  size_t kc = (size_t)k * (size_t)b->c, n = (size_t)b->n;
  CUDA_CHECK(cudaMemcpyAsync(d->Cf, Cf, sizeof(float) * kc, cudaMemcpyHostToDevice, d->s));
  CUDA_CHECK(cudaMemcpyAsync(d->cnorm, cnorm, sizeof(double) * (size_t)k, cudaMemcpyHostToDevice, d->s));
  km_assign_cuda(d->h, d->X, d->xnorm, b->n, b->c, d->Cf, d->cnorm, k, d->G, d->label, d->d2, d->s);
  CUDA_CHECK(cudaMemcpyAsync(label, d->label, sizeof(int32_t) * n, cudaMemcpyDeviceToHost, d->s));
  CUDA_CHECK(cudaMemcpyAsync(d2, d->d2, sizeof(double) * n, cudaMemcpyDeviceToHost, d->s));
  CUDA_CHECK(cudaStreamSynchronize(d->s));
}

static void update(km_backend_t *b, const int32_t *label, const double *d2, int k, int64_t *acc) {
  dev_t *d = b->impl;
  size_t kc = (size_t)k * (size_t)b->c, na = kc + (size_t)k + 1;
  (void)label, (void)d2; /* the device copies of the last assignment */
  CUDA_CHECK(cudaMemsetAsync(d->acc, 0, sizeof(int64_t) * na, d->s));
  km_update_cuda(d->X, b->n, b->c, d->label, d->d2, k, d->acc, d->acc + kc, d->acc + kc + k, d->s);
  int64_t *tmp = ps_malloc(sizeof(int64_t) * na);
  CUDA_CHECK(cudaMemcpyAsync(tmp, d->acc, sizeof(int64_t) * na, cudaMemcpyDeviceToHost, d->s));
  CUDA_CHECK(cudaStreamSynchronize(d->s));
  for (size_t i = 0; i < na; i++) acc[i] += tmp[i];
  free(tmp);
}

static void destroy(km_backend_t *b) {
  dev_t *d = b->impl;
  cudaFree(d->X), cudaFree(d->G), cudaFree(d->Cf), cudaFree(d->cnorm), cudaFree(d->d2), cudaFree(d->label), cudaFree(d->xnorm);
  cudaFree(d->acc);
  cublasDestroy(d->h);
  cudaStreamDestroy(d->s);
  free(d);
  free(b);
}

km_backend_t *km_backend_cuda(const float *X, int64_t n, int64_t c, int kmax) {
  dev_t *d = ps_calloc(1, sizeof *d);
  size_t nn = (size_t)(n > 0 ? n : 1), kc = (size_t)kmax * (size_t)c;
  /* the node's ranks spread over its GPUs (collective: every rank fits) */
  CUDA_CHECK(cudaSetDevice(device_place()->device));
  CUDA_CHECK(cudaStreamCreate(&d->s));
  CUBLAS_CHECK(cublasCreate(&d->h));
  CUBLAS_CHECK(cublasSetStream(d->h, d->s));
  CUDA_CHECK(cudaMalloc((void **)&d->X, sizeof(float) * nn * (size_t)c));
  CUDA_CHECK(cudaMalloc((void **)&d->G, sizeof(float) * nn * (size_t)kmax));
  CUDA_CHECK(cudaMalloc((void **)&d->Cf, sizeof(float) * kc));
  CUDA_CHECK(cudaMalloc((void **)&d->cnorm, sizeof(double) * (size_t)kmax));
  CUDA_CHECK(cudaMalloc((void **)&d->d2, sizeof(double) * nn));
  CUDA_CHECK(cudaMalloc((void **)&d->label, sizeof(int32_t) * nn));
  CUDA_CHECK(cudaMalloc((void **)&d->xnorm, sizeof(double) * nn));
  CUDA_CHECK(cudaMalloc((void **)&d->acc, sizeof(int64_t) * (kc + (size_t)kmax + 1)));
  if (n > 0) CUDA_CHECK(cudaMemcpy(d->X, X, sizeof(float) * (size_t)n * (size_t)c, cudaMemcpyHostToDevice));
  km_norms_cuda(d->X, n, c, d->xnorm, d->s);
  km_backend_t *b = ps_calloc(1, sizeof *b);
  *b = (km_backend_t){.name = "cuda", .X = X, .n = n, .c = c, .kmax = kmax, .impl = d,
                      .assign = assign, .update = update, .destroy = destroy};
  return b;
}
