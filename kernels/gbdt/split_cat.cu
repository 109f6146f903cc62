/* split_cat.cu: the category-set split search on the device (issue 28;
 * rules and twin: split_cat_cpu.h, split_cat_cpu.c), and the whole search of
 * a leaf with categorical features: the numeric features by split.cu's
 * per-feature pass (the categorical ones skipped), the categorical ones
 * here, then one thread takes the best over features in feature order
 * (higher gain, ties to the lower feature: the host's rule) and copies
 * the winner's category set. Only that split and its 32-byte set leave.
 * One warp (block) per categorical feature, its categories 8 a lane:
 *  - one-vs-rest (C <= cat_onehot): every category's gain at once;
 *  - else each kept category's place in the total order of
 *    ps_gbdt_cat_before counted against all others (a rank sort: the
 *    twin's insertion sort's result), a warp scan of the sorted sums
 *    (exact int64), each prefix's "too small"/"stop" flags in parallel,
 *    the min_data_per_group chain walked by one lane a direction (integer
 *    compares only: it is sequential in the twin too), the candidates'
 *    gains in parallel;
 * the warp's first best by a total order on (gain, candidate) whatever the
 * reduction tree; the set as 8 ballots. Every double operation is
 * split_cat_cpu.h's / gbdt_math.h's rounded intrinsic (and -fmad=false). */
#include "common/cuda_check.h"
#include "common/launch.h"
#include "gbdt/gbdt_cat.h"
#include "gbdt/leafhist_kernels.h"
#include "gbdt/split_cat.h"
#include "gbdt/split_hist.h"

