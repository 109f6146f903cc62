/* hist_sub.cu: the subtraction trick on the device -- the parent's
 * histogram minus the smaller child's, in place, giving the larger
 * child's (int64, exact: the twin's bits). Grid-stride, two 64-bit loads
 * and one store an element. CPU twin: hist_sub_cpu.c. */
#include "common/cuda_check.h"
#include "common/launch.h"
#include "gbdt/leafhist_kernels.h"

namespace {

constexpr int THREADS = 256;

__global__ void __launch_bounds__(THREADS) sub_kernel(int64_t *__restrict__ a, const int64_t *__restrict__ b,
                                                      int64_t n) {
#pragma unroll 1 /* no trip count computed: no 64-bit division */
  for (int64_t i = (int64_t)blockIdx.x * THREADS + threadIdx.x; i < n; i += (int64_t)gridDim.x * THREADS)
    a[i] -= b[i];
}

} // namespace

extern "C" void ps_gbdt_hist_sub_cuda(int64_t *a, const int64_t *b, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  uint64_t items = (uint64_t)n < 1024u * THREADS ? (uint64_t)n : 1024u * THREADS; /* at most 1024 blocks, striding */
  PS_LAUNCH(ps_grid_1d(items, THREADS), THREADS, 0, s, sub_kernel)(a, b, n);
  CUDA_CHECK(cudaGetLastError());
}
