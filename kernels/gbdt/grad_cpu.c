/* grad_cpu.c: CPU twin of grad.cu -- fixed-point gradients and Hessians of
 * the weighted log-loss at the current scores (common/psmath.h formulas,
 * gbdt_math.h rounding), and the loss itself (exact integer sum). */
#include "common/psmath.h"
#include "gbdt/gbdt_cpu.h"

int64_t ps_gbdt_grad_cpu(const double *score, const uint8_t *y, int64_t ystride, int64_t n, double w_pos,
                         double w_neg, double scale, int64_t *gq, int64_t *hq) {
  int64_t total = 0;
  for (int64_t i = 0; i < n; i++) {
    double yi = y[(size_t)i * (size_t)ystride], s = ps_row_weight(yi, w_pos, w_neg), loss, r;
    ps_loss_residual(score[i], yi, s, &loss, &r);
    gq[i] = ps_gbdt_fix(r, scale);
    hq[i] = ps_gbdt_fix(ps_hess_weight(score[i], s), scale);
    total += ps_gbdt_fix(loss < 64.0 ? loss : 64.0, PS_GBDT_LOSS_SCALE);
  }
  return total;
}
