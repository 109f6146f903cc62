/* gbdt_math.h: the per-element rules of the gradient-boosted trees, shared
 * (host + device) by the CPU twins and the CUDA kernels:
 *  - a feature value's bin: code 0 for NaN (missing), else 1 + the number of
 *    cut points below it, so "bin <= t" is exactly "value <= cut[t-1]";
 *  - gradients in fixed point: g and h times 2^shift, rounded to nearest, so
 *    every histogram sum is an exact integer, the same in any order, on any
 *    rank count and any block count;
 *  - the split gain and the leaf value of the L2-regularized second-order
 *    objective (XGBoost/LightGBM): G^2 / (H + lambda) and -G / (H + lambda),
 *    and a candidate split's gain from its left sums. On the device every
 *    double operation of these is an explicitly rounded intrinsic (nvcc
 *    would otherwise contract a*b + c into an FMA), so the split kernel
 *    computes the very bits of the CPU twin. */
#ifndef PS_GBDT_MATH_H
#define PS_GBDT_MATH_H
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "common/exp_tab.h"
#include "common/psmath.h"

#if defined(__CUDACC__)
#define PS_GHD static __host__ __device__ __forceinline__
#define PS_GHD_AI PS_GHD
#else
#define PS_GHD static inline
#define PS_GHD_AI static inline __attribute__((always_inline)) /* into the twins' vectorized loops */
#endif

#define PS_GBDT_MAX_BIN 255 /* value bins a feature may have: codes 1..255, 0 = missing */
#define PS_HIST_W 3         /* a histogram bin: sum g, sum h, rows (int64 each) */

#if defined(__CUDA_ARCH__)
#define PS_DMUL(a, b) __dmul_rn((a), (b))
#define PS_DADD(a, b) __dadd_rn((a), (b))
#define PS_DSUB(a, b) __dsub_rn((a), (b))
#define PS_DDIV(a, b) __ddiv_rn((a), (b))
#else
#define PS_DMUL(a, b) ((a) * (b))
#define PS_DADD(a, b) ((a) + (b))
#define PS_DSUB(a, b) ((a) - (b))
#define PS_DDIV(a, b) ((a) / (b))
#endif

