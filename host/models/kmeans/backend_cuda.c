/* backend_cuda.c: the k-means backend over the CUDA kernels (backend.h):
 * rows resident on the device, each Lloyd pass one fused kernel
 * (assignment + update, kernels/kmeans/assign.cu) whose k*c + k + 1 sums
 * are all that comes back; labels and distances stay on the device and come
 * to the host only when re-seeding asks for them (fetch: the pass again,
 * assignment only, against the same centers). */
#include <cuda_runtime_api.h>
#include <stdlib.h>

#include "common/cuda_check.h"
#include "core/util.h"
#include "kmeans/kmeans_kernels.h"
#include "models/device.h"
#include "models/kmeans/backend.h"

typedef struct {
  cudaStream_t s;
  float *X, *Cf;
  double *cnorm, *d2, *xnorm;
  int32_t *label;
  int64_t *acc, *work, *host_acc; /* host_acc: pinned */
  int k;                          /* of the last step */
} dev_t;

static void step(km_backend_t *b, const float *Cf, const double *cnorm, int k, int32_t *label, double *d2,
                 int64_t *acc) {
  dev_t *d = b->impl;
  size_t kc = (size_t)k * (size_t)b->c, na = kc + (size_t)k + 1;
  (void)label, (void)d2; /* on the device until fetch */
  d->k = k;
  CUDA_CHECK(cudaMemcpyAsync(d->Cf, Cf, sizeof(float) * kc, cudaMemcpyHostToDevice, d->s));
  CUDA_CHECK(cudaMemcpyAsync(d->cnorm, cnorm, sizeof(double) * (size_t)k, cudaMemcpyHostToDevice, d->s));
  CUDA_CHECK(cudaMemsetAsync(d->acc, 0, sizeof(int64_t) * na, d->s));
  km_lloyd_cuda(d->X, d->xnorm, b->n, b->c, d->Cf, d->cnorm, k, d->label, d->d2, 0, d->acc, d->work, d->s);
  CUDA_CHECK(cudaMemcpyAsync(d->host_acc, d->acc, sizeof(int64_t) * na, cudaMemcpyDeviceToHost, d->s));
  CUDA_CHECK(cudaStreamSynchronize(d->s));
  for (size_t i = 0; i < na; i++) acc[i] += d->host_acc[i];
}

static void fetch(km_backend_t *b, int32_t *label, double *d2) {
  dev_t *d = b->impl;
  size_t n = (size_t)b->n;
  km_lloyd_cuda(d->X, d->xnorm, b->n, b->c, d->Cf, d->cnorm, d->k, d->label, d->d2, 1, NULL, NULL, d->s);
  CUDA_CHECK(cudaMemcpyAsync(label, d->label, sizeof(int32_t) * n, cudaMemcpyDeviceToHost, d->s));
  CUDA_CHECK(cudaMemcpyAsync(d2, d->d2, sizeof(double) * n, cudaMemcpyDeviceToHost, d->s));
  CUDA_CHECK(cudaStreamSynchronize(d->s));
}

static void destroy(km_backend_t *b) {
  dev_t *d = b->impl;
  cudaFree(d->X), cudaFree(d->Cf), cudaFree(d->cnorm), cudaFree(d->d2), cudaFree(d->label), cudaFree(d->xnorm);
  cudaFree(d->acc), cudaFree(d->work), cudaFreeHost(d->host_acc);
  cudaStreamDestroy(d->s);
  free(d);
  free(b);
}

km_backend_t *km_backend_cuda(const float *X, int64_t n, int64_t c, int kmax) {
  dev_t *d = ps_calloc(1, sizeof *d);
  size_t nn = (size_t)(n > 0 ? n : 1), kc = (size_t)kmax * (size_t)c;
  /* the node's ranks spread over its GPUs (collective: every rank fits) */
  CUDA_CHECK(cudaSetDevice(device_place()->device));
  /* the partial sums of the largest plan any k <= kmax may take */
  size_t work = 1;
  for (int k = 1; k <= kmax; k++) {
    size_t w = (size_t)km_lloyd_work(n, c, k);
    if (w > work) work = w;
  }
  CUDA_CHECK(cudaStreamCreate(&d->s));
  CUDA_CHECK(cudaMalloc((void **)&d->X, sizeof(float) * nn * (size_t)c));
  CUDA_CHECK(cudaMalloc((void **)&d->Cf, sizeof(float) * kc));
  CUDA_CHECK(cudaMalloc((void **)&d->cnorm, sizeof(double) * (size_t)kmax));
  CUDA_CHECK(cudaMalloc((void **)&d->d2, sizeof(double) * nn));
  CUDA_CHECK(cudaMalloc((void **)&d->label, sizeof(int32_t) * nn));
  CUDA_CHECK(cudaMalloc((void **)&d->xnorm, sizeof(double) * nn));
  CUDA_CHECK(cudaMalloc((void **)&d->acc, sizeof(int64_t) * (kc + (size_t)kmax + 1)));
  CUDA_CHECK(cudaMalloc((void **)&d->work, sizeof(int64_t) * work));
  CUDA_CHECK(cudaMallocHost((void **)&d->host_acc, sizeof(int64_t) * (kc + (size_t)kmax + 1)));
  if (n > 0) CUDA_CHECK(cudaMemcpy(d->X, X, sizeof(float) * (size_t)n * (size_t)c, cudaMemcpyHostToDevice));
  km_norms_cuda(d->X, n, c, d->xnorm, d->s);
  km_backend_t *b = ps_calloc(1, sizeof *b);
  *b = (km_backend_t){.name = "cuda", .X = X, .n = n, .c = c, .kmax = kmax, .impl = d,
                      .step = step, .fetch = fetch, .destroy = destroy};
  return b;
}
