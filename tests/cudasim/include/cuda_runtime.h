/* cuda_runtime.h (cudasim): the runtime API and, in C++, the device side of
 * the emulator (cudasim.h: qualifiers, threadIdx & co, __syncthreads,
 * shuffles, atomics, launches). The sim build force-includes it into every
 * .cu file, as nvcc does. */
#ifndef CUDASIM_CUDA_RUNTIME_H
#define CUDASIM_CUDA_RUNTIME_H
#include "cuda_runtime_api.h"
#ifdef __cplusplus
#include "cudasim.h"
#endif
#endif