namespace {

using ps_split::warp_best;
using ps_split::Exact;
using ps_split::Quant;

constexpr int SLOTS = 256;        /* a feature's categories (codes 0..254), 8 a lane */
constexpr int PER = SLOTS / 32;
constexpr int STEPS = SLOTS / 2;  /* a direction's prefixes: at most (255 + 1) / 2 */
constexpr int WORDS = PS_GBDT_CAT_BYTES / 4;
enum { SMALL = 1, STOP = 2, CAND = 4 };

struct Smem {
  int64_t x[SLOTS][3];    /* category c's (g, h, rows) */
  int64_t cum[SLOTS][3];  /* sums of the sorted categories 0..i */
  double key[SLOTS];
  int16_t code[SLOTS];    /* sorted place -> code */
  int16_t rank[SLOTS];    /* code -> sorted place (kept ones) */
  uint8_t kept[SLOTS];
  uint8_t flag[2][STEPS]; /* direction d's step i: SMALL, STOP, CAND */
};

__device__ __forceinline__ int64_t up(int64_t v, int d) {
  return (int64_t)__shfl_up_sync(0xffffffffu, (long long)v, (unsigned)d);
}

/* The left sums of direction d's step i (front: sorted 0..i; back: used-1-i..used-1). */
__device__ __forceinline__ void step_sums(const Smem &m, int used, int d, int i, int64_t &g, int64_t &h, int64_t &n) {
  if (d == 0) {
    g = m.cum[i][0], h = m.cum[i][1], n = m.cum[i][2];
    return;
  }
  const int k = used - 2 - i;
  g = m.cum[used - 1][0] - (k >= 0 ? m.cum[k][0] : 0);
  h = m.cum[used - 1][1] - (k >= 0 ? m.cum[k][1] : 0);
  n = m.cum[used - 1][2] - (k >= 0 ? m.cum[k][2] : 0);
}

/* The kept categories' keys and sorted places (code, rank); returns how many. */
__device__ __forceinline__ int sort_codes(Smem &m, int C, const ps_split_params_t &p, int lane) {
  const double inv = PS_DDIV(1.0, p.scale);
  int used = 0;
#pragma unroll
  for (int k = 0; k < PER; k++) {
    const int c = lane + 32 * k;
    const bool kept = c < C && ps_gbdt_cat_kept(m.x[c][2], &p);
    m.kept[c] = kept;
    m.key[c] = kept ? ps_gbdt_cat_key(m.x[c][0], m.x[c][1], inv, p.cat_smooth) : 0.0;
    used += __popc(__ballot_sync(0xffffffffu, kept));
  }
  __syncwarp();
  double mine[PER];
  int r[PER];
#pragma unroll
  for (int k = 0; k < PER; k++) mine[k] = m.key[lane + 32 * k], r[k] = 0;
  for (int c2 = 0; c2 < C; c2++) { /* a category's place: the kept ones before it */
    if (!m.kept[c2]) continue;
    const double k2 = m.key[c2];
#pragma unroll
    for (int k = 0; k < PER; k++) r[k] += ps_gbdt_cat_before(k2, c2, mine[k], lane + 32 * k);
  }
#pragma unroll
  for (int k = 0; k < PER; k++) {
    const int c = lane + 32 * k;
    if (c < C && m.kept[c]) m.rank[c] = (int16_t)r[k], m.code[r[k]] = (int16_t)c;
  }
  __syncwarp();
  return used;
}

/* cum: inclusive sums in sorted order, PER places a lane, a warp scan between lanes (exact). */
__device__ __forceinline__ void prefix_sums(Smem &m, int used, int lane) {
  int64_t lg = 0, lh = 0, ln = 0;
#pragma unroll
  for (int t = 0; t < PER; t++) {
    const int i = PER * lane + t;
    if (i < used) {
      const int c = m.code[i];
      lg += m.x[c][0], lh += m.x[c][1], ln += m.x[c][2];
    }
  }
  int64_t ig = lg, ih = lh, in = ln;
  for (int d = 1; d < 32; d <<= 1) {
    int64_t a = up(ig, d), b = up(ih, d), c = up(in, d);
    if (lane >= d) ig += a, ih += b, in += c;
  }
  int64_t cg = ig - lg, ch = ih - lh, cn = in - ln;
#pragma unroll
  for (int t = 0; t < PER; t++) {
    const int i = PER * lane + t;
    if (i < used) {
      const int c = m.code[i];
      cg += m.x[c][0], ch += m.x[c][1], cn += m.x[c][2];
      m.cum[i][0] = cg, m.cum[i][1] = ch, m.cum[i][2] = cn;
    }
  }
  __syncwarp();
}

/* Each step's flags; then lane d walks direction d's min_data_per_group chain. */
__device__ __forceinline__ void candidates(Smem &m, int used, int maxc, int64_t H, int64_t N,
                                           const ps_split_params_t &p, int lane) {
  for (int d = 0; d < 2; d++)
#pragma unroll
    for (int k = 0; k < STEPS / 32; k++) {
      const int i = lane + 32 * k;
      if (i >= maxc) continue;
      int64_t g, h, n;
      step_sums(m, used, d, i, g, h, n);
      m.flag[d][i] = (uint8_t)(ps_gbdt_cat_small(h, n, &p) ? SMALL : ps_gbdt_cat_stop(H - h, N - n, &p) ? STOP : 0);
    }
  __syncwarp();
  if (lane < 2) {
    int64_t base = 0; /* rows left at the last candidate: the group is what joined since */
    for (int i = 0; i < maxc; i++) {
      const int fl = m.flag[lane][i];
      if (fl & SMALL) continue;
      if (fl & STOP) break;
      int64_t g, h, n;
      step_sums(m, used, lane, i, g, h, n);
      if (n - base < p.cat_min_group) continue;
      base = n;
      m.flag[lane][i] = CAND;
    }
  }
  __syncwarp();
}

template <class Hist>
__global__ void __launch_bounds__(32)
    cat_kernel(Hist hist, const int64_t *__restrict__ bin_off, const uint8_t *__restrict__ cat,
               const uint8_t *__restrict__ use, int64_t G, int64_t H, int64_t N, ps_split_params_t param,
               ps_split_t *per, uint32_t *sets) {
  __shared__ Smem m;
  const ps_split_params_t p = param; /* a local: split_cat_cpu.h's rules take its address */
  const int lane = threadIdx.x;
  const int64_t j = blockIdx.x;
  if (!cat[j] || (use && !use[j])) return; /* split.cu's pass wrote feature -1 */
  const int64_t q0 = bin_off[j] + 1;
  const int C = (int)(bin_off[j + 1] - q0);
#pragma unroll
  for (int k = 0; k < PER; k++) {
    const int c = lane + 32 * k;
    if (c < C) hist.at(q0 + c, m.x[c][0], m.x[c][1], m.x[c][2]);
  }
  __syncwarp();
  const double parent = ps_gbdt_split_parent(G, H, p.scale, p.l2);
  const bool onehot = C <= p.cat_onehot;
  double best = p.min_gain;
  int bkey = -1, used = 0;
  if (onehot) {
#pragma unroll
    for (int k = 0; k < PER; k++) {
      const int c = lane + 32 * k;
      if (c >= C) continue;
      const double g = ps_gbdt_cat_gain(m.x[c][0], m.x[c][1], m.x[c][2], G, H, N, parent, p.l2, &p);
      if (g > best) best = g, bkey = c;
    }
  } else {
    used = sort_codes(m, C, p, lane);
    prefix_sums(m, used, lane);
    const int maxc = ps_gbdt_cat_max_set(used, &p);
    candidates(m, used, maxc, H, N, p, lane);
    const double l2x = PS_DADD(p.l2, p.cat_l2);
    for (int d = 0; d < 2; d++)
#pragma unroll
      for (int k = 0; k < STEPS / 32; k++) {
        const int i = lane + 32 * k;
        if (i >= maxc || m.flag[d][i] != CAND) continue;
        int64_t g, h, n;
        step_sums(m, used, d, i, g, h, n);
        const double x = ps_gbdt_cat_gain(g, h, n, G, H, N, parent, l2x, &p);
        if (x > best) best = x, bkey = d * STEPS + i;
      }
  }
  double wg = best; /* the warp's first best: a total order, the same winner for any reduction tree */
  int wk = bkey;
  warp_best(wg, wk);
  if (wk < 0) {
    if (lane == 0) per[j].feature = -1;
    return;
  }
  const int d = wk / STEPS, i = wk % STEPS;
#pragma unroll
  for (int k = 0; k < WORDS; k++) { /* the set: 32 codes a ballot, a little-endian word of the bitmap */
    const int c = lane + 32 * k;
    bool in = onehot ? c == wk
                     : c < C && m.kept[c] && (d == 0 ? m.rank[c] <= i : m.rank[c] >= used - 1 - i);
    unsigned w = __ballot_sync(0xffffffffu, in);
    if (lane == 0) sets[j * WORDS + k] = w;
  }
  if (lane == 0) {
    ps_split_t r;
    r.gain = wg;
    r.feature = (int32_t)j;
    r.bin = 0;
    r.default_left = 0;
    if (onehot) r.lg = m.x[wk][0], r.lh = m.x[wk][1], r.ln = m.x[wk][2];
    else step_sums(m, used, d, i, r.lg, r.lh, r.ln);
    per[j] = r;
  }
}

/* The best over features in feature order (split.cu's best_kernel), its set copied. */
template <class Hist>
__global__ void pick_kernel(const ps_split_t *__restrict__ per, const uint32_t *__restrict__ sets, int64_t f,
                            const uint8_t *__restrict__ cat, Hist hist, const int64_t *__restrict__ bin_off,
                            int64_t N, double min_gain, ps_split_t *out, uint8_t *set) {
  ps_split_t b;
  b.gain = min_gain;
  b.feature = -1;
  b.bin = 0;
  b.default_left = 0;
  b.lg = b.lh = b.ln = 0;
  for (int64_t j = 0; j < f; j++)
    if (per[j].feature >= 0 && per[j].gain > b.gain) b = per[j];
  const bool is_cat = b.feature >= 0 && cat[b.feature];
  if (b.feature >= 0 && !is_cat) { /* no missing rows at a numeric node: missing values go to the larger side */
    int64_t mg, mh, mn;
    hist.at(bin_off[b.feature], mg, mh, mn);
    if (mn == 0) b.default_left = b.ln >= N - b.ln;
  }
  for (int k = 0; k < PS_GBDT_CAT_BYTES; k++)
    set[k] = is_cat ? (uint8_t)(sets[b.feature * WORDS + k / 4] >> (8 * (k % 4))) : 0;
  *out = b;
}

template <class Hist>
void search(Hist hist, const int64_t *h, const ps_split_q_t *q, int64_t f, const int64_t *bin_off,
            const uint8_t *cat, const uint8_t *use, int64_t G, int64_t H, int64_t N, ps_split_params_t p, void *work,
            ps_split_t *best, uint8_t *set, cudaStream_t s) {
  ps_split_t *per = (ps_split_t *)work;
  uint32_t *sets = (uint32_t *)(per + (f > 0 ? f : 1));
  ps_gbdt_split_features_cuda(h, q, f, bin_off, use, cat, G, H, N, p, per, s);
  if (f > 0) {
    PS_LAUNCH(ps_grid_1d((uint64_t)f, 1), 32, 0, s, cat_kernel<Hist>)(hist, bin_off, cat, use, G, H, N, p, per, sets);
    CUDA_CHECK(cudaGetLastError());
  }
  PS_LAUNCH(1, 1, 0, s, pick_kernel<Hist>)(per, sets, f, cat, hist, bin_off, N, p.min_gain, best, set);
  CUDA_CHECK(cudaGetLastError());
}

} // namespace

extern "C" size_t ps_gbdt_split_cat_work(int64_t f) {
  return (sizeof(ps_split_t) + PS_GBDT_CAT_BYTES) * (size_t)(f > 0 ? f : 1);
}

extern "C" void ps_gbdt_split_cat_cuda(const int64_t *hist, int64_t f, const int64_t *bin_off, const uint8_t *cat,
                                       const uint8_t *use, int64_t G, int64_t H, int64_t N, ps_split_params_t p,
                                       void *work, ps_split_t *best, uint8_t *set, cudaStream_t s) {
  search(Exact{hist}, hist, NULL, f, bin_off, cat, use, G, H, N, p, work, best, set, s);
}

extern "C" void ps_gbdt_split_cat_q_cuda(const int64_t *hist2, int64_t f, const int64_t *bin_off, const uint8_t *cat,
                                         const uint8_t *use, int64_t G, int64_t H, int64_t N, ps_split_params_t p,
                                         ps_split_q_t q, void *work, ps_split_t *best, uint8_t *set, cudaStream_t s) {
  search(Quant{hist2, q}, hist2, &q, f, bin_off, cat, use, G, H, N, p, work, best, set, s);
}
