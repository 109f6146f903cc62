/* split_hist.h: device helpers of the split kernels (split.cu, split_cat.cu):
 * a bin's (g, h, rows) read from the exact histogram [bins][3] or from a
 * quantized one [bins][2] in the exact search's units (g = qg sg,
 * h = qh sh, rows = ps_gbdt_q_rows(qh, per): the host's widening), and the
 * total order of a warp's candidates and the warp's winner by it. CUDA
 * sources only. */
#ifndef PS_GBDT_SPLIT_HIST_H
#define PS_GBDT_SPLIT_HIST_H
#include <stdint.h>

#include "gbdt/gbdt_math.h"
#include "gbdt/leafhist.h"

namespace ps_split {

/* a beats b: valid (key >= 0) first, then the larger gain, then the earlier candidate */
__device__ __forceinline__ bool beats(double ga, int ka, double gb, int kb) {
  if ((ka >= 0) != (kb >= 0)) return ka >= 0;
  if (ka < 0) return false;
  if (ga != gb) return ga > gb;
  return ka < kb;
}

/* The warp's winner of its lanes' (gain, key) by beats: a total order, so
 * every lane gets the same one whatever the reduction tree. */
__device__ __forceinline__ void warp_best(double &g, int &k) {
  for (int o = 16; o > 0; o >>= 1) {
    double og = __shfl_xor_sync(0xffffffffu, g, o);
    int ok = __shfl_xor_sync(0xffffffffu, k, o);
    if (beats(og, ok, g, k)) g = og, k = ok;
  }
}

/* A bin's (g, h, rows): the exact histogram [bins][3] ... */
struct Exact {
  const int64_t *__restrict__ h;
  __device__ __forceinline__ void at(int64_t q, int64_t &g, int64_t &hh, int64_t &n) const {
    g = h[PS_HIST_W * q], hh = h[PS_HIST_W * q + 1], n = h[PS_HIST_W * q + 2];
  }
};
/* ... or the quantized one [bins][2] in the exact search's units */
struct Quant {
  const int64_t *__restrict__ h;
  ps_split_q_t q;
  __device__ __forceinline__ void at(int64_t b, int64_t &g, int64_t &hh, int64_t &n) const {
    g = h[2 * b] * q.qg_step, hh = h[2 * b + 1] * q.qh_step, n = ps_gbdt_q_rows(h[2 * b + 1], q.per);
  }
};

} // namespace ps_split
#endif
