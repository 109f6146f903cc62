/* kmeans_kernels.h: C interface to the k-means CUDA kernels (assign.cu,
 * update.cu). Their CPU twins (kmeans_cpu.h: assign_panels_cpu.c,
 * update_cpu.c) have the same contracts and the same per-element math
 * (kmeans_math.h): the same dot products (km_dot) give the same argmin,
 * and the integer sums are exact in any order, so centroids agree bit for
 * bit. All pointers are device pointers. */
#ifndef PS_KMEANS_KERNELS_H
#define PS_KMEANS_KERNELS_H
#include <cuda_runtime_api.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* km_norms_cpu on the device. */
void km_norms_cuda(const float *X, int64_t n, int64_t c, double *xnorm, cudaStream_t s);
/* One Lloyd pass, the GEMM-free assignment fused with the update:
 * label [n], d2 [n] as km_assign_panels_ref (dot = km_dot, the CPU
 * backend's bits), written when store is nonzero (otherwise they may be
 * left as they were: the buffers are still needed where the plan does not
 * fit in shared memory); acc [k*c + k + 1] (may be NULL: assignment only)
 * += the sums, counts and inertia of km_update_cpu. work:
 * km_lloyd_work(n, c, k) int64 (the blocks' partial sums). */
int64_t km_lloyd_work(int64_t n, int64_t c, int k);
void km_lloyd_cuda(const float *X, const double *xnorm, int64_t n, int64_t c, const float *Cf, const double *cnorm,
                   int k, int32_t *label, double *d2, int store, int64_t *acc, int64_t *work, cudaStream_t s);
/* km_update_cpu on the device (km_lloyd_cuda's fallback where its plan
 * does not fit in shared memory): adds into sums [k][c], counts [k],
 * *inertia (int64 two's complement, added with 64-bit atomics: exact in any order).
 * d2 and inertia may be NULL. */
void km_update_cuda(const float *X, int64_t n, int64_t c, const int32_t *label, const double *d2, int k,
                    int64_t *sums, int64_t *counts, int64_t *inertia, cudaStream_t s);

#ifdef __cplusplus
}
#endif
#endif
