/* hist_q.cu: a leaf's histogram of quantized, packed gradients on the
 * device (issue 28; twin: hist_q_cpu.c), and every leaf's exact gradient
 * sums. Features are cut into groups of at most 32 whose bins fit a block's
 * shared memory (grid.y = group); each block sums a range of the leaf's
 * rows (grid.x). A thread owns one chunk of V features of the group (V =
 * 16: one 128-bit load of 16 bins) and walks rows, so feature and row
 * indices come from loop counters (no division per element).
 * Bank-conflict-free atomics: feature jj of a group lives in bank jj (bin
 * b at word jj + 32 b of each of three 32 KiB arrays: g, h, packed), and
 * each thread permutes its chunk's bins by its row slot rot (step k takes
 * the load's byte k ^ rot), so at every step the 32 lanes of a warp add to
 * 32 different features: 32 banks, one wavefront an atomic, whatever the
 * bins (0/1 and one-hot columns included; before, lanes on one feature
 * met in a bank ~3.5 times for random bins, 16 times for a 0/1 column).
 * Shared-memory accumulators are 32-bit with native atomics: the row's
 * packed word (qg << 16) + qh added whole when the block's rows times Q <
 * 2^15 (hist_q_cpu.c's proof: neither half overflows); else, for Q <= 15
 * (4-bit), packed runs of under 2^15 / Q rows, each folded into int32 g
 * and h sums by their owner threads; else qg and qh added as two int32
 * (|sum| < per-block rows * Q < 2^31, kept so by the block count).
 * Widened to int64 once, when a block adds its nonzero bins into the
 * output (int64 atomics in global memory). Integer sums: the twin's bits
 * for any number of blocks, in any order. */
#include <stdlib.h>

#include "common/cuda_check.h"
#include "common/launch.h"
#include "gbdt/gbdt_math.h"
#include "gbdt/hist_q.h"

struct ps_gbdt_hist_q_plan {
  int64_t f, total_bins;
  int ngroups, vec, row_blocks;
  size_t smem;      /* dynamic shared memory of a block: 3 x WORDS cells */
  int64_t *bin_off; /* device [f+1] */
  int32_t *group;   /* device [ngroups+1] first feature of each group */
  int32_t *width;   /* device [ngroups] the most bins a feature of the group has */
};

