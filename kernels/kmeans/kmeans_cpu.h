/* kmeans_cpu.h: the k-means compute on a block of standardized rows, CPU
 * twins of kernels/kmeans/assign.cu and update.cu (same contracts).
 * X: rows [n][c] float32, row-major. Centers: k of them, as float32
 * [k][c] for the GEMM and their squared norms cnorm[k] (double, from the
 * float32 centers, columns in order). */
#ifndef PS_KMEANS_CPU_H
#define PS_KMEANS_CPU_H
#include <stdint.h>

#include "kmeans/kmeans_math.h"

/* xnorm[i] = ||x_i||^2 (km_norm2), computed once for the rows. */
void km_norms_cpu(const float *X, int64_t n, int64_t c, double *xnorm);
/* The argmin given the GEMM result G [n][k] = X C^T: label[i] the nearest
 * center by km_score(G[i][j], cnorm[j]) (lowest index on ties), d2[i]
 * its squared distance km_dist2(xnorm[i], that score). */
void km_argmin_cpu(const double *xnorm, int64_t n, const float *G, const double *cnorm, int k, int32_t *label,
                   double *d2);
/* The whole assignment: GEMMs of KM_BLOCK rows (OpenBLAS sgemm, the last
 * block zero-padded) then km_argmin_cpu. work: km_assign_work(c, k) floats. */
int64_t km_assign_work(int64_t c, int k);
void km_assign_cpu(const float *X, const double *xnorm, int64_t n, int64_t c, const float *Cf, const double *cnorm,
                   int k, int32_t *label, double *d2, float *work);
/* Exact squared distance of each row to its center (double, columns in order). */
void km_exact_d2_cpu(const float *X, int64_t n, int64_t c, const double *C, const int32_t *label, double *d2);
/* Adds the block's rows to their cluster: sums[label][j] += km_fix_x(x_j),
 * counts[label] += 1, and *inertia += km_fix_d2(d2[i]) (d2 may be NULL).
 * Integer sums: any split of the rows gives the same totals. */
void km_update_cpu(const float *X, int64_t n, int64_t c, const int32_t *label, const double *d2, int k,
                   int64_t *sums, int64_t *counts, int64_t *inertia);
#endif
