/* update.cu: per-cluster fixed-point sums, counts and inertia of the rows,
 * one thread a row, 64-bit integer atomics (exact in any order). CPU twin:
 * update_cpu.c (same kmeans_math.h quantization). */
#include "common/cuda_check.h"
#include "common/launch.h"
#include "kmeans/kmeans_kernels.h"
#include "kmeans/kmeans_math.h"

namespace {

constexpr int THREADS = 256;

__device__ __forceinline__ void add_i64(int64_t *p, int64_t v) {
  atomicAdd((unsigned long long *)p, (unsigned long long)v); /* two's complement: exact */
}

__global__ void __launch_bounds__(THREADS) update_kernel(const float *__restrict__ X, int64_t n, int64_t c,
                                                         const int32_t *__restrict__ label,
                                                         const double *__restrict__ d2, int64_t *sums,
                                                         int64_t *counts, int64_t *inertia) {
  const int64_t stride = (int64_t)gridDim.x * THREADS;
  for (int64_t i = (int64_t)blockIdx.x * THREADS + threadIdx.x; i < n; i += stride) {
    int32_t l = label[i];
    const float *x = X + i * c;
    int64_t *s = sums + (int64_t)l * c;
    for (int64_t j = 0; j < c; j++) add_i64(s + j, km_fix_x(x[j]));
    add_i64(counts + l, 1);
    if (d2 && inertia) add_i64(inertia, km_fix_d2(d2[i]));
  }
}

} // namespace

extern "C" void km_update_cuda(const float *X, int64_t n, int64_t c, const int32_t *label, const double *d2, int k,
                               int64_t *sums, int64_t *counts, int64_t *inertia, cudaStream_t s) {
  (void)k;
  if (n <= 0) return;
  unsigned grid = ps_grid_1d((uint64_t)n, THREADS);
  if (grid > 132 * 32) grid = 132 * 32;
  PS_LAUNCH(grid, THREADS, 0, s, update_kernel)(X, n, c, label, d2, sums, counts, inertia);
  CUDA_CHECK(cudaGetLastError());
}
