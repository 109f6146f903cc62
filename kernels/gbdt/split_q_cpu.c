/* split_q_cpu.c: CPU twin of split.cu's quantized search -- a histogram of
 * (sum qg, sum qh) pairs widened bin by bin into the split search's units
 * (gbdt_math.h: ps_gbdt_q_rows, as grow.c widens it), then split_cpu.c. */
#include "gbdt/gbdt_math.h"
#include "gbdt/leafhist.h"

void ps_gbdt_split_q_cpu(const int64_t *hist2, int64_t f, const int64_t *bin_off, const uint8_t *use, int64_t G,
                         int64_t H, int64_t N, const ps_split_params_t *p, const ps_split_q_t *q, int64_t *work,
                         ps_split_t *best) {
  ps_gbdt_widen_q_cpu(hist2, bin_off[f], q, work);
  ps_gbdt_split_cpu(work, f, bin_off, use, G, H, N, p, best);
}

void ps_gbdt_widen_q_cpu(const int64_t *hist2, int64_t nbins, const ps_split_q_t *q, int64_t *hist3) {
  for (int64_t b = 0; b < nbins; b++) {
    hist3[3 * b] = hist2[2 * b] * q->qg_step;
    hist3[3 * b + 1] = hist2[2 * b + 1] * q->qh_step;
    hist3[3 * b + 2] = ps_gbdt_q_rows(hist2[2 * b + 1], q->per);
  }
}
