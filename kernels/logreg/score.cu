/* score.cu: the fused scoring kernels -- each row of X read once, standardized
 * once per tile (raw rows) or as stored (training rows), K logits on the FP64
 * tensor cores, sigmoid, K probabilities (tile_kernel; roofline in
 * docs/PROFILING.md); rows too wide for a tile in shared memory go through
 * the warp-per-row kernel (rows_kernel). CPU twin: score_cpu.c
 * (ps_score_raw_cpu, ps_score_std_cpu). */
#include <cuda_bf16.h>

#include "common/cuda_check.h"
#include "common/device_limits.h"
#include "common/launch.h"
#include "common/psmath.h"
#include "logreg/logreg_kernels.h"
#include "logreg/tile_mma.h"

namespace {

constexpr int THREADS = 256;

__device__ __forceinline__ float load_x(const float *x, int64_t i) { return __ldg(x + i); }
__device__ __forceinline__ float load_x(const __nv_bfloat16 *x, int64_t i) { return __bfloat162float(x[i]); }

/* Rows too wide for the tiled kernel. One warp per row (grid-stride): lanes take columns j = lane, lane + 32, ...,
 * accumulate all heads' dot products in float64 registers, then a fixed
 * butterfly adds the lanes; lane h writes head h's probability. */
template <typename T, bool RAW>
__global__ void __launch_bounds__(THREADS) rows_kernel(const T *__restrict__ X, int64_t n, int f, int c, int k,
                                                        const int64_t *__restrict__ src,
                                                        const uint8_t *__restrict__ kind,
                                                        const double *__restrict__ mean,
                                                        const double *__restrict__ scale,
                                                        const double *__restrict__ theta, float *__restrict__ P) {
  const int lane = threadIdx.x & 31, c1 = c + 1;
  const int64_t warps = (int64_t)gridDim.x * (THREADS / 32);
  for (int64_t row = ((int64_t)blockIdx.x * THREADS + threadIdx.x) >> 5; row < n; row += warps) {
    double acc[PS_KMAX];
#pragma unroll
    for (int h = 0; h < PS_KMAX; h++) acc[h] = 0.0;
    for (int j = lane; j < c; j += 32) {
      double xv;
      if (RAW)  /* as the CPU twin: standardized in float64, stored as float */
        xv = (double)(float)ps_standardize(load_x(X, row * f + src[j]), kind[j], mean[j], scale[j]);
      else
        xv = (double)load_x(X, row * c + j);
#pragma unroll
      for (int h = 0; h < PS_KMAX; h++)
        if (h < k) acc[h] += xv * theta[(size_t)h * c1 + j];
    }
#pragma unroll
    for (int h = 0; h < PS_KMAX; h++) {
      if (h >= k) break;
      double z = acc[h];
#pragma unroll
      for (int off = 16; off > 0; off >>= 1) z += __shfl_xor_sync(0xffffffffu, z, off);
      if (lane == h) P[(size_t)h * n + row] = (float)ps_sigmoid(z + theta[(size_t)h * c1 + c]);
    }
  }
}

unsigned grid_for(int64_t n) {
  int64_t blocks = (n * 32 + THREADS - 1) / THREADS;
  return (unsigned)(blocks < 132 * 16 ? (blocks > 0 ? blocks : 1) : 132 * 16);
}

/* Shared memory of the tiled kernel: theta [8 NT][ct], biases, the warp
 * pairs' exchange; then the x tiles: two [R][cs] of T (standardized rows),
 * or two raw [R][fs] floats and one standardized [R][cs]. R: the largest of
 * 64, 32, 16 rows within the device's opt-in shared memory per block
 * (budget); 0: too wide (then rows_kernel). */
struct score_shape {
  int nt, R, cs, fs, ct;
  size_t doubles, bytes;
};
score_shape score_plan(int f, int c, int kk, int esz, bool raw, size_t budget) {
  score_shape g;
  g.nt = kk > 8 ? 2 : 1;
  g.cs = ps_tile::row_stride(c, raw ? 4 : esz);
  g.fs = raw ? ps_tile::row_stride(f, 4) : 0;
  g.ct = ps_tile::theta_stride(c);
  g.doubles = ((size_t)8 * g.nt * g.ct + 8 * g.nt + 512 * (size_t)g.nt + 1) / 2 * 2;
  for (g.R = 64; g.R >= 16; g.R /= 2) {
    g.bytes = g.doubles * 8 + (raw ? (size_t)g.R * (2 * (size_t)g.fs + g.cs) * 4 : (size_t)2 * g.R * g.cs * esz);
    if (g.bytes <= budget) return g;
  }
  g.R = 0;
  return g;
}

/* One block walks tiles of R rows b, b + gridDim.x, ...; tile t+1 is in
 * flight (cp.async) while tile t is computed. Raw rows: each thread owns
 * columns j = tid, tid + 256, ..., reads src/kind/mean/scale once per tile
 * and standardizes its column for every row of the tile (rounded to float,
 * as the twin). Logits: warp pair p takes rows [16p, 16p + 16), each warp
 * half of the columns (tile_logits); the second warp's partial goes through
 * shared memory to the first, which adds it and the bias and writes the
 * probabilities of its 16 rows x 8 NT heads. */
template <typename T, int NT, bool RAW>
__global__ void __launch_bounds__(THREADS, 1)
    tile_kernel(const T *__restrict__ X, int64_t n, int f, int c, int k, int R, int cs, int fs, int ct, int vec,
                const int64_t *__restrict__ src, const uint8_t *__restrict__ kind, const double *__restrict__ mean,
                const double *__restrict__ scale, const double *__restrict__ theta, float *__restrict__ P) {
  extern __shared__ double smem[];
  constexpr int H = 8 * NT;
  double *th = smem, *bias = th + H * ct, *zx = bias + H;
  const size_t nd = ((size_t)H * ct + H + 512 * NT + 1) / 2 * 2;
  T *in0 = reinterpret_cast<T *>(smem + nd), *in1 = in0 + R * (RAW ? fs : cs);
  T *xstd = in1 + R * (RAW ? fs : cs); /* RAW only */
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int p = warp >> 1, half = warp & 1, ld = RAW ? f : c, cols = RAW ? f : c, is = RAW ? fs : cs;
  const bool pair_on = 16 * p < R;
  ps_tile::stage_theta(theta, c, k, H, ct, th, bias);
  const int64_t tiles = (n + R - 1) / R;
  int64_t tile = blockIdx.x;
  if (tile < tiles) ps_tile::stage_rows(in0, X, tile * R, (int)min((int64_t)R, n - tile * R), R, ld, cols, is, vec);
  __pipeline_commit();
  for (int it = 0; tile < tiles; tile += gridDim.x, it++) {
    T *in = it & 1 ? in1 : in0, *inn = it & 1 ? in0 : in1;
    const int64_t r0 = tile * R, next = tile + gridDim.x;
    const int rows = (int)min((int64_t)R, n - r0);
    if (next < tiles) ps_tile::stage_rows(inn, X, next * R, (int)min((int64_t)R, n - next * R), R, ld, cols, is, vec);
    __pipeline_commit();
    __pipeline_wait_prior(1);
    __syncthreads();
    const T *xs = in;
    if constexpr (RAW) {
      for (int j = threadIdx.x; j < c; j += THREADS) {
        const int64_t sj = src[j];
        const int kj = kind[j];
        const double mj = mean[j], sc = scale[j];
        for (int r = 0; r < R; r++)
          xstd[r * cs + j] = r < rows ? (float)ps_standardize((float)in[r * fs + sj], kj, mj, sc) : 0.0f;
      }
      __syncthreads();
      xs = xstd;
    }
    double d[2][NT][2];
    ps_tile::pair_logits<T, NT>(xs, cs, c, th, ct, p, half, pair_on, zx, bias, d);
    if (pair_on && !half) {
#pragma unroll
      for (int m = 0; m < 2; m++)
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
#pragma unroll
          for (int i = 0; i < 2; i++) {
            const int row = 16 * p + 8 * m + g, h = nt * 8 + 2 * t + i;
            const double z = d[m][nt][i];
            if (row < rows && h < k) P[(size_t)h * n + r0 + row] = (float)ps_sigmoid(z);
          }
    }
    __syncthreads(); /* the next iteration's copies overwrite this tile */
  }
}

template <typename T, int NT, bool RAW>
void launch_tile(const score_shape &g, const T *X, int64_t n, int f, int c, int kk, const int64_t *src,
                 const uint8_t *kind, const double *mean, const double *scale, const double *th, float *P,
                 cudaStream_t s) {
  /* one wave: SMs x the blocks resident on one (each row's probabilities
   * come from that row alone, so the block count does not change the bits) */
  CUDA_CHECK(cudaFuncSetAttribute(tile_kernel<T, NT, RAW>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)g.bytes));
  int per_sm = 0;
  CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, tile_kernel<T, NT, RAW>, THREADS, g.bytes));
  if (per_sm < 1) ps_die_local("ps_score: a block of %zu bytes of shared memory does not fit an SM", g.bytes);
  const int64_t tiles = (n + g.R - 1) / g.R, wave = (int64_t)ps_device_limits().sms * per_sm;
  const unsigned nb = (unsigned)(tiles < wave ? tiles : wave);
  const int vec = (uintptr_t)X % 16 == 0 && ((size_t)(RAW ? f : c) * sizeof(T)) % 16 == 0;
  PS_LAUNCH(nb, THREADS, g.bytes, s, tile_kernel<T, NT, RAW>)(X, n, f, c, kk, g.R, g.cs, g.fs, g.ct, vec, src, kind,
                                                               mean, scale, th, P);
}

} // namespace

