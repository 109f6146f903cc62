/* test_sum_parts.c: the fixed-order reduction kernel (sum_parts.cu) against
 * its CPU twin (sum_parts_cpu.c): the same bits for every length and number
 * of parts (one element, a partial block, many blocks), on a non-blocking
 * stream, twice. Runs on a GPU or on the emulated device (tests/cudasim);
 * exits 77 (ctest: skipped) with "no CUDA device" without one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "common/cuda_check.h"
#include "common/sum_parts.h"
#include "core/rng.h"
#include "core/util.h"

#include "common/test_expect.h"


static void check(size_t len, int parts, cudaStream_t s) {
  double *in = ps_malloc(sizeof(double) * len * (size_t)parts), *want = ps_malloc(sizeof(double) * len);
  double *got = ps_malloc(sizeof(double) * len), *again = ps_malloc(sizeof(double) * len);
  for (size_t i = 0; i < len * (size_t)parts; i++) in[i] = ps_rng_normal(5, (uint64_t)parts, i, len) * 1e3;
  ps_sum_parts_cpu(in, parts, len, want);
  double *din, *dout;
  CUDA_CHECK(cudaMalloc((void **)&din, sizeof(double) * len * (size_t)parts));
  CUDA_CHECK(cudaMalloc((void **)&dout, sizeof(double) * len));
  CUDA_CHECK(cudaMemcpyAsync(din, in, sizeof(double) * len * (size_t)parts, cudaMemcpyHostToDevice, s));
  ps_sum_parts(din, parts, len, dout, s);
  CUDA_CHECK(cudaMemcpyAsync(got, dout, sizeof(double) * len, cudaMemcpyDeviceToHost, s));
  ps_sum_parts(din, parts, len, dout, s);
  CUDA_CHECK(cudaMemcpyAsync(again, dout, sizeof(double) * len, cudaMemcpyDeviceToHost, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
  EXPECT(memcmp(got, want, sizeof(double) * len) == 0, "len %zu, %d parts: not the CPU twin's bits", len, parts);
  EXPECT(memcmp(got, again, sizeof(double) * len) == 0, "len %zu, %d parts: two runs differ", len, parts);
  CUDA_CHECK(cudaFree(din));
  CUDA_CHECK(cudaFree(dout));
  free(in);
  free(want);
  free(got);
  free(again);
}

int main(void) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    printf("no CUDA device: GPU tests skipped\n");
    return 77;
  }
  cudaStream_t s;
  CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  static const size_t lens[] = {1, 31, 255, 256, 257, 1000, 70001};
  static const int parts[] = {1, 2, 3, 7};
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
    for (size_t j = 0; j < sizeof parts / sizeof parts[0]; j++) check(lens[i], parts[j], s);
  ps_sum_parts(NULL, 3, 0, NULL, s); /* nothing to add: no launch */
  CUDA_CHECK(cudaStreamDestroy(s));
  printf("sum_parts: %s: %d failure%s\n", failures ? "FAILED" : "passed", failures, failures == 1 ? "" : "s");
  return failures ? 1 : 0;
}
