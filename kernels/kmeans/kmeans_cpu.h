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
/* The CPU backend's Lloyd assignment (assign_panels_cpu.c): the rows packed
 * once into panels of KM_PANEL rows ([c][KM_PANEL] each, the last one
 * zero-padded; km_panel_floats floats, 64-byte aligned), then per panel a
 * register-blocked GEMM tile with the argmin fused in. dot(x_i, C_j) is km_dot:
 * fmaf over the columns in order (so a row's bits do not depend on its
 * place; the device's Lloyd pass, assign.cu, has the same), the score and
 * distance as km_score/km_dist2, lowest index on
 * ties. km_assign_panels_cpu runs the AVX-512 kernel where the CPU has it
 * (km_assign_panels_available) and otherwise km_assign_panels_ref, the
 * plain-C statement of the same contract (same bits, slower). */
#define KM_PANEL 16
int64_t km_panel_floats(int64_t n, int64_t c);
void km_pack_panels(const float *X, int64_t n, int64_t c, float *P);
int km_assign_panels_available(void);
void km_assign_panels_cpu(const float *P, const double *xnorm, int64_t n, int64_t c, const float *Cf,
                          const double *cnorm, int k, int32_t *label, double *d2);
/* The assignment and, in the same pass, km_update_cpu's sums of it:
 * acc [k*c + k + 1] += sums, counts, inertia (the same integers). X: the
 * rows unpacked (used where the AVX-512 kernel is not). */
void km_assign_update_panels_cpu(const float *P, const float *X, const double *xnorm, int64_t n, int64_t c,
                                 const float *Cf, const double *cnorm, int k, int32_t *label, double *d2,
                                 int64_t *acc);
void km_assign_panels_ref(const float *P, const double *xnorm, int64_t n, int64_t c, const float *Cf,
                          const double *cnorm, int k, int32_t *label, double *d2);
/* Exact squared distance of each row to its center (double, columns in order). */
void km_exact_d2_cpu(const float *X, int64_t n, int64_t c, const double *C, const int32_t *label, double *d2);
/* Adds the block's rows to their cluster: sums[label][j] += km_fix_x(x_j),
 * counts[label] += 1, and *inertia += km_fix_d2(d2[i]) (d2 may be NULL).
 * Integer sums: any split of the rows gives the same totals. Vectorized
 * (AVX-512DQ conversions) where the CPU has it: the same integers. */
void km_update_cpu(const float *X, int64_t n, int64_t c, const int32_t *label, const double *d2, int k,
                   int64_t *sums, int64_t *counts, int64_t *inertia);
#endif
