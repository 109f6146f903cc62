/* kmeans_kernels.h: C interface to the k-means CUDA kernels (assign.cu,
 * update.cu). Their CPU twins (kmeans_cpu.h: assign_cpu.c, update_cpu.c)
 * have the same contracts and the same per-element math (kmeans_math.h):
 * given the same GEMM result the argmin is identical, and the integer
 * sums are exact in any order, so centroids agree bit for bit. All
 * pointers are device pointers. */
#ifndef PS_KMEANS_KERNELS_H
#define PS_KMEANS_KERNELS_H
#include <cuda_runtime_api.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* km_argmin_cpu on the device: G [n][k] given. */
void km_norms_cuda(const float *X, int64_t n, int64_t c, double *xnorm, cudaStream_t s);
void km_argmin_cuda(const double *xnorm, int64_t n, const float *G, const double *cnorm, int k, int32_t *label,
                    double *d2, cudaStream_t s);
/* G = X C^T by cuBLAS SGEMM (cublas: a cublasHandle_t bound to s) into
 * G [n][k] (scratch), then km_argmin_cuda. */
void km_assign_cuda(void *cublas, const float *X, const double *xnorm, int64_t n, int64_t c, const float *Cf,
                    const double *cnorm, int k, float *G, int32_t *label, double *d2, cudaStream_t s);
/* km_update_cpu on the device: adds into sums [k][c], counts [k], *inertia
 * (int64 two's complement, added with 64-bit atomics: exact in any order).
 * d2 and inertia may be NULL. */
void km_update_cuda(const float *X, int64_t n, int64_t c, const int32_t *label, const double *d2, int k,
                    int64_t *sums, int64_t *counts, int64_t *inertia, cudaStream_t s);

#ifdef __cplusplus
}
#endif
#endif
