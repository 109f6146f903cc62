/* hist_q.cu: a leaf's histogram of quantized, packed gradients on the
 * device (issue 28; twin: hist_q_cpu.c), and every leaf's exact gradient
 * sums. Features are cut into groups whose bins fit a block's shared memory
 * (grid.y = group); each block sums a range of the leaf's rows (grid.x).
 * A thread owns one chunk of V features of the group (V = 16: one 128-bit
 * load of 16 bins) and walks rows, so feature and row indices come from
 * loop counters (no division per element); its chunk's bin offsets sit in
 * registers. Shared-memory accumulators are 32-bit with native atomics:
 * the row's packed word (qg << 16) + qh added whole when the block's rows
 * times Q < 2^15 (hist_q_cpu.c's proof: neither half overflows); else,
 * for Q <= 15 (4-bit), packed runs of under 2^15 / Q rows, each folded
 * into int32 g and h sums by their owner threads; else qg and qh added as
 * two int32 (|sum| < per-block rows * Q < 2^31, kept so by the block
 * count). Shared memory: 12 bytes a bin (packed, g, h). Widened to int64 once, when a block adds its nonzero
 * bins into the output (int64 atomics in global memory). Integer sums: the
 * twin's bits for any number of blocks, in any order. */
#include <stdlib.h>

#include "common/cuda_check.h"
#include "common/launch.h"
#include "gbdt/gbdt_math.h"
#include "gbdt/hist_q.h"

struct ps_gbdt_hist_q_plan {
  int64_t f, total_bins;
  int ngroups, vec, row_blocks;
  size_t smem;      /* dynamic shared memory of a block: 12 bytes a bin of the widest group */
  int64_t *bin_off; /* device [f+1] */
  int32_t *group;   /* device [ngroups+1] first feature of each group */
  int32_t *loff;    /* device [f] a feature's first bin within its group */
};