/* Heads go in groups of at most PS_KMAX (a group's sums live in registers):
 * group g scores heads [h0, h0 + kg) from theta + h0 (c+1) into P + h0 n. */
static int head_group(int k, int h0) { return k - h0 < PS_KMAX ? k - h0 : PS_KMAX; }

extern "C" void ps_score_raw(const float *X, int64_t n, int f, int c, int k, const int64_t *src, const uint8_t *kind,
                             const double *mean, const double *scale, const double *theta, float *P, cudaStream_t s) {
  if (n == 0) return;
  for (int h0 = 0; h0 < k; h0 += PS_KMAX) {
    const double *th = theta + (size_t)h0 * (size_t)(c + 1);
    float *Pg = P + (size_t)h0 * (size_t)n;
    const int kk = head_group(k, h0);
    const score_shape g = score_plan(f, c, kk, 4, true, ps_smem_plan_budget());
    if (g.R == 0)
      PS_LAUNCH(grid_for(n), THREADS, 0, s, rows_kernel<float, true>)(X, n, f, c, kk, src, kind, mean, scale, th, Pg);
    else if (g.nt == 1)
      launch_tile<float, 1, true>(g, X, n, f, c, kk, src, kind, mean, scale, th, Pg, s);
    else
      launch_tile<float, 2, true>(g, X, n, f, c, kk, src, kind, mean, scale, th, Pg, s);
    CUDA_CHECK(cudaGetLastError());
  }
}

