/* leafhist.h: the CPU twins of a leaf's round trip on the device (issue
 * 28; kernels in leafhist_kernels.h): the larger child's histogram as the
 * parent's minus the smaller one's (exact int64), and the split search of
 * a quantized histogram -- (sum qg, sum qh) pairs read in the split
 * search's units: g = qg sg, h = qh sh, rows = round(qh per) (grow.h) --
 * whose gains are those of the host's search (grow.c widens the same way,
 * with the same ps_gbdt_q_rows, then runs split_cpu.c). */
#ifndef PS_GBDT_LEAFHIST_H
#define PS_GBDT_LEAFHIST_H
#include <stdint.h>

#include "gbdt/gbdt_cpu.h"

/* A quantized histogram's units: fixed-point units per quantum, rows per Hessian quantum. */
typedef struct {
  int64_t qg_step, qh_step;
  double per;
} ps_split_q_t;

/* a[0..n) -= b[0..n) (hist_sub.cu). */
void ps_gbdt_hist_sub_cpu(int64_t *a, const int64_t *b, int64_t n);
/* ps_gbdt_split_cpu of hist2 [total_bins][2] read as [total_bins][3] in
 * q's units; work: 3 total_bins int64 (split.cu's quantized search). */
void ps_gbdt_split_q_cpu(const int64_t *hist2, int64_t f, const int64_t *bin_off, const uint8_t *use, int64_t G,
                         int64_t H, int64_t N, const ps_split_params_t *p, const ps_split_q_t *q, int64_t *work,
                         ps_split_t *best);
/* hist3 [nbins][3] = hist2 [nbins][2] read in q's units (the widening above). */
void ps_gbdt_widen_q_cpu(const int64_t *hist2, int64_t nbins, const ps_split_q_t *q, int64_t *hist3);
#endif