namespace {

constexpr int THREADS = 512;
constexpr int64_t PACK_LIMIT = (int64_t)1 << 15; /* block rows * Q below it: packed 16 + 16 */
constexpr int64_t WIDE_LIMIT = (int64_t)1 << 31; /* block rows * Q below it: two int32 */
constexpr int FOLD_MIN = 2048; /* packed runs at least this long (Q <= 15) are folded, not two atomics a value */

/* The V bins of one chunk of a row: 16 bytes in one 128-bit load, 4 in one 32-bit load, or 1. */
template <int V> struct chunk_t {
  uint32_t w[(V + 3) / 4];
  __device__ __forceinline__ void load(const uint8_t *p) {
    if constexpr (V == 16) {
      const uint4 v = *(const uint4 *)p;
      w[0] = v.x, w[1] = v.y, w[2] = v.z, w[3] = v.w;
    } else if constexpr (V == 4) {
      w[0] = *(const uint32_t *)p;
    } else {
      w[0] = *p;
    }
  }
  __device__ __forceinline__ int bin(int k) const { return (int)((w[k >> 2] >> (8 * (k & 3))) & 0xFFu); }
};

/* This block's rows [r0, r1) into the shared histogram sh (packed: a
 * uint32 a bin; else int32 g [nb] then int32 h [nb], each spread over all
 * 32 banks). Thread t takes chunk t % cpt
 * (then + cpt ...) of rows r0 + t / cpt, + R, ...: the only divisions are
 * these two, once a thread. */
template <int V, bool PACKED>
__device__ __forceinline__ void accumulate(const uint8_t *__restrict__ B, int64_t f, int j0, int nchunk,
                                           const int32_t *__restrict__ loff, const int64_t *__restrict__ rows,
                                           int64_t r0, int64_t r1, const int32_t *__restrict__ gh, uint32_t *sh,
                                           int nb) {
  const int cpt = nchunk < THREADS ? nchunk : THREADS, R = THREADS / cpt;
  const int c0 = (int)threadIdx.x % cpt, ro = (int)threadIdx.x / cpt;
  if (ro >= R) return;
  for (int c = c0; c < nchunk; c += cpt) {
    const int jc = j0 + c * V;
    uint32_t *base[V]; /* feature k's bins in shared memory: an address + the bin a byte */
#pragma unroll
    for (int k = 0; k < V; k++) base[k] = sh + loff[jc + k];
    const uint8_t *col = B + jc;
    for (int64_t r = r0 + ro; r < r1; r += R) {
      const int64_t i = rows ? rows[r] : r;
      const uint32_t w = (uint32_t)gh[i];
      chunk_t<V> b;
      b.load(col + i * f);
#pragma unroll
      for (int k = 0; k < V; k++) {
        uint32_t *cell = base[k] + b.bin(k);
        if constexpr (PACKED) {
          atomicAdd(cell, w);
        } else {
          atomicAdd((int *)cell, (int)PS_GBDT_QG(w));
          atomicAdd((int *)cell + nb, (int)PS_GBDT_QH(w));
        }
      }
    }
  }
}

__device__ __forceinline__ void add_i64(int64_t *p, int64_t v) {
  if (v != 0) atomicAdd((unsigned long long *)p, (unsigned long long)v); /* two's complement: exact */
}

template <int V>
__global__ void __launch_bounds__(THREADS)
    hist_q_kernel(const uint8_t *__restrict__ B, int64_t f, const int64_t *__restrict__ bin_off,
                  const int32_t *__restrict__ group, const int32_t *__restrict__ loff,
                  const int64_t *__restrict__ rows, int64_t m, int64_t per_block, const int32_t *__restrict__ gh,
                  int32_t qmax, int fold, int64_t *hist) {
  extern __shared__ uint32_t shq[];
  const int j0 = group[blockIdx.y], fg = group[blockIdx.y + 1] - j0;
  const int64_t b0 = bin_off[j0];
  const int nb = (int)(bin_off[j0 + fg] - b0);
  const int64_t r0 = (int64_t)blockIdx.x * per_block;
  const int64_t r1 = r0 + per_block < m ? r0 + per_block : m;
  const bool packed = (r1 - r0) * (int64_t)qmax < PACK_LIMIT; /* the same for the whole block */
  const int words = packed ? nb : fold ? 3 * nb : 2 * nb;
  for (int q = threadIdx.x; q < words; q += THREADS) shq[q] = 0;
  __syncthreads();
  const int nchunk = fg / V; /* groups are whole chunks (the plan) */
  if (packed) {
    accumulate<V, true>(B, f, j0, nchunk, loff, rows, r0, r1, gh, shq, nb);
  } else if (fold) { /* packed runs of `fold` rows (< 2^15 / Q), each folded into the int32 g, h */
    uint32_t *pk = shq + 2 * nb;
    for (int64_t s0 = r0; s0 < r1; s0 += fold) {
      accumulate<V, true>(B, f, j0, nchunk, loff, rows, s0, s0 + fold < r1 ? s0 + fold : r1, gh, pk, nb);
      __syncthreads();
      for (int q = threadIdx.x; q < nb; q += THREADS) {
        const uint32_t a = pk[q], lo = a & 0xFFFFu;
        if (a == 0) continue;
        shq[q] += (uint32_t)(int32_t)(int16_t)(uint16_t)((a - lo) >> 16); /* wraps as int32: exact by the bound */
        shq[nb + q] += lo;
        pk[q] = 0;
      }
      __syncthreads();
    }
  } else {
    accumulate<V, false>(B, f, j0, nchunk, loff, rows, r0, r1, gh, shq, nb);
  }
  __syncthreads();
  int64_t *out = hist + 2 * b0;
  for (int q = threadIdx.x; q < nb; q += THREADS) {
    int64_t g, h;
    if (packed) { /* widen as the twin: low half = sum qh (>= 0), the rest sum qg */
      const uint32_t a = shq[q], lo = a & 0xFFFFu;
      g = (int64_t)(int16_t)(uint16_t)((a - lo) >> 16);
      h = (int64_t)lo;
    } else {
      g = (int64_t)(int32_t)shq[q];
      h = (int64_t)(int32_t)shq[nb + q];
    }
    add_i64(out + 2 * q, g);
    add_i64(out + 2 * q + 1, h);
  }
}

constexpr int SUM_THREADS = 256, SUM_BLOCKS = 32;

__global__ void __launch_bounds__(SUM_THREADS)
    leaf_sums_kernel(const int64_t *__restrict__ rows, const int64_t *__restrict__ begin,
                     const int64_t *__restrict__ count, const int64_t *__restrict__ gq,
                     const int64_t *__restrict__ hq, int64_t *sums) {
  const int L = blockIdx.y;
  const int64_t *r = rows + begin[L];
  const int64_t m = count[L];
  int64_t g = 0, h = 0;
#pragma unroll 1
  for (int64_t k = (int64_t)blockIdx.x * SUM_THREADS + threadIdx.x; k < m; k += (int64_t)SUM_BLOCKS * SUM_THREADS) {
    g += gq[r[k]];
    h += hq[r[k]];
  }
  add_i64(sums + 2 * L, g);
  add_i64(sums + 2 * L + 1, h);
}

/* Groups of whole V-feature chunks, in order, while their bins fit max_bins (at least one chunk a group). */
int plan_groups(const int64_t *bin_off, int64_t f, int v, int64_t max_bins, int32_t *g, int *widest) {
  int ng = 0;
  *widest = 1;
  for (int64_t j = 0; j < f;) {
    int64_t k = j + v;
    while (k < f && bin_off[k + v] - bin_off[j] <= max_bins) k += v;
    if (bin_off[k] - bin_off[j] > *widest) *widest = (int)(bin_off[k] - bin_off[j]);
    g[ng++] = (int32_t)j;
    j = k;
  }
  g[ng] = (int32_t)f;
  return ng;
}

} // namespace

