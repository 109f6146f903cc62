/* grad_q_cpu.c: a tree's gradients on the CPU in two passes (gbdt_cpu.h).
 * Pass 1 (ps_gbdt_grad_q_cpu): every row's fixed-point gradient and
 * Hessian of the weighted log-loss (common/psmath.h formulas, gbdt_math.h
 * rounding), the rows' loss as an exact integer sum and the largest |g|
 * and h; pass 2 (ps_gbdt_quant_cpu), once the caller has the maxima of
 * every rank: --grad-bits' stochastic rounding to packed (qg, qh) words.
 * The gradient and the loss share one branch-free exp (ps_exp_neg) in a
 * loop that vectorizes; the Hessian keeps ps_sigmoid's libm exp in a loop
 * of its own: ps_exp_neg and exp differ in the last bit for ~10% of
 * arguments, which moves a Hessian's fixed point for ~2 rows in 10^6 --
 * and the model's bytes with it. No call but exp, no float-to-int
 * conversion (ps_gbdt_fix51) while |g|, h times scale < 2^51 (always but
 * for class weights near 2^51 / scale: then ps_gbdt_fix, the same bits). */
#include "common/psmath.h"
#include "common/simd.h"
#include "core/rng.h"
#include "gbdt/gbdt_cpu.h"

static inline int64_t fix(double v, double scale, int big) {
  return big ? ps_gbdt_fix(v, scale) : ps_gbdt_fix51(v, scale);
}

/* gq and the loss (one ps_exp_neg a row). */
static inline __attribute__((always_inline)) int64_t grad_loss(const double *restrict z, const uint8_t *restrict y,
                                                               int64_t ys, int64_t n, double wp, double wn,
                                                               double scale, int big, int64_t *restrict gq) {
  int64_t total = 0;
  for (int64_t i = 0; i < n; i++) {
    double yi = y[i * ys], s = ps_row_weight(yi, wp, wn), loss, r;
    ps_loss_residual(z[i], yi, s, &loss, &r);
    gq[i] = fix(r, scale, big);
    total += fix(loss < 64.0 ? loss : 64.0, PS_GBDT_LOSS_SCALE, 0); /* < 2^30 */
  }
  return total;
}
PS_KERNEL static int64_t pass_g(const double *restrict z, const uint8_t *restrict y, int64_t ys, int64_t n, double wp,
                                double wn, double scale, int64_t *restrict gq) {
  return grad_loss(z, y, ys, n, wp, wn, scale, 0, gq); /* vectorizes */
}
static int64_t pass_g_big(const double *restrict z, const uint8_t *restrict y, int64_t ys, int64_t n, double wp,
                          double wn, double scale, int64_t *restrict gq) {
  return grad_loss(z, y, ys, n, wp, wn, scale, 1, gq);
}

/* hq (ps_hess_weight: libm's exp, branch-free) and the maxima of |gq|, hq. */
PS_KERNEL static void pass_h(const double *restrict z, const uint8_t *restrict y, int64_t ys, int64_t n, double wp,
                             double wn, double scale, int big, const int64_t *restrict gq, int64_t *restrict hq,
                             int64_t *restrict top) {
  int64_t tg = 0, th = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t h = fix(ps_hess_weight(z[i], ps_row_weight(y[i * ys], wp, wn)), scale, big), a = gq[i] < 0 ? -gq[i] : gq[i];
    hq[i] = h;
    th = h > th ? h : th;
    tg = a > tg ? a : tg;
  }
  top[0] = tg;
  top[1] = th;
}

int64_t ps_gbdt_grad_q_cpu(const double *score, const uint8_t *y, int64_t ystride, int64_t n, double w_pos,
                           double w_neg, double scale, int64_t *gq, int64_t *hq, int64_t top[2]) {
  double wmax = w_pos > w_neg ? w_pos : w_neg; /* |g| <= s, h <= s / 4 */
  int big = !(wmax * scale < 0x1p50);
  int64_t total = (big ? pass_g_big : pass_g)(score, y, ystride, n, w_pos, w_neg, scale, gq);
  pass_h(score, y, ystride, n, w_pos, w_neg, scale, big, gq, hq, top);
  return total;
}

PS_KERNEL void ps_gbdt_quant_cpu(const int64_t *restrict gq, const int64_t *restrict hq, const int64_t *restrict ids,
                                 int64_t n, uint64_t seed, uint64_t key, int64_t sg, int64_t sh,
                                 int32_t *restrict gh) {
  uint64_t k = ps_rng_key(seed, PS_GBDT_QUANT_STREAM);
  for (int64_t i = 0; i < n; i++) {
    uint64_t u = ps_rng_keyed(k, (uint64_t)ids[i], key);
    gh[i] = PS_GBDT_QPACK(ps_gbdt_quant(gq[i], sg, u), ps_gbdt_quant(hq[i], sh, ps_mix64(u)));
  }
}
