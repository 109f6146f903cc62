/* sum_parts.cu: the fixed-order reduction kernel (see sum_parts.h); CPU twin
 * sum_parts_cpu.c. One thread per element, parts added in order. */
#include "common/cuda_check.h"
#include "common/launch.h"
#include "common/sum_parts.h"

namespace {
__global__ void sum_parts_kernel(const double *__restrict__ in, int parts, size_t len, double *__restrict__ out) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= len) return;
  double s = 0.0;
  for (int r = 0; r < parts; r++) s += in[(size_t)r * len + i];
  out[i] = s;
}
} // namespace

extern "C" void ps_sum_parts(const double *in, int parts, size_t len, double *out, cudaStream_t s) {
  if (len == 0) return;
  PS_LAUNCH(ps_grid_1d(len, 256), 256, 0, s, sum_parts_kernel)(in, parts, len, out);
  CUDA_CHECK(cudaGetLastError());
}