extern "C" ps_gbdt_hist_q_plan_t *ps_gbdt_hist_q_plan_create(const int64_t *bin_off, int64_t f, size_t max_smem,
                                                             cudaStream_t s) {
  if (max_smem == 0) max_smem = (size_t)96 << 10;
  ps_gbdt_hist_q_plan_t *p = (ps_gbdt_hist_q_plan_t *)calloc(1, sizeof *p);
  int32_t *g = (int32_t *)malloc(sizeof(int32_t) * (size_t)(f + 1)), *lo = (int32_t *)malloc(sizeof(int32_t) * (size_t)(f + 1));
  if (!p || !g || !lo) ps_die_local("out of memory (histogram plan)");
  p->f = f;
  p->total_bins = f > 0 ? bin_off[f] : 0;
  p->vec = f % 16 == 0 ? 16 : f % 4 == 0 ? 4 : 1;
  int64_t max_bins = (int64_t)(max_smem / (3 * sizeof(uint32_t)));
  if (max_bins < p->vec * (PS_GBDT_MAX_BIN + 1)) max_bins = p->vec * (PS_GBDT_MAX_BIN + 1);
  int widest = 1, ng = plan_groups(bin_off, f, p->vec, max_bins, g, &widest);
  if (ng > 65535) ps_die_local("histogram kernel: %d feature groups exceed CUDA's 65535 grid rows", ng);
  for (int q = 0; q < ng; q++)
    for (int32_t j = g[q]; j < g[q + 1]; j++) lo[j] = (int32_t)(bin_off[j] - bin_off[g[q]]);
  p->ngroups = ng;
  p->smem = (size_t)widest * 3 * sizeof(uint32_t);
  CUDA_CHECK(cudaMalloc((void **)&p->bin_off, sizeof(int64_t) * (size_t)(f + 1)));
  CUDA_CHECK(cudaMalloc((void **)&p->group, sizeof(int32_t) * (size_t)(ng + 1)));
  CUDA_CHECK(cudaMalloc((void **)&p->loff, sizeof(int32_t) * (size_t)(f + 1)));
  CUDA_CHECK(cudaMemcpyAsync(p->bin_off, bin_off, sizeof(int64_t) * (size_t)(f + 1), cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaMemcpyAsync(p->group, g, sizeof(int32_t) * (size_t)(ng + 1), cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaMemcpyAsync(p->loff, lo, sizeof(int32_t) * (size_t)(f + 1), cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
  free(g);
  free(lo);
  if (p->smem > ((size_t)48 << 10)) {
    CUDA_CHECK(cudaFuncSetAttribute(hist_q_kernel<16>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)p->smem));
    CUDA_CHECK(cudaFuncSetAttribute(hist_q_kernel<4>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)p->smem));
    CUDA_CHECK(cudaFuncSetAttribute(hist_q_kernel<1>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)p->smem));
  }
  return p;
}

extern "C" void ps_gbdt_hist_q_plan_destroy(ps_gbdt_hist_q_plan_t *p) {
  if (!p) return;
  CUDA_CHECK(cudaFree(p->bin_off));
  CUDA_CHECK(cudaFree(p->group));
  CUDA_CHECK(cudaFree(p->loff));
  free(p);
}

extern "C" void ps_gbdt_hist_q_plan_set_blocks(ps_gbdt_hist_q_plan_t *p, int row_blocks) { p->row_blocks = row_blocks; }

/* Row blocks: ~8 blocks an SM of an H100 over all groups, at least 4096
 * rows each (smaller blocks to make 8-bit values fit packed words would
 * add about one global int64 atomic a value at the flush: worse than the
 * second shared atomic); never so few that a block's rows * Q reach 2^31. */
static int64_t row_blocks(const ps_gbdt_hist_q_plan_t *p, int64_t m, int32_t qmax) {
  int64_t q = qmax > 0 ? qmax : 1, cap = 1056 / p->ngroups, blocks = p->row_blocks;
  if (cap < 1) cap = 1;
  if (blocks <= 0) {
    blocks = (m + 4095) / 4096;
    if (blocks > cap) blocks = cap;
  }
  int64_t wide = (m + (WIDE_LIMIT - 1) / q - 1) / ((WIDE_LIMIT - 1) / q);
  if (blocks < wide) blocks = wide;
  if (blocks < 1) blocks = 1;
  if (blocks > m) blocks = m;
  if (blocks > 0x7fffffff) ps_die_local("histogram kernel: %lld row blocks exceed CUDA's 2^31-1", (long long)blocks);
  return blocks;
}

extern "C" void ps_gbdt_hist_q_cuda(const ps_gbdt_hist_q_plan_t *p, const uint8_t *B, const int64_t *rows, int64_t m,
                                    const int32_t *gh, int32_t qmax, int64_t *hist, cudaStream_t s) {
  size_t bytes = sizeof(int64_t) * 2 * (size_t)p->total_bins;
  if (bytes) CUDA_CHECK(cudaMemsetAsync(hist, 0, bytes, s));
  if (m <= 0 || p->f <= 0) return;
  int64_t blocks = row_blocks(p, m, qmax), per = (m + blocks - 1) / blocks;
  blocks = (m + per - 1) / per;
  dim3 grid((unsigned)blocks, (unsigned)p->ngroups);
  int fold = qmax > 0 && (PACK_LIMIT - 1) / qmax >= FOLD_MIN ? (int)((PACK_LIMIT - 1) / qmax) : 0;
  int v = ((uintptr_t)B % 16 == 0) ? p->vec : 1; /* a 16-byte load needs 16-byte rows from an aligned start */
  if (v == 16)
    PS_LAUNCH(grid, THREADS, p->smem, s, hist_q_kernel<16>)(B, p->f, p->bin_off, p->group, p->loff, rows, m, per, gh, qmax, fold, hist);
  else if (v == 4)
    PS_LAUNCH(grid, THREADS, p->smem, s, hist_q_kernel<4>)(B, p->f, p->bin_off, p->group, p->loff, rows, m, per, gh, qmax, fold, hist);
  else
    PS_LAUNCH(grid, THREADS, p->smem, s, hist_q_kernel<1>)(B, p->f, p->bin_off, p->group, p->loff, rows, m, per, gh, qmax, fold, hist);
  CUDA_CHECK(cudaGetLastError());
}

extern "C" void ps_gbdt_leaf_sums_cuda(const int64_t *rows, const int64_t *begin, const int64_t *count, int nleaves,
                                       const int64_t *gq, const int64_t *hq, int64_t *sums, cudaStream_t s) {
  if (nleaves <= 0) return;
  CUDA_CHECK(cudaMemsetAsync(sums, 0, sizeof(int64_t) * 2 * (size_t)nleaves, s));
  dim3 grid(SUM_BLOCKS, (unsigned)nleaves);
  PS_LAUNCH(grid, SUM_THREADS, 0, s, leaf_sums_kernel)(rows, begin, count, gq, hq, sums);
  CUDA_CHECK(cudaGetLastError());
}