namespace {

constexpr int THREADS = 512;
constexpr int SLOTS = 32;                          /* features a group at most: one bank each */
constexpr int WORDS = SLOTS * (PS_GBDT_MAX_BIN + 1); /* a block's cells: word jj + 32 b, g then h then packed */
constexpr int64_t PACK_LIMIT = (int64_t)1 << 15;   /* block rows * Q below it: packed 16 + 16 */
constexpr int64_t WIDE_LIMIT = (int64_t)1 << 31;   /* block rows * Q below it: two int32 */
constexpr int FOLD_MIN = 2048; /* packed runs at least this long (Q <= 15) are folded, not two atomics a value */

/* A shared-memory cell's address and a native 32-bit add to it (one
 * ATOMS.ADD, the offset an immediate): on the GPU a 32-bit shared-window
 * address, so a cell is one LEA from its feature's bin 0; on the emulated
 * device a pointer and atomicAdd. */
#if !defined(PROPSCORE_CUDA_SIM)
typedef uint32_t cell_t;
__device__ __forceinline__ cell_t cell_of(uint32_t *p) {
  uint32_t a; /* volatile: computed once, kept in a register (ptxas otherwise re-reads SR_CgaCtaId a row) */
  asm volatile("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(a) : "l"(p));
  return a;
}
/* v, opaque to the compiler: computed where it stands, once, not re-derived inside the row loop */
__device__ __forceinline__ uint32_t pinned(uint32_t v) {
  asm volatile("mov.b32 %0, %0;" : "+r"(v));
  return v;
}
template <int OFF> __device__ __forceinline__ void cell_add(cell_t a, uint32_t v) {
  asm volatile("red.shared.add.u32 [%0+%2], %1;" ::"r"(a), "r"(v), "n"(OFF) : "memory");
}
#else
typedef char *cell_t;
inline cell_t cell_of(uint32_t *p) { return (char *)p; }
template <class T> inline T pinned(T v) { return v; }
template <int OFF> inline void cell_add(cell_t a, uint32_t v) { atomicAdd((uint32_t *)(a + OFF), v); }
#endif

/* The V bins of one chunk of a row (16 bytes in one 128-bit load, 4 in
 * one 32-bit load, or 1), permuted by the thread's rot: bin(k) is the
 * load's byte k ^ rot. The words are swapped by rot's bits 2, 3 (SEL) once
 * a row; the bytes within a word by bin()'s byte_perm selector (PRMT, one
 * a bin as without permutation). */
template <int V> struct chunk_t {
  uint32_t w[(V + 3) / 4];
  uint32_t sel[V < 4 ? 1 : 4]; /* PRMT selectors: byte j ^ (rot & 3), zero-extended */
  __device__ __forceinline__ explicit chunk_t(int rot) {
#pragma unroll
    for (int j = 0; j < (V < 4 ? 1 : 4); j++) sel[j] = pinned(0x4440u | (uint32_t)(j ^ (rot & 3)));
  }
  __device__ __forceinline__ void load(const uint8_t *p, int rot) {
    if constexpr (V == 16) {
      const uint4 v = *(const uint4 *)p;
      const bool a = rot & 4, b = rot & 8;
      const uint32_t x0 = a ? v.y : v.x, x1 = a ? v.x : v.y, x2 = a ? v.w : v.z, x3 = a ? v.z : v.w;
      w[0] = b ? x2 : x0, w[1] = b ? x3 : x1, w[2] = b ? x0 : x2, w[3] = b ? x1 : x3;
    } else if constexpr (V == 4) {
      w[0] = *(const uint32_t *)p;
    } else {
      w[0] = *p;
    }
  }
  __device__ __forceinline__ uint32_t bin(int k) const {
    if constexpr (V == 1) return w[0];
    return __byte_perm(w[k >> 2], 0, sel[k & 3]);
  }
};

/* This block's rows [r0, r1) into the shared cells sh (bin b of the
 * group's feature jj: g at word jj + 32 b, h at + WORDS, packed at + 2
 * WORDS). Thread t takes chunk t % cpt (then + cpt ...) of rows r0 + t /
 * cpt, + R, ...: the only divisions are these two, once a thread. Its
 * rot = (t / cpt) % V differs between the lanes of a warp that share a
 * chunk, so the feature at step k, chunk * V + (k ^ rot), differs between
 * all 32 lanes when the group has 32 features: 32 banks, one wavefront. */
template <int V, bool PACKED>
__device__ __forceinline__ void accumulate(const uint8_t *__restrict__ B, int64_t f, int j0, int nchunk,
                                           const int64_t *__restrict__ rows, int64_t r0, int64_t r1,
                                           const int32_t *__restrict__ gh, uint32_t *sh) {
  const int cpt = nchunk < THREADS ? nchunk : THREADS, R = THREADS / cpt;
  const int c0 = (int)threadIdx.x % cpt, ro = (int)threadIdx.x / cpt, rot = ro % V;
  if (ro >= R) return;
  const cell_t sb = cell_of(sh);
  for (int c = c0; c < nchunk; c += cpt) {
    cell_t base[V]; /* bin 0 of step k's feature */
#pragma unroll
    for (int k = 0; k < V; k++) base[k] = pinned(sb + 4 * (c * V + (k ^ rot)));
    const uint8_t *col = B + j0 + c * V;
    chunk_t<V> b(rot);
    for (int64_t r = r0 + ro; r < r1; r += R) {
      const int64_t i = rows ? rows[r] : r;
      const uint32_t w = (uint32_t)gh[i];
      b.load(col + i * f, rot);
#pragma unroll
      for (int k = 0; k < V; k++) {
        const cell_t cell = base[k] + (b.bin(k) << 7); /* + 32 words a bin: one IMAD */
        if constexpr (PACKED) {
          cell_add<8 * WORDS>(cell, w);
        } else {
          cell_add<0>(cell, (uint32_t)PS_GBDT_QG(w)); /* two's complement: the int32 sum's bits */
          cell_add<4 * WORDS>(cell, (uint32_t)PS_GBDT_QH(w));
        }
      }
    }
  }
}

__device__ __forceinline__ void add_i64(int64_t *p, int64_t v) {
  if (v != 0) atomicAdd((unsigned long long *)p, (unsigned long long)v); /* two's complement: exact */
}

/* A packed word's (sum qg, sum qh), as the twin widens it: low half = sum qh (>= 0), the rest sum qg. */
__device__ __forceinline__ int32_t packed_g(uint32_t a) { return (int32_t)(int16_t)(uint16_t)((a - (a & 0xFFFFu)) >> 16); }

template <int V>
__global__ void __launch_bounds__(THREADS, 2)
    hist_q_kernel(const uint8_t *__restrict__ B, int64_t f, const int64_t *__restrict__ bin_off,
                  const int32_t *__restrict__ group, const int32_t *__restrict__ width,
                  const int64_t *__restrict__ rows, int64_t m, int64_t per_block, const int32_t *__restrict__ gh,
                  int32_t qmax, int fold, int64_t *hist) {
  extern __shared__ uint32_t shq[];
  const int j0 = group[blockIdx.y], fg = group[blockIdx.y + 1] - j0;
  const int words = SLOTS * width[blockIdx.y]; /* cells in use: slots x the group's most bins */
  const int64_t r0 = (int64_t)blockIdx.x * per_block;
  const int64_t r1 = r0 + per_block < m ? r0 + per_block : m;
  const bool packed = (r1 - r0) * (int64_t)qmax < PACK_LIMIT; /* the same for the whole block */
  for (int q = threadIdx.x; q < words; q += THREADS) shq[q] = shq[WORDS + q] = shq[2 * WORDS + q] = 0;
  __syncthreads();
  const int nchunk = fg / V; /* groups are whole chunks (the plan) */
  if (packed) {
    accumulate<V, true>(B, f, j0, nchunk, rows, r0, r1, gh, shq);
  } else if (fold) { /* packed runs of `fold` rows (< 2^15 / Q), each folded into the int32 g, h */
    for (int64_t s0 = r0; s0 < r1; s0 += fold) {
      accumulate<V, true>(B, f, j0, nchunk, rows, s0, s0 + fold < r1 ? s0 + fold : r1, gh, shq);
      __syncthreads();
      for (int q = threadIdx.x; q < words; q += THREADS) {
        const uint32_t a = shq[2 * WORDS + q];
        if (a == 0) continue;
        shq[q] += (uint32_t)packed_g(a); /* wraps as int32: exact by the bound */
        shq[WORDS + q] += a & 0xFFFFu;
        shq[2 * WORDS + q] = 0;
      }
      __syncthreads();
    }
  } else {
    accumulate<V, false>(B, f, j0, nchunk, rows, r0, r1, gh, shq);
  }
  __syncthreads();
  for (int q = threadIdx.x; q < words; q += THREADS) {
    const int jj = q & (SLOTS - 1), b = q / SLOTS;
    int64_t g, h;
    if (packed) {
      const uint32_t a = shq[2 * WORDS + q];
      g = packed_g(a);
      h = (int64_t)(a & 0xFFFFu);
    } else {
      g = (int64_t)(int32_t)shq[q];
      h = (int64_t)(int32_t)shq[WORDS + q];
    }
    if ((g | h) == 0) continue; /* also every cell past a feature's bins, and slots past the group's */
    int64_t *out = hist + 2 * (bin_off[j0 + jj] + b);
    add_i64(out, g);
    add_i64(out + 1, h);
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

/* Groups of whole V-feature chunks, in order, at most SLOTS features, while
 * their bins fit max_bins (at least one chunk a group); w[q] = the most
 * bins a feature of group q has. */
int plan_groups(const int64_t *bin_off, int64_t f, int v, int64_t max_bins, int32_t *g, int32_t *w) {
  int ng = 0;
  for (int64_t j = 0; j < f;) {
    int64_t k = j + v;
    while (k < f && k + v - j <= SLOTS && bin_off[k + v] - bin_off[j] <= max_bins) k += v;
    w[ng] = 1;
    for (int64_t i = j; i < k; i++)
      if (bin_off[i + 1] - bin_off[i] > w[ng]) w[ng] = (int32_t)(bin_off[i + 1] - bin_off[i]);
    g[ng++] = (int32_t)j;
    j = k;
  }
  g[ng] = (int32_t)f;
  w[ng] = 0;
  return ng;
}

} // namespace

extern "C" ps_gbdt_hist_q_plan_t *ps_gbdt_hist_q_plan_create(const int64_t *bin_off, int64_t f, size_t max_smem,
                                                             cudaStream_t s) {
  if (max_smem == 0) max_smem = (size_t)96 << 10;
  ps_gbdt_hist_q_plan_t *p = (ps_gbdt_hist_q_plan_t *)calloc(1, sizeof *p);
  int32_t *g = (int32_t *)malloc(sizeof(int32_t) * (size_t)(f + 1)), *w = (int32_t *)malloc(sizeof(int32_t) * (size_t)(f + 1));
  if (!p || !g || !w) ps_die_local("out of memory (histogram plan)");
  p->f = f;
  p->total_bins = f > 0 ? bin_off[f] : 0;
  p->vec = f % 16 == 0 ? 16 : f % 4 == 0 ? 4 : 1;
  int64_t max_bins = (int64_t)(max_smem / (3 * sizeof(uint32_t)));
  if (max_bins < p->vec * (PS_GBDT_MAX_BIN + 1)) max_bins = p->vec * (PS_GBDT_MAX_BIN + 1);
  int ng = plan_groups(bin_off, f, p->vec, max_bins, g, w);
  if (ng > 65535) ps_die_local("histogram kernel: %d feature groups exceed CUDA's 65535 grid rows", ng);
  p->ngroups = ng;
  p->smem = (size_t)3 * WORDS * sizeof(uint32_t); /* 96 KiB: the cells' fixed offsets are immediates */
  CUDA_CHECK(cudaMalloc((void **)&p->bin_off, sizeof(int64_t) * (size_t)(f + 1)));
  CUDA_CHECK(cudaMalloc((void **)&p->group, sizeof(int32_t) * (size_t)(ng + 1)));
  CUDA_CHECK(cudaMalloc((void **)&p->width, sizeof(int32_t) * (size_t)(ng + 1)));
  CUDA_CHECK(cudaMemcpyAsync(p->bin_off, bin_off, sizeof(int64_t) * (size_t)(f + 1), cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaMemcpyAsync(p->group, g, sizeof(int32_t) * (size_t)(ng + 1), cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaMemcpyAsync(p->width, w, sizeof(int32_t) * (size_t)(ng + 1), cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
  free(g);
  free(w);
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
  CUDA_CHECK(cudaFree(p->width));
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
    PS_LAUNCH(grid, THREADS, p->smem, s, hist_q_kernel<16>)(B, p->f, p->bin_off, p->group, p->width, rows, m, per, gh, qmax, fold, hist);
  else if (v == 4)
    PS_LAUNCH(grid, THREADS, p->smem, s, hist_q_kernel<4>)(B, p->f, p->bin_off, p->group, p->width, rows, m, per, gh, qmax, fold, hist);
  else
    PS_LAUNCH(grid, THREADS, p->smem, s, hist_q_kernel<1>)(B, p->f, p->bin_off, p->group, p->width, rows, m, per, gh, qmax, fold, hist);
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