/* Bin code of v among ncuts strictly increasing cut points. */
PS_GHD int ps_gbdt_bin(float v, const float *cuts, int ncuts) {
  if (v != v) return 0; /* NaN */
  int lo = 0, hi = ncuts; /* first cut >= v: bin = 1 + (cuts below v) */
  while (lo < hi) {
    int mid = (lo + hi) >> 1;
    if (cuts[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return 1 + lo;
}

/* v * 2^shift rounded to the nearest integer (ties to even). */
PS_GHD int64_t ps_gbdt_fix(double v, double scale) { return (int64_t)nearbyint(v * scale); }

/* Quantized gradients (--grad-bits, issue 26): a row's fixed-point g and h
 * become small integers qg = floor((g + r) / sg), r uniform in [0, sg)
 * (stochastic rounding: E[qg] = g / sg), for integer steps sg, sh >= 1
 * with |g| <= Q sg and 0 <= h <= Q sh, so |qg| <= Q and 0 <= qh <= Q
 * (Q = 2^(bits-1) - 1 <= 32767). u: the row's random bits. */
PS_GHD int64_t ps_gbdt_quant_inv(int64_t v, int64_t step, double inv, uint64_t u) { /* inv: 1.0 / step */
#if defined(__CUDA_ARCH__)
  int64_t r = (int64_t)__umul64hi(u, (uint64_t)step); /* floor(u step / 2^64): uniform in [0, step) */
#else
  int64_t r = (int64_t)(((unsigned __int128)u * (uint64_t)step) >> 64);
#endif
  int64_t x = v + r; /* |v| + step < 2^62: no overflow */
  int64_t q = (int64_t)PS_DMUL((double)x, inv); /* |q| <= Q + 1: off by at most 1 (no division, no floor) ... */
  while (q * step > x) q--;                     /* ... then exactly floor(x / step) */
  while ((q + 1) * step <= x) q++;
  return q;
}
PS_GHD int64_t ps_gbdt_quant(int64_t v, int64_t step, uint64_t u) {
  return ps_gbdt_quant_inv(v, step, PS_DDIV(1.0, (double)step), u);
}
/* One int32 a row: qg in the high 16 bits (two's complement), qh in the low 16. */
#define PS_GBDT_QPACK(g, h) ((int32_t)(((uint32_t)(int32_t)(g) << 16) + (uint32_t)(h)))
#define PS_GBDT_QG(w) ((int32_t)(w) >> 16)
#define PS_GBDT_QH(w) ((int32_t)((uint32_t)(w) & 0xFFFFu))


/* ps_gbdt_fix(v, scale) where |v * scale| < 2^51, without a call or a
 * float-to-int conversion (so loops over it vectorize): v * scale +
 * 1.5 * 2^52 rounds to the nearest integer, ties to even (its ulp is 1),
 * which its low mantissa bits then hold -- nearbyint's bits. */
PS_GHD int64_t ps_gbdt_fix51(double v, double scale) {
  double t = PS_DADD(PS_DMUL(v, scale), 0x1.8p52);
  int64_t b;
  memcpy(&b, &t, sizeof b);
  return b - 0x4338000000000000LL;
}

/* A row's fixed-point gradient, Hessian and loss of tree boosting (the
 * twin grad_q_cpu.c and the kernel grad_q.cu): s = the row's class weight;
 * g = s (p - y) and the loss from ps_loss_residual (ps_exp_neg), h = s p
 * (1 - p) with p from ps_exp_t128 -- libm's exp's bits on an FMA host, as
 * the Hessians always had (ps_exp_neg's p would move ~2 in 10^6 of them);
 * |z| clamped to 64, where h scale < 2^-31 rounds to 0 either way. fix51:
 * |g|, h scale < 2^51 (ps_gbdt_fix51), else ps_gbdt_fix; the loss times
 * 2^24, capped at 64. */
PS_GHD_AI void ps_gbdt_grad_row(double z, double y, double s, double scale, int fix51, int64_t *g, int64_t *h,
                             int64_t *lossq) {
  double loss, r, a = fabs(z);
  ps_loss_residual(z, y, s, &loss, &r);
  a = a > 64.0 ? 64.0 : a;
  double e = ps_exp_t128(-a), p = PS_DDIV(z >= 0 ? 1.0 : e, PS_DADD(1.0, e));
  double hw = PS_DMUL(PS_DMUL(s, p), PS_DSUB(1.0, p));
  *g = fix51 ? ps_gbdt_fix51(r, scale) : ps_gbdt_fix(r, scale);
  *h = fix51 ? ps_gbdt_fix51(hw, scale) : ps_gbdt_fix(hw, scale);
  *lossq = ps_gbdt_fix51(loss < 64.0 ? loss : 64.0, 16777216.0); /* < 2^30 */
}

PS_GHD double ps_gbdt_leaf_gain(double G, double H, double l2) { return PS_DDIV(PS_DMUL(G, G), PS_DADD(H, l2)); }
PS_GHD double ps_gbdt_leaf_output(double G, double H, double l2) { return PS_DDIV(-G, PS_DADD(H, l2)); }

/* A leaf's own gain, the baseline of its candidate splits. */
PS_GHD double ps_gbdt_split_parent(int64_t G, int64_t H, double scale, double l2) {
  return ps_gbdt_leaf_gain(PS_DDIV((double)G, scale), PS_DDIV((double)H, scale), l2);
}

/* The gain of sending (lg, lh, ln) left and the rest of (G, H, N) right
 * (fixed-point sums; 1/scale back to real units), or -1 when a child has
 * fewer than min_data rows or less than min_hess Hessian. */
PS_GHD double ps_gbdt_split_gain(int64_t lg, int64_t lh, int64_t ln, int64_t G, int64_t H, int64_t N, double parent,
                                 double inv_scale, double l2, int64_t min_data, double min_hess) {
  int64_t rn = N - ln;
  double HL = PS_DMUL((double)lh, inv_scale), HR = PS_DMUL((double)(H - lh), inv_scale);
  if (ln < min_data || rn < min_data || HL < min_hess || HR < min_hess) return -1.0;
  return PS_DSUB(PS_DADD(ps_gbdt_leaf_gain(PS_DMUL((double)lg, inv_scale), HL, l2),
                         ps_gbdt_leaf_gain(PS_DMUL((double)(G - lg), inv_scale), HR, l2)),
                 parent);
}

/* Does a row go left at a node? Raw value against the cut, or its bin. */
PS_GHD int ps_gbdt_left_raw(float v, float threshold, int default_left) {
  return v != v ? default_left : v <= threshold;
}
PS_GHD int ps_gbdt_left_bin(int bin, int threshold_bin, int default_left) {
  return bin == 0 ? default_left : bin <= threshold_bin;
}

/* Quantized histograms (grow.h): a bin's rows estimated from its Hessian
 * quanta qh, round(qh per) with per = the leaf's rows / its sum of qh
 * (LightGBM's way); the host's widening and the split kernels share it. */
PS_GHD int64_t ps_gbdt_q_rows(int64_t qh, double per) { return (int64_t)PS_DADD(PS_DMUL((double)qh, per), 0.5); }
#endif
