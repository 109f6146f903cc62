/* split.cu: the best split of a leaf from its (all-rank) histogram on the
 * device. One warp per feature: each lane sums 8 consecutive value bins, a
 * warp scan (exact int64) gives the sums before them, then the lane walks
 * its bins' candidates in the twin's order (missing right, then missing
 * left; "every value left, missing right" at the last bin) with the gain of
 * gbdt_math.h's rounded formula; a warp reduction whose comparison is a
 * total order (gain, then the earlier candidate) picks the feature's first
 * best whatever the order of the reduction. Then one thread takes the best over features in feature
 * order with the twin's strict "greater". CPU twin: split_cpu.c. The same
 * kernels read a quantized histogram of (sum qg, sum qh) pairs in the
 * exact search's units (issue 28; twin split_q_cpu.c): g = qg sg,
 * h = qh sh, rows = ps_gbdt_q_rows(qh, per), as the host widens them. */
#include "common/cuda_check.h"
#include "common/launch.h"
#include "gbdt/gbdt_kernels.h"
#include "gbdt/gbdt_math.h"
#include "gbdt/leafhist_kernels.h"
#include "gbdt/split_hist.h"

namespace {

constexpr int WARPS = 4, THREADS = 32 * WARPS; /* a warp per feature */
constexpr int PER_LANE = (PS_GBDT_MAX_BIN + 31) / 32; /* value bins 1..255: 8 a lane */

using ps_split::warp_best;
using ps_split::Exact;
using ps_split::Quant;

__device__ __forceinline__ int64_t up(int64_t v, int d) {
  return (int64_t)__shfl_up_sync(0xffffffffu, (long long)v, (unsigned)d);
}

template <class Hist>
__global__ void __launch_bounds__(THREADS)
    feature_kernel(Hist hist, const int64_t *__restrict__ bin_off, int64_t f,
                   const uint8_t *__restrict__ use, const uint8_t *__restrict__ skip, int64_t G, int64_t H,
                   int64_t N, ps_split_params_t p, ps_split_t *per_feature) {
  const int lane = threadIdx.x & 31;
  const int64_t j = (int64_t)blockIdx.x * WARPS + (threadIdx.x >> 5);
  if (j >= f) return; /* the whole warp */
  if ((use && !use[j]) || (skip && skip[j])) { /* skip: the categorical features (split_cat.cu) */
    if (lane == 0) per_feature[j].feature = -1;
    return;
  }
  const int nb = (int)(bin_off[j + 1] - bin_off[j]);
  const int64_t q0 = bin_off[j];
  /* this lane's value bins t0 .. t1-1, their sums; the lanes before it by a scan (exact integers) */
  const int t0 = 1 + lane * PER_LANE, t1 = t0 + PER_LANE < nb ? t0 + PER_LANE : nb;
  int64_t lg = 0, lh = 0, ln = 0;
  for (int t = t0; t < t1; t++) {
    int64_t g, hh, n;
    hist.at(q0 + t, g, hh, n);
    lg += g, lh += hh, ln += n;
  }
  int64_t ig = lg, ih = lh, in = ln;
  for (int d = 1; d < 32; d <<= 1) {
    int64_t a = up(ig, d), b = up(ih, d), c = up(in, d);
    if (lane >= d) ig += a, ih += b, in += c;
  }
  int64_t cg = ig - lg, ch = ih - lh, cn = in - ln; /* sums of the bins before t0 */
  int64_t mg, mh, mn;
  hist.at(q0, mg, mh, mn);
  const double parent = ps_gbdt_split_parent(G, H, p.scale, p.l2), inv = 1.0 / p.scale;
  double best = p.min_gain;
  int bkey = -1;
  int64_t bg = 0, bh = 0, bn = 0;
  for (int t = t0; t < t1; t++) { /* the twin's order: bins up, missing right before missing left */
    int64_t g, hh, n;
    hist.at(q0 + t, g, hh, n);
    cg += g, ch += hh, cn += n;
    if (t < nb - 1 || mn > 0) { /* values 1..t left (at the last bin: only when missing rows go right) */
      double g0 = ps_gbdt_split_gain(cg, ch, cn, G, H, N, parent, inv, p.l2, p.min_data, p.min_hess);
      if (g0 > best) best = g0, bkey = 2 * t, bg = cg, bh = ch, bn = cn;
    }
    if (t < nb - 1 && mn > 0) { /* and the missing rows too */
      double g1 = ps_gbdt_split_gain(cg + mg, ch + mh, cn + mn, G, H, N, parent, inv, p.l2, p.min_data, p.min_hess);
      if (g1 > best) best = g1, bkey = 2 * t + 1, bg = cg + mg, bh = ch + mh, bn = cn + mn;
    }
  }
  /* the warp's winner: a total order, so every lane gets the same one whatever the tree */
  double wg = best;
  int wk = bkey;
  warp_best(wg, wk);
  if (wk < 0) {
    if (lane == 0) per_feature[j].feature = -1;
  } else if (wk == bkey) { /* the lane that found it */
    ps_split_t r;
    r.gain = best;
    r.feature = (int32_t)j;
    r.bin = bkey >> 1;
    r.default_left = bkey & 1;
    r.lg = bg, r.lh = bh, r.ln = bn;
    per_feature[j] = r;
  }
}

template <class Hist>
__global__ void best_kernel(const ps_split_t *__restrict__ per_feature, int64_t f, Hist hist,
                            const int64_t *__restrict__ bin_off, int64_t N, double min_gain, ps_split_t *out) {
  ps_split_t b;
  b.gain = min_gain;
  b.feature = -1;
  b.bin = 0;
  b.default_left = 0;
  b.lg = b.lh = b.ln = 0;
  for (int64_t j = 0; j < f; j++)
    if (per_feature[j].feature >= 0 && per_feature[j].gain > b.gain) b = per_feature[j];
  /* no missing rows at the chosen node: missing values (at scoring) go to the larger side */
  if (b.feature >= 0) {
    int64_t mg, mh, mn;
    hist.at(bin_off[b.feature], mg, mh, mn);
    if (mn == 0) b.default_left = b.ln >= N - b.ln;
  }
  *out = b;
}

template <class Hist>
void features(Hist hist, int64_t f, const int64_t *bin_off, const uint8_t *use, const uint8_t *skip, int64_t G,
              int64_t H, int64_t N, ps_split_params_t p, ps_split_t *per, cudaStream_t s) {
  if (f <= 0) return;
  PS_LAUNCH(ps_grid_1d((uint64_t)f, WARPS), THREADS, 0, s, feature_kernel<Hist>)(hist, bin_off, f, use, skip, G, H, N,
                                                                                p, per);
  CUDA_CHECK(cudaGetLastError());
}

template <class Hist>
void search(Hist hist, int64_t f, const int64_t *bin_off, const uint8_t *use, int64_t G, int64_t H, int64_t N,
            ps_split_params_t p, void *work, ps_split_t *best, cudaStream_t s) {
  ps_split_t *per = (ps_split_t *)work;
  features(hist, f, bin_off, use, NULL, G, H, N, p, per, s);
  PS_LAUNCH(1, 1, 0, s, best_kernel<Hist>)(per, f, hist, bin_off, N, p.min_gain, best);
  CUDA_CHECK(cudaGetLastError());
}

} // namespace

