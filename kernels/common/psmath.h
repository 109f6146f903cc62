/* psmath.h: the per-element formulas of propscore, shared by the CPU twin
 * (host/backend_cpu.c) and the CUDA kernels, so CPU tests cover the math the
 * GPU runs. Everything here is a pure inline function on scalars. */
#ifndef PS_PSMATH_H
#define PS_PSMATH_H
#include <math.h>
#include <string.h>

#if defined(__CUDACC__)
#define PS_HD static __host__ __device__ __forceinline__
#else
#define PS_HD static inline
#endif

/* Model column kinds (datasets/SCHEMA.md, /columns/kind). */
#define PS_COL_VALUE 0
#define PS_COL_MISSING 1
#define PS_COL_CATEGORY 2 /* kind 2 + c: 1 if the value is category code c, else 0 (c <= 253) */

/* sigmoid(z) without overflow for any z: 1 / (1 + exp(-z)) for z >= 0,
 * else e / (1 + e) with e = exp(z); both with e = exp(-|z|) (the same
 * argument bits), the branch a select: the gradient pass runs it a row at
 * a time without a mispredicted branch. */
PS_HD double ps_sigmoid(double z) {
  double e = exp(-fabs(z));
  return (z >= 0 ? 1.0 : e) / (1.0 + e);
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

/* exp(-a) for a >= 0, branch-free so that loops over it vectorize:
 * a = n ln2 + r with |r| <= ln2/2 (Cody-Waite), a degree-13 Taylor
 * polynomial for exp(-r), and 2^-n put into the exponent bits. Relative
 * error below 4e-16; results under 2^-1000 are flushed to 0. */
PS_HD double ps_exp_neg(double a) {
  /* a = min(a, 700) on the bit patterns (a >= 0): an integer select, which
   * vectorizes where a floating-point one does not (-ftrapping-math) */
  long long ab, cb;
  const double cap = 700.0;
  memcpy(&ab, &a, sizeof ab);
  memcpy(&cb, &cap, sizeof cb);
  ab = ab < cb ? ab : cb;
  memcpy(&a, &ab, sizeof a);
  double t = a * 1.4426950408889634 + 0x1.8p52;        /* n = round(a / ln2), in the low bits */
  double n = t - 0x1.8p52;
  double r = (a - n * 0.6931471805598903) - n * 5.497923018708371e-14; /* ln2 = hi + lo */
  double p = 1.0 / 6227020800.0;                         /* Taylor of exp(-r), Horner */
  p = p * -r + 1.0 / 479001600.0;
  p = p * -r + 1.0 / 39916800.0;
  p = p * -r + 1.0 / 3628800.0;
  p = p * -r + 1.0 / 362880.0;
  p = p * -r + 1.0 / 40320.0;
  p = p * -r + 1.0 / 5040.0;
  p = p * -r + 1.0 / 720.0;
  p = p * -r + 1.0 / 120.0;
  p = p * -r + 1.0 / 24.0;
  p = p * -r + 1.0 / 6.0;
  p = p * -r + 0.5;
  p = p * -r + 1.0;
  p = p * -r + 1.0;
  long long bits, scb;
  double sc;
  memcpy(&bits, &t, sizeof bits);
  scb = (1023LL - (bits - 0x4338000000000000LL)) << 52; /* 2^-n; n <= 1010 keeps it normal */
  memcpy(&sc, &scb, sizeof sc);
  return p * sc;
}

/* log(1 + e) for e in [0, 1], branch-free: 2 atanh(u) with u = e / (2 + e)
 * in [0, 1/3], whose odd series converges by 1/9 a term (19 terms: error
 * below 1e-17 relative). */
PS_HD double ps_log1p_unit(double e) {
  double u = e / (2.0 + e), u2 = u * u;
  double p = 1.0 / 37;
  p = p * u2 + 1.0 / 35;
  p = p * u2 + 1.0 / 33;
  p = p * u2 + 1.0 / 31;
  p = p * u2 + 1.0 / 29;
  p = p * u2 + 1.0 / 27;
  p = p * u2 + 1.0 / 25;
  p = p * u2 + 1.0 / 23;
  p = p * u2 + 1.0 / 21;
  p = p * u2 + 1.0 / 19;
  p = p * u2 + 1.0 / 17;
  p = p * u2 + 1.0 / 15;
  p = p * u2 + 1.0 / 13;
  p = p * u2 + 1.0 / 11;
  p = p * u2 + 1.0 / 9;
  p = p * u2 + 1.0 / 7;
  p = p * u2 + 1.0 / 5;
  p = p * u2 + 1.0 / 3;
  p = p * u2 + 1.0;
  return 2.0 * u * p;
}

/* Loss and residual of one row and head with one exp and one log1p, both
 * branch-free: the fused gradient pass calls this in a vectorized loop.
 * loss = s * logloss(z, y), r = s * (sigmoid(z) - y). */
PS_HD void ps_loss_residual(double z, double y, double s, double *loss, double *r) {
  double e = ps_exp_neg(fabs(z));               /* exp(-|z|) in (0, 1] */
  double p = (z >= 0 ? 1.0 : e) / (1.0 + e);
  *loss = s * ((z > 0 ? z : 0.0) + ps_log1p_unit(e) - y * z);
  *r = s * (p - y);
}

/* Hessian weight s * p * (1 - p) of the logistic loss at z (Newton/IRLS). */
PS_HD double ps_hess_weight(double z, double s) {
  double p = ps_sigmoid(z);
  return s * p * (1.0 - p);
}

/* Class weight of a row: w_pos for positives, w_neg for negatives. */
PS_HD double ps_row_weight(double y, double w_pos, double w_neg) { return y > 0.5 ? w_pos : w_neg; }

/* Standardized value of one model column from the raw source value:
 * kind VALUE: (x - mean) * scale, NaN or Inf imputed by the mean (-> 0);
 * kind MISSING: the 0/1 missing indicator, standardized the same way;
 * kind CATEGORY + c: 1 if x is code c, else 0 (NaN: 0), the same way (with
 * mean 0 and scale 1 as logreg writes them: the indicator itself). */
PS_HD double ps_standardize(float x, int kind, double mean, double scale) {
  double v;
  if (kind >= PS_COL_CATEGORY) v = x == (float)(kind - PS_COL_CATEGORY) ? 1.0 : 0.0;
  else if (kind == PS_COL_MISSING) v = isfinite(x) ? 0.0 : 1.0;
  else if (!isfinite(x)) return 0.0;
  else v = (double)x;
  return (v - mean) * scale;
}
#endif
