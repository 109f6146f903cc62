/* cuda_check.h: error checks for CUDA and cuBLAS calls: the call, the
 * library's own message and file:line; then the job aborts (CUDA builds
 * only). NCCL's check is private to host/comm/comm_nccl.c. */
#ifndef PS_CUDA_CHECK_H
#define PS_CUDA_CHECK_H
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif
void ps_die_local(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#ifdef __cplusplus
}
#endif

#define CUDA_CHECK(x)                                                                               \
  do {                                                                                              \
    cudaError_t e_ = (x);                                                                           \
    if (e_ != cudaSuccess) ps_die_local("%s:%d: %s failed: %s", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
  } while (0)
#define CUBLAS_CHECK(x)                                                                             \
  do {                                                                                              \
    cublasStatus_t e_ = (x);                                                                        \
    if (e_ != CUBLAS_STATUS_SUCCESS)                                                                \
      ps_die_local("%s:%d: %s failed: %s", __FILE__, __LINE__, #x, cublasGetStatusString(e_));      \
  } while (0)

/* cudaMalloc of `bytes` (at least 8) for `what`; a full device is the
 * user's one-line error (sizes and what is free), any other failure a
 * CUDA_CHECK. */
static inline void ps_cuda_malloc(void **p, size_t bytes, const char *what) {
  cudaError_t e = cudaMalloc(p, bytes ? bytes : 8);
  if (e == cudaErrorMemoryAllocation) {
    size_t fr = 0, tot = 0;
    cudaGetLastError();
    cudaMemGetInfo(&fr, &tot);
    ps_die_local("--device cuda: the GPU is out of memory: %zu bytes for %s (%zu of %zu bytes free)", bytes, what, fr,
                 tot);
  }
  CUDA_CHECK(e);
}
#endif
