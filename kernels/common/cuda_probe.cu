/* cuda_probe.cu: what CUDA devices this process sees (for `propscore
 * --version`, for choosing a backend and for placing ranks on GPUs);
 * compiled only with PROPSCORE_CUDA. */
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

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

extern "C" int ps_cuda_uuids(unsigned char *uuids, int max) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError(); /* no device is an answer, not an error to carry */
    return 0;
  }
  for (int d = 0; d < count && d < max; d++) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, d) != cudaSuccess) {
      cudaGetLastError();
      memset(&p, 0, sizeof p);
      p.uuid.bytes[0] = (char)(d + 1); /* unknown: a distinct one per index */
    }
    memcpy(uuids + 16 * (size_t)d, p.uuid.bytes, 16);
  }
  return count;
}
