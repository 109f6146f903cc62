/* test_device.h — device buffers for the kernel tests: a host array copied
 * up (dev_copy) and a result copied back after the kernels finished (get);
 * a failed CUDA call ends the test with its name. Include once per test file. */
#ifndef PS_TEST_DEVICE_H
#define PS_TEST_DEVICE_H

#include <cuda_runtime_api.h>
#include <stddef.h>

#include "core/util.h"

static void *dev_copy(const void *h, size_t bytes) {
  void *d = NULL;
  if (cudaMalloc(&d, bytes ? bytes : 8) != cudaSuccess) ps_die_local("cudaMalloc failed");
  if (h && bytes && cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice) != cudaSuccess) ps_die_local("cudaMemcpy failed");
  return d;
}

static void get(void *h, const void *d, size_t bytes) {
  if (cudaDeviceSynchronize() != cudaSuccess) ps_die_local("a kernel failed");
  if (bytes && cudaMemcpy(h, d, bytes, cudaMemcpyDeviceToHost) != cudaSuccess) ps_die_local("cudaMemcpy failed");
}

#endif
