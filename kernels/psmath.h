/* psmath.h: the per-element formulas of propscore, shared by the CPU twin
 * (host/backend_cpu.c) and the CUDA kernels, so CPU tests cover the math the
 * GPU runs. Everything here is a pure inline function on scalars. */
#ifndef PS_PSMATH_H
#define PS_PSMATH_H
#include <math.h>

#if defined(__CUDACC__)
#define PS_HD static __host__ __device__ __forceinline__
#else
#define PS_HD static inline
#endif

/* Model column kinds (datasets/SCHEMA.md, /columns/kind). */
#define PS_COL_VALUE 0
#define PS_COL_MISSING 1

/* sigmoid(z) without overflow for any z. */
PS_HD double ps_sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + exp(-z));
  double e = exp(z);
  return e / (1.0 + e);
}

/* log(1 + exp(z)), accurate for large |z|. */
PS_HD double ps_log1pexp(double z) {
  if (z > 35.0) return z;
  if (z < -35.0) return exp(z);
  return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

/* Logistic loss of logit z for label y in {0,1}: -log p(y | z). */
PS_HD double ps_logloss(double z, double y) { return ps_log1pexp(z) - y * z; }

/* Weighted residual s * (sigmoid(z) - y): dLoss/dz, the gradient contribution. */
PS_HD double ps_residual(double z, double y, double s) { return s * (ps_sigmoid(z) - y); }

/* Hessian weight s * p * (1 - p) of the logistic loss at z (Newton/IRLS). */
PS_HD double ps_hess_weight(double z, double s) {
  double p = ps_sigmoid(z);
  return s * p * (1.0 - p);
}

/* Class weight of a row: w_pos for positives, w_neg for negatives. */
PS_HD double ps_row_weight(double y, double w_pos, double w_neg) { return y > 0.5 ? w_pos : w_neg; }

/* Standardized value of one model column from the raw source value:
 * kind VALUE: (x - mean) * scale, NaN or Inf imputed by the mean (-> 0);
 * kind MISSING: the 0/1 missing indicator, standardized the same way. */
PS_HD double ps_standardize(float x, int kind, double mean, double scale) {
  double v;
  if (kind == PS_COL_MISSING) v = isfinite(x) ? 0.0 : 1.0;
  else if (!isfinite(x)) return 0.0;
  else v = (double)x;
  return (v - mean) * scale;
}
#endif
