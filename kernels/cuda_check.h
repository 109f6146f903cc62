/* cuda_check.h: error checks for CUDA, cuBLAS and NCCL calls: file:line, the
 * call, and the library's own message; then the job aborts (CUDA builds only). */
#ifndef PS_CUDA_CHECK_H
#define PS_CUDA_CHECK_H
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <nccl.h>

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
#define NCCL_CHECK(x)                                                                               \
  do {                                                                                              \
    ncclResult_t e_ = (x);                                                                          \
    if (e_ != ncclSuccess && e_ != ncclInProgress)                                                  \
      ps_die_local("%s:%d: %s failed: %s", __FILE__, __LINE__, #x, ncclGetErrorString(e_));         \
  } while (0)
#endif
