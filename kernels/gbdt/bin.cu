/* bin.cu: the bin code of every value of raw rows on the device, one
 * thread a value (gbdt_math.h ps_gbdt_bin: 0 for NaN, else 1 + the cuts
 * below it). CPU twin: bin_cpu.c. */
#include "common/cuda_check.h"
#include "common/launch.h"
#include "gbdt/gbdt_kernels.h"
#include "gbdt/gbdt_math.h"

namespace {

constexpr int THREADS = 256;

__global__ void __launch_bounds__(THREADS) bin_kernel(const float *__restrict__ X, int64_t total, int64_t f,
                                                      const float *__restrict__ cuts,
                                                      const int64_t *__restrict__ cut_off, uint8_t *B) {
  const int64_t stride = (int64_t)gridDim.x * THREADS;
  for (int64_t e = (int64_t)blockIdx.x * THREADS + threadIdx.x; e < total; e += stride) {
    int64_t j = e % f, c0 = cut_off[j];
    B[e] = (uint8_t)ps_gbdt_bin(X[e], cuts + c0, (int)(cut_off[j + 1] - c0));
  }
}

} // namespace

extern "C" void ps_gbdt_bin_cuda(const float *X, int64_t n, int64_t f, const float *cuts, const int64_t *cut_off,
                                 uint8_t *B, cudaStream_t s) {
  if (n <= 0 || f <= 0) return;
  unsigned grid = ps_grid_1d((uint64_t)(n * f), THREADS);
  if (grid > 132 * 64) grid = 132 * 64;
  PS_LAUNCH(grid, THREADS, 0, s, bin_kernel)(X, n * f, f, cuts, cut_off, B);
  CUDA_CHECK(cudaGetLastError());
}
