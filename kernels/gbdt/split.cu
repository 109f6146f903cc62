/* split.cu: the best split of a leaf from its (all-rank) histogram on the
 * device. One block per feature: a prefix sum over its value bins (exact
 * int64), each thread the candidates of one cut (missing right, then
 * missing left; "every value left, missing right" at the last bin), the
 * gain by gbdt_math.h's rounded formula, and the first best in the twin's
 * order (bin, then missing right first) by a reduction whose comparison is
 * a total order, so the winner does not depend on how the tree of the
 * reduction runs. Then one thread takes the best over features in feature
 * order with the twin's strict "greater". CPU twin: split_cpu.c. */
#include "common/cuda_check.h"
#include "common/launch.h"
#include "gbdt/gbdt_kernels.h"
#include "gbdt/gbdt_math.h"

namespace {

constexpr int THREADS = PS_GBDT_MAX_BIN + 1; /* a thread per bin of a feature */
static_assert(THREADS == 256, "one block covers a feature's bins");

/* a beats b: valid first, then the larger gain, then the earlier candidate */
__device__ __forceinline__ bool beats(double ga, int ka, double gb, int kb) {
  if ((ka >= 0) != (kb >= 0)) return ka >= 0;
  if (ka < 0) return false;
  if (ga != gb) return ga > gb;
  return ka < kb;
}

__global__ void __launch_bounds__(THREADS)
    feature_kernel(const int64_t *__restrict__ hist, const int64_t *__restrict__ bin_off,
                   const uint8_t *__restrict__ use, int64_t G, int64_t H, int64_t N, ps_split_params_t p,
                   ps_split_t *per_feature) {
  __shared__ int64_t sg[THREADS], sh[THREADS], sn[THREADS];
  __shared__ double gain[THREADS];
  __shared__ int key[THREADS], idx[THREADS];
  const int j = blockIdx.x, t = threadIdx.x;
  if (use && !use[j]) {
    if (t == 0) per_feature[j].feature = -1;
    return;
  }
  const int nb = (int)(bin_off[j + 1] - bin_off[j]);
  const int64_t *h = hist + PS_HIST_W * bin_off[j];
  const bool value_bin = t >= 1 && t < nb;
  sg[t] = value_bin ? h[PS_HIST_W * t] : 0;
  sh[t] = value_bin ? h[PS_HIST_W * t + 1] : 0;
  sn[t] = value_bin ? h[PS_HIST_W * t + 2] : 0;
  __syncthreads();
  for (int off = 1; off < THREADS; off <<= 1) { /* inclusive scan: exact integers */
    int64_t a = 0, b = 0, c = 0;
    if (t >= off) a = sg[t - off], b = sh[t - off], c = sn[t - off];
    __syncthreads();
    sg[t] += a, sh[t] += b, sn[t] += c;
    __syncthreads();
  }
  const int64_t mg = h[0], mh = h[1], mn = h[2];
  const double parent = ps_gbdt_split_parent(G, H, p.scale, p.l2), inv = 1.0 / p.scale;
  double best = p.min_gain;
  int bkey = -1;
  if (value_bin) {
    const int64_t cg = sg[t], ch = sh[t], cn = sn[t];
    if (t < nb - 1 || mn > 0) { /* values 1..t left (at the last bin: only when missing rows go right) */
      double g0 = ps_gbdt_split_gain(cg, ch, cn, G, H, N, parent, inv, p.l2, p.min_data, p.min_hess);
      if (g0 > best) best = g0, bkey = 2 * t;
    }
    if (t < nb - 1 && mn > 0) { /* and the missing rows too */
      double g1 = ps_gbdt_split_gain(cg + mg, ch + mh, cn + mn, G, H, N, parent, inv, p.l2, p.min_data, p.min_hess);
      if (g1 > best) best = g1, bkey = 2 * t + 1;
    }
  }
  gain[t] = best;
  key[t] = bkey;
  idx[t] = t;
  __syncthreads();
  for (int s = THREADS / 2; s > 0; s >>= 1) {
    if (t < s) {
      int a = idx[t], b = idx[t + s];
      if (beats(gain[b], key[b], gain[a], key[a])) idx[t] = b;
    }
    __syncthreads();
  }
  if (t == 0) {
    ps_split_t r;
    const int w = idx[0], k = key[w];
    r.feature = k >= 0 ? j : -1;
    r.gain = gain[w];
    r.bin = k >= 0 ? k >> 1 : 0;
    r.default_left = k >= 0 ? k & 1 : 0;
    r.lg = k >= 0 ? sg[k >> 1] + ((k & 1) ? mg : 0) : 0;
    r.lh = k >= 0 ? sh[k >> 1] + ((k & 1) ? mh : 0) : 0;
    r.ln = k >= 0 ? sn[k >> 1] + ((k & 1) ? mn : 0) : 0;
    per_feature[j] = r;
  }
}

__global__ void best_kernel(const ps_split_t *__restrict__ per_feature, int64_t f, const int64_t *__restrict__ hist,
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
  if (b.feature >= 0 && hist[PS_HIST_W * bin_off[b.feature] + 2] == 0) b.default_left = b.ln >= N - b.ln;
  *out = b;
}

} // namespace

extern "C" size_t ps_gbdt_split_work(int64_t f) { return sizeof(ps_split_t) * (size_t)(f > 0 ? f : 1); }

extern "C" void ps_gbdt_split_cuda(const int64_t *hist, int64_t f, const int64_t *bin_off, const uint8_t *use,
                                   int64_t G, int64_t H, int64_t N, ps_split_params_t p, void *work, ps_split_t *best,
                                   cudaStream_t s) {
  ps_split_t *per = (ps_split_t *)work;
  if (f > 0) {
    if (f > 0x7fffffff) ps_die_local("split kernel: %lld features exceed one grid", (long long)f);
    PS_LAUNCH((unsigned)f, THREADS, 0, s, feature_kernel)(hist, bin_off, use, G, H, N, p, per);
    CUDA_CHECK(cudaGetLastError());
  }
  PS_LAUNCH(1, 1, 0, s, best_kernel)(per, f, hist, bin_off, N, p.min_gain, best);
  CUDA_CHECK(cudaGetLastError());
}
