/* assign.cu: k-means assignment -- distances through a cuBLAS SGEMM
 * (||x||^2 - 2 x.c + ||c||^2) and a fused argmin kernel, one thread a row.
 * CPU twin: assign_cpu.c (same kmeans_math.h formulas, same tie rule). */
#include <cublas_v2.h>

#include "common/cuda_check.h"
#include "common/launch.h"
#include "kmeans/kmeans_kernels.h"
#include "kmeans/kmeans_math.h"

namespace {

constexpr int THREADS = 256;

__global__ void __launch_bounds__(THREADS) norms_kernel(const float *__restrict__ X, int64_t n, int64_t c,
                                                        double *__restrict__ xnorm) {
  const int64_t stride = (int64_t)gridDim.x * THREADS;
  for (int64_t i = (int64_t)blockIdx.x * THREADS + threadIdx.x; i < n; i += stride) xnorm[i] = km_norm2(X + i * c, c);
}

__global__ void __launch_bounds__(THREADS) argmin_kernel(const double *__restrict__ xnorm, int64_t n,
                                                         const float *__restrict__ G,
                                                         const double *__restrict__ cnorm, int k,
                                                         int32_t *__restrict__ label, double *__restrict__ d2) {
  const int64_t stride = (int64_t)gridDim.x * THREADS;
  for (int64_t i = (int64_t)blockIdx.x * THREADS + threadIdx.x; i < n; i += stride) {
    const float *g = G + i * k;
    double best = km_score(g[0], cnorm[0]);
    int32_t bj = 0;
    for (int j = 1; j < k; j++) {
      double d = km_score(g[j], cnorm[j]);
      if (d < best) {
        best = d;
        bj = j;
      }
    }
    label[i] = bj;
    d2[i] = km_dist2(xnorm[i], best);
  }
}

} // namespace

static unsigned grid_for(int64_t n) {
  unsigned grid = ps_grid_1d((uint64_t)n, THREADS);
  return grid > 132 * 32 ? 132 * 32 : grid;
}

extern "C" void km_norms_cuda(const float *X, int64_t n, int64_t c, double *xnorm, cudaStream_t s) {
  if (n <= 0) return;
  PS_LAUNCH(grid_for(n), THREADS, 0, s, norms_kernel)(X, n, c, xnorm);
  CUDA_CHECK(cudaGetLastError());
}

extern "C" void km_argmin_cuda(const double *xnorm, int64_t n, const float *G, const double *cnorm, int k,
                               int32_t *label, double *d2, cudaStream_t s) {
  if (n <= 0) return;
  PS_LAUNCH(grid_for(n), THREADS, 0, s, argmin_kernel)(xnorm, n, G, cnorm, k, label, d2);
  CUDA_CHECK(cudaGetLastError());
}

extern "C" void km_assign_cuda(void *cublas, const float *X, const double *xnorm, int64_t n, int64_t c,
                               const float *Cf, const double *cnorm, int k, float *G, int32_t *label, double *d2,
                               cudaStream_t s) {
  if (n <= 0) return;
  cublasHandle_t h = (cublasHandle_t)cublas;
  const float one = 1.0f, zero = 0.0f;
  /* row-major G [n][k] = X [n][c] C^T  <=>  column-major G^T (k x n) = C^T' X^T */
  CUBLAS_CHECK(cublasSetStream(h, s));
  CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, k, (int)n, (int)c, &one, Cf, (int)c, X, (int)c, &zero, G, k));
  km_argmin_cuda(xnorm, n, G, cnorm, k, label, d2, s);
}
