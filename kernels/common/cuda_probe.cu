/* cuda_probe.cu: what CUDA devices this process sees (for `propscore
 * --version` and for choosing a backend); compiled only with PROPSCORE_CUDA. */
#include <cuda_runtime.h>
#include <stdio.h>

#include "common/cuda_probe.h"

extern "C" int ps_cuda_probe(char *desc, size_t n) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    snprintf(desc, n, "no CUDA device (%s)", e != cudaSuccess ? cudaGetErrorString(e) : "none found");
    return 0;
  }
  cudaDeviceProp p;
  if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) {
    snprintf(desc, n, "%d CUDA device(s)", count);
    return count;
  }
  snprintf(desc, n, "%d CUDA device(s); device 0: %s, sm_%d%d, %.1f GiB", count, p.name, p.major, p.minor,
           (double)p.totalGlobalMem / (1 << 30));
  return count;
}