extern "C" size_t ps_gbdt_split_work(int64_t f) { return sizeof(ps_split_t) * (size_t)(f > 0 ? f : 1); }

extern "C" void ps_gbdt_split_cuda(const int64_t *hist, int64_t f, const int64_t *bin_off, const uint8_t *use,
                                   int64_t G, int64_t H, int64_t N, ps_split_params_t p, void *work, ps_split_t *best,
                                   cudaStream_t s) {
  search(Exact{hist}, f, bin_off, use, G, H, N, p, work, best, s);
}

extern "C" void ps_gbdt_split_q_cuda(const int64_t *hist2, int64_t f, const int64_t *bin_off, const uint8_t *use,
                                     int64_t G, int64_t H, int64_t N, ps_split_params_t p, ps_split_q_t q, void *work,
                                     ps_split_t *best, cudaStream_t s) {
  search(Quant{hist2, q}, f, bin_off, use, G, H, N, p, work, best, s);
}

extern "C" void ps_gbdt_split_features_cuda(const int64_t *hist, const ps_split_q_t *q, int64_t f,
                                            const int64_t *bin_off, const uint8_t *use, const uint8_t *skip,
                                            int64_t G, int64_t H, int64_t N, ps_split_params_t p, ps_split_t *per,
                                            cudaStream_t s) {
  if (q) features(Quant{hist, *q}, f, bin_off, use, skip, G, H, N, p, per, s);
  else features(Exact{hist}, f, bin_off, use, skip, G, H, N, p, per, s);
}
