/* sum_parts.h: out[i] = sum over r < parts of in[r*len + i], added in r
 * order: the fixed-order reduction behind every deterministic sum (the
 * ranks' vectors in comm, the blocks' partials in the kernels). The CUDA
 * kernel (sum_parts.cu) and its CPU twin (sum_parts_cpu.c) add in the same
 * order and give the same bits. */
#ifndef PS_SUM_PARTS_H
#define PS_SUM_PARTS_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif
void ps_sum_parts_cpu(const double *in, int parts, size_t len, double *out);
#if defined(PROPSCORE_HAVE_CUDA) || defined(__CUDACC__)
#include <cuda_runtime_api.h>
void ps_sum_parts(const double *in, int parts, size_t len, double *out, cudaStream_t s);
#endif
#ifdef __cplusplus
}
#endif
#endif
