/* grad_q_cpu.c: a tree's gradients on the CPU in two passes (gbdt_cpu.h),
 * the twin of grad_q.cu. Pass 1 (ps_gbdt_grad_q_cpu): every row's
 * fixed-point gradient and Hessian of the weighted log-loss, the rows' loss
 * as an exact integer sum and the largest |g| and h (gbdt_math.h's
 * ps_gbdt_grad_row); pass 2 (ps_gbdt_quant_cpu), once the caller has the
 * maxima of every rank: --grad-bits' stochastic rounding to packed (qg, qh)
 * words. Two exps a row, both inline and branch-free: ps_exp_neg for the
 * gradient and the loss, ps_exp_t128 (libm's bits) for the Hessian, as the
 * formulas always had it. No call, no float-to-int conversion (fix51)
 * while |g|, h times scale < 2^51 -- always but for class weights near
 * 2^51 / scale: then nearbyint, the same bits. Built with
 * -fno-trapping-math (its selects vectorize; the same IEEE results). */
#include "common/psmath.h"
#include "common/simd.h"
#include "gbdt/gbdt_math.h"
#include "core/rng.h"
#include "gbdt/gbdt_cpu.h"

/* One pass: gq, hq, the loss sum and the maxima (gbdt_math.h's row). */
static inline __attribute__((always_inline)) int64_t pass(const double *restrict z, const uint8_t *restrict y,
                                                          int64_t ys, int64_t n, double wp, double wn, double scale,
                                                          int fix51, int64_t *restrict gq, int64_t *restrict hq,
                                                          int64_t *restrict top) {
  int64_t total = 0, tg = 0, th = 0;
  for (int64_t i = 0; i < n; i++) {
    double yi = y[i * ys];
    int64_t g, h, l;
    ps_gbdt_grad_row(z[i], yi, ps_row_weight(yi, wp, wn), scale, fix51, &g, &h, &l);
    gq[i] = g;
    hq[i] = h;
    total += l;
    g = g < 0 ? -g : g;
    tg = g > tg ? g : tg;
    th = h > th ? h : th;
  }
  top[0] = tg;
  top[1] = th;
  return total;
}
typedef int64_t pass_fn(const double *restrict, const uint8_t *restrict, int64_t, int64_t, double, double, double,
                        int64_t *restrict, int64_t *restrict, int64_t *restrict);
PS_AVX2_FMA static int64_t pass51_avx2(const double *restrict z, const uint8_t *restrict y, int64_t ys, int64_t n,
                                       double wp, double wn, double scale, int64_t *restrict gq, int64_t *restrict hq,
                                       int64_t *restrict top) {
  return pass(z, y, ys, n, wp, wn, scale, 1, gq, hq, top); /* vectorizes */
}
PS_AVX512 static int64_t pass51_avx512(const double *restrict z, const uint8_t *restrict y, int64_t ys, int64_t n,
                                      double wp, double wn, double scale, int64_t *restrict gq, int64_t *restrict hq,
                                      int64_t *restrict top) {
  return pass(z, y, ys, n, wp, wn, scale, 1, gq, hq, top); /* 8 rows a vector: 1.4x less CPU than AVX2 */
}
static int64_t pass51(const double *restrict z, const uint8_t *restrict y, int64_t ys, int64_t n, double wp, double wn,
                      double scale, int64_t *restrict gq, int64_t *restrict hq, int64_t *restrict top) {
  return pass(z, y, ys, n, wp, wn, scale, 1, gq, hq, top); /* fma() a libm call */
}
static int64_t pass_big(const double *restrict z, const uint8_t *restrict y, int64_t ys, int64_t n, double wp,
                        double wn, double scale, int64_t *restrict gq, int64_t *restrict hq, int64_t *restrict top) {
  return pass(z, y, ys, n, wp, wn, scale, 0, gq, hq, top);
}

int64_t ps_gbdt_grad_q_cpu(const double *score, const uint8_t *y, int64_t ystride, int64_t n, double w_pos,
                           double w_neg, double scale, int64_t *gq, int64_t *hq, int64_t top[2]) {
  double wmax = w_pos > w_neg ? w_pos : w_neg; /* |g| <= s, h <= s / 4 */
  pass_fn *f = !(wmax * scale < 0x1p50) ? pass_big
                : PS_HAVE_AVX512()          ? pass51_avx512
                : PS_HAVE_AVX2_FMA()        ? pass51_avx2
                                            : pass51;
  return f(score, y, ystride, n, w_pos, w_neg, scale, gq, hq, top);
}