template <typename T>
static void score_std_group(const T *X, int xtype, int64_t n, int c, int kk, const double *th, float *Pg,
                            cudaStream_t s) {
  const score_shape g = score_plan(c, c, kk, (int)sizeof(T), false, ps_smem_plan_budget());
  if (g.R == 0)
    PS_LAUNCH(grid_for(n), THREADS, 0, s, rows_kernel<T, false>)(X, n, c, c, kk, nullptr, nullptr, nullptr, nullptr,
                                                                 th, Pg);
  else if (g.nt == 1)
    launch_tile<T, 1, false>(g, X, n, c, c, kk, nullptr, nullptr, nullptr, nullptr, th, Pg, s);
  else
    launch_tile<T, 2, false>(g, X, n, c, c, kk, nullptr, nullptr, nullptr, nullptr, th, Pg, s);
}

extern "C" void ps_score_std(const void *X, int xtype, int64_t n, int c, int k, const double *theta, float *P,
                             cudaStream_t s) {
  if (n == 0) return;
  for (int h0 = 0; h0 < k; h0 += PS_KMAX) {
    const double *th = theta + (size_t)h0 * (size_t)(c + 1);
    float *Pg = P + (size_t)h0 * (size_t)n;
    if (xtype == PS_X_BF16)
      score_std_group((const __nv_bfloat16 *)X, xtype, n, c, head_group(k, h0), th, Pg, s);
    else
      score_std_group((const float *)X, xtype, n, c, head_group(k, h0), th, Pg, s);
    CUDA_CHECK(cudaGetLastError());
  }
}

extern "C" uint16_t ps_float_to_bf16(float x) {
  __nv_bfloat16_raw r = __float2bfloat16_rn(x); /* host-callable in cuda_bf16.h */
  return r.x;
}

extern "C" float ps_bf16_to_float(uint16_t u) {
  __nv_bfloat16_raw r;
  r.x = u;
  return __bfloat162float(__nv_bfloat16(r));
}
