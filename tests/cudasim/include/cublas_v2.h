/* cublas_v2.h (cudasim): the cuBLAS calls propscore makes, emulated with
 * OpenBLAS (src/cublas.cc) with cuBLAS's column-major semantics, its
 * argument checks and stream order. Scalars are host pointers (cuBLAS's
 * default pointer mode). The BLAS calls carry their call site (macros). */
#ifndef CUDASIM_CUBLAS_V2_H
#define CUDASIM_CUBLAS_V2_H
#include "cuda_runtime_api.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  CUBLAS_STATUS_SUCCESS = 0,
  CUBLAS_STATUS_NOT_INITIALIZED = 1,
  CUBLAS_STATUS_ALLOC_FAILED = 3,
  CUBLAS_STATUS_INVALID_VALUE = 7,
  CUBLAS_STATUS_ARCH_MISMATCH = 8,
  CUBLAS_STATUS_MAPPING_ERROR = 11,
  CUBLAS_STATUS_EXECUTION_FAILED = 13,
  CUBLAS_STATUS_INTERNAL_ERROR = 14,
  CUBLAS_STATUS_NOT_SUPPORTED = 15
} cublasStatus_t;

typedef enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_OP_C = 2 } cublasOperation_t;
typedef enum { CUBLAS_FILL_MODE_LOWER = 0, CUBLAS_FILL_MODE_UPPER = 1, CUBLAS_FILL_MODE_FULL = 2 } cublasFillMode_t;
typedef enum { CUBLAS_ATOMICS_NOT_ALLOWED = 0, CUBLAS_ATOMICS_ALLOWED = 1 } cublasAtomicsMode_t;

typedef struct cublasContext *cublasHandle_t;

cublasStatus_t cublasCreate(cublasHandle_t *handle);
cublasStatus_t cublasDestroy(cublasHandle_t handle);
cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream);
cublasStatus_t cublasGetStream(cublasHandle_t handle, cudaStream_t *stream);
cublasStatus_t cublasSetAtomicsMode(cublasHandle_t handle, cublasAtomicsMode_t mode);
cublasStatus_t cublasGetAtomicsMode(cublasHandle_t handle, cublasAtomicsMode_t *mode);
const char *cublasGetStatusString(cublasStatus_t status);
const char *cublasGetStatusName(cublasStatus_t status);

cublasStatus_t cudasim_cublasDgemm(const char *file, int line, cublasHandle_t handle, cublasOperation_t transa,
                                   cublasOperation_t transb, int m, int n, int k, const double *alpha, const double *A,
                                   int lda, const double *B, int ldb, const double *beta, double *C, int ldc);
cublasStatus_t cudasim_cublasSgemm(const char *file, int line, cublasHandle_t handle, cublasOperation_t transa,
                                   cublasOperation_t transb, int m, int n, int k, const float *alpha, const float *A,
                                   int lda, const float *B, int ldb, const float *beta, float *C, int ldc);
cublasStatus_t cudasim_cublasDsyrk(const char *file, int line, cublasHandle_t handle, cublasFillMode_t uplo,
                                   cublasOperation_t trans, int n, int k, const double *alpha, const double *A,
                                   int lda, const double *beta, double *C, int ldc);
#define cublasDgemm(...) cudasim_cublasDgemm(__FILE__, __LINE__, __VA_ARGS__)
#define cublasSgemm(...) cudasim_cublasSgemm(__FILE__, __LINE__, __VA_ARGS__)
#define cublasDsyrk(...) cudasim_cublasDsyrk(__FILE__, __LINE__, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