/* floor(u s / 2^64) from 32-bit halves (a multiply-high that vectorizes;
 * exact: mid < 3 * 2^32 holds the carries of the middle terms). */
static inline uint64_t mul_hi64(uint64_t u, uint64_t s) {
  uint64_t ul = u & 0xFFFFFFFFu, uh = u >> 32, sl = s & 0xFFFFFFFFu, sh = s >> 32;
  uint64_t ll = ul * sl, lh = ul * sh, hl = uh * sl, hh = uh * sh;
  uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFFu) + (hl & 0xFFFFFFFFu);
  return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

/* gbdt_math.h's ps_gbdt_quant_inv in a form the compiler vectorizes (its
 * bits): the estimate q = trunc(x / step) by the reciprocal is within 1 of
 * floor(x / step) (|x / step| <= Q + 1 < 2^16 and three roundings of
 * relative 2^-53 move it by < 2^-35; truncation moves a negative one up by
 * < 1), so each of the two corrections runs at most once: an `if` each. */
static inline int64_t quant_inv(int64_t v, int64_t step, double inv, uint64_t u) {
  int64_t x = v + (int64_t)mul_hi64(u, (uint64_t)step);
  int64_t q = (int64_t)((double)x * inv);
  q -= q * step > x;
  q += (q + 1) * step <= x;
  return q;
}

/* 8 rows a vector with AVX-512 (64-bit multiplies and conversions: 4x less
 * CPU than the AVX2 clone's ~21 ns a row, issue 26). */
PS_KERNEL_512 void ps_gbdt_quant_cpu(const int64_t *restrict gq, const int64_t *restrict hq,
                                     const int64_t *restrict ids, int64_t n, uint64_t seed, uint64_t key, int64_t sg,
                                     int64_t sh, int32_t *restrict gh) {
  uint64_t k = ps_rng_key(seed, PS_GBDT_QUANT_STREAM);
  double ig = 1.0 / (double)sg, ih = 1.0 / (double)sh;
  for (int64_t i = 0; i < n; i++) {
    uint64_t u = ps_rng_keyed(k, (uint64_t)ids[i], key);
    gh[i] = PS_GBDT_QPACK(quant_inv(gq[i], sg, ig, u), quant_inv(hq[i], sh, ih, ps_mix64(u)));
  }
}

/* The rows' unweighted loss sum, each row's as the pass above has it
 * (ps_gbdt_grad_row's lossq at s = 1: times 2^24, capped at 64 < 2^51, so
 * fix51 = nearbyint): the validation loss after every tree (fit.c), 4 or 8
 * rows a vector where the CPU has AVX2 or AVX-512 (issue 26: ~40 ns a row
 * scalar, its exp and log1p chains; the integer sum is the same in any order). */
static inline __attribute__((always_inline)) int64_t loss_pass(const double *restrict z, const uint8_t *restrict y,
                                                               int64_t ys, int64_t n) {
  int64_t total = 0;
  for (int64_t i = 0; i < n; i++) {
    double loss, r;
    ps_loss_residual(z[i], y[i * ys], 1.0, &loss, &r);
    total += ps_gbdt_fix51(loss < 64.0 ? loss : 64.0, PS_GBDT_LOSS_SCALE);
  }
  return total;
}
PS_AVX2_FMA static int64_t loss_avx2(const double *restrict z, const uint8_t *restrict y, int64_t ys, int64_t n) {
  return loss_pass(z, y, ys, n);
}
PS_AVX512 static int64_t loss_avx512(const double *restrict z, const uint8_t *restrict y, int64_t ys, int64_t n) {
  return loss_pass(z, y, ys, n);
}
static int64_t loss_base(const double *restrict z, const uint8_t *restrict y, int64_t ys, int64_t n) {
  return loss_pass(z, y, ys, n);
}

int64_t ps_gbdt_loss_q_cpu(const double *score, const uint8_t *y, int64_t ystride, int64_t n) {
  return PS_HAVE_AVX512()     ? loss_avx512(score, y, ystride, n)
         : PS_HAVE_AVX2_FMA() ? loss_avx2(score, y, ystride, n)
                              : loss_base(score, y, ystride, n);
}
