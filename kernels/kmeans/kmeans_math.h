/* kmeans_math.h: per-element k-means math shared by the CPU twins and the
 * CUDA kernels (host and device inline), so both compute the same bits:
 * the squared distance from the GEMM's dot product and the fixed-point
 * quantization of the sums that are added across rows, blocks and ranks
 * as integers (any order, any rank count: the same total). */
#ifndef PS_KMEANS_MATH_H
#define PS_KMEANS_MATH_H
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__CUDACC__)
#define KM_HD static __host__ __device__ __forceinline__
#else
#define KM_HD static inline
#endif

/* Rows per GEMM call: every call has the same shape (a short last block is
 * zero-padded), so a row's dot products have the same bits wherever it is. */
#define KM_BLOCK 1024
/* Fixed-point scales: standardized values (2^-24) and squared distances (2^-20). */
#define KM_FIX_X 16777216.0
#define KM_FIX_D2 1048576.0

/* The argmin compares ||c||^2 - 2 x.c (the row's ||x||^2 is common to all
 * centers); the squared distance adds ||x||^2 back, never below 0. */
KM_HD double km_score(float dot, double cnorm) { return cnorm - 2.0 * (double)dot; }
KM_HD double km_dist2(double xnorm, double score) {
  double d = xnorm + score;
  return d > 0.0 ? d : 0.0;
}
/* dot(x, cen) in float: fmaf over the columns in order from 0 (x with
 * stride xs), so a row's bits do not depend on its place or the loop
 * around it (assign_panels_cpu.c, assign.cu). */
KM_HD float km_dot(const float *x, int64_t xs, const float *cen, int64_t c) {
  float d = 0.0f;
  for (int64_t t = 0; t < c; t++) d = fmaf(x[t * xs], cen[t], d);
  return d;
}
/* truncation toward zero: one instruction on every target, the same there */
KM_HD int64_t km_fix_x(float x) { return (int64_t)((double)x * KM_FIX_X); }
KM_HD int64_t km_fix_d2(double d2) { return (int64_t)(d2 * KM_FIX_D2); }
/* ||x||^2 of one row in double, columns in order. */
KM_HD double km_norm2(const float *x, int64_t c) {
  double s = 0.0;
  for (int64_t j = 0; j < c; j++) s += (double)x[j] * (double)x[j];
  return s;
}
#endif
