/* cuda_pipeline.h (cudasim): the asynchronous-copy primitives of CUDA's
 * cuda_pipeline_primitives.h (cp.async, sm_80+) on the emulated device.
 * __pipeline_memcpy_async copies at once (the emulated lanes run one at a
 * time, so a copy is complete before any later statement of any lane);
 * commit and wait_prior only order. The size and alignment rules of the
 * real instruction are checked: 4, 8 or 16 bytes, both addresses aligned
 * to the size. The kernels still need wait_prior + __syncthreads before
 * reading what other threads copied, as on a GPU. */
#ifndef CUDASIM_CUDA_PIPELINE_H
#define CUDASIM_CUDA_PIPELINE_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

inline void cudasim_pipeline_memcpy_async(const char *file, int line, void *dst, const void *src, size_t size) {
  if ((size != 4 && size != 8 && size != 16) || (uintptr_t)dst % size || (uintptr_t)src % size) {
    fprintf(stderr, "cudasim: %s:%d: __pipeline_memcpy_async of %zu bytes from %p to %p: cp.async copies 4, 8 or 16 "
                    "bytes between addresses aligned to the size\n", file, line, size, src, dst);
    abort();
  }
  memcpy(dst, src, size);
}
#define __pipeline_memcpy_async(dst, src, size) cudasim_pipeline_memcpy_async(__FILE__, __LINE__, (dst), (src), (size))
inline void __pipeline_commit() {}
inline void __pipeline_wait_prior(size_t) {}
#endif
