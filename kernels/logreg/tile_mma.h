/* tile_mma.h: device helpers shared by the tiled logistic-regression kernels
 * (grad.cu, score.cu; design and roofline: docs/PROFILING.md):
 *   ps_dmma      one FP64 tensor-core product D (8x8) = A (8x4) B (4x8) + C
 *                for a warp (mma.sync m8n8k4 f64, sm_80+), emulated by
 *                shuffles on the emulated device;
 *   ps_stage_rows  a tile of rows from global into shared memory with a
 *                padded stride: 16-byte cp.async copies when the rows allow
 *                it (else plain loads), rows past the end zero-filled;
 *   ps_tile_logits  the logits of 16 rows of a staged tile for 8*NT heads,
 *                half of the columns (the warp pair splits them);
 *   ps_pair_logits  both halves added through shared memory, bias included.
 * Fragment layouts (PTX ISA, mma.m8n8k4.f64): lane l, g = l / 4, t = l % 4
 * holds A[g][t], B[t][g] and D[g][2t], D[g][2t + 1]. */
#ifndef PS_TILE_MMA_H
#define PS_TILE_MMA_H
#include <cuda_pipeline.h>
#include <stdint.h>

namespace ps_tile {

constexpr int THREADS = 256; // 8 warps: 4 pairs of warps, 16 rows a pair

/* D = A B + C for the warp (all 32 lanes must call it together). */
__device__ __forceinline__ void dmma(double &d0, double &d1, double a, double b, double c0, double c1) {
#if defined(__CUDA_ARCH__)
  asm volatile("mma.sync.aligned.m8n8k4.row.col.f64.f64.f64.f64 {%0, %1}, {%2}, {%3}, {%4, %5};\n"
               : "=d"(d0), "=d"(d1)
               : "d"(a), "d"(b), "d"(c0), "d"(c1));
#else
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  double s0 = c0, s1 = c1;
  for (int k = 0; k < 4; k++) {
    const double ak = __shfl_sync(0xffffffffu, a, g * 4 + k);
    const double b0 = __shfl_sync(0xffffffffu, b, (2 * t) * 4 + k);
    const double b1 = __shfl_sync(0xffffffffu, b, (2 * t + 1) * 4 + k);
    s0 = fma(ak, b0, s0);
    s1 = fma(ak, b1, s1);
  }
  d0 = s0;
  d1 = s1;
#endif
}

template <typename T> __device__ __forceinline__ double widen(T v) { return (double)(float)v; }

/* Shared stride (elements of T) of a staged row of `cols`: a multiple of 16
 * bytes (cp.async destinations) and = 4 (mod 32) 4-byte words, so the 8 rows
 * x 4 columns of an A fragment fall in 32 different banks. */
__host__ __device__ inline int row_stride(int cols, int esz) {
  int words = (cols * esz + 3) / 4;
  words = (words + 3) / 4 * 4;
  return (words + ((4 - words % 32) + 32) % 32) * 4 / esz;
}

/* Rows [r0, r0 + rows) of src (row length ld elements) into dst (stride cs),
 * rows [rows, R) zero-filled. vec: every row starts 16-byte aligned and
 * cols*sizeof(T) is a multiple of 16 (checked by the host): cp.async of 16
 * bytes, completed by the caller's __pipeline_commit/__pipeline_wait_prior;
 * else plain loads. Every warp takes rows warp, warp + 8, ... */
template <typename T>
__device__ __forceinline__ void stage_rows(T *dst, const T *__restrict__ src, int64_t r0, int rows, int R, int ld,
                                           int cols, int cs, bool vec) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const T *s = src + r0 * (int64_t)ld;
  if (vec) {
    const int per = cols * (int)sizeof(T) / 16, ev = 16 / (int)sizeof(T);
    for (int r = warp; r < rows; r += THREADS / 32)
      for (int q = lane; q < per; q += 32)
        __pipeline_memcpy_async(dst + r * cs + q * ev, s + (int64_t)r * ld + q * ev, 16);
  } else {
    for (int r = warp; r < rows; r += THREADS / 32)
      for (int j = lane; j < cols; j += 32) dst[r * cs + j] = s[(int64_t)r * ld + j];
  }
  for (int r = rows + warp; r < R; r += THREADS / 32)
    for (int j = lane; j < cs; j += 32) dst[r * cs + j] = T(0.0f);
}

/* The logits (no bias) of rows [16p, 16p + 16) of the tile xs (stride cs, c
 * columns; widened to float64 once per fragment) for heads [0, 8 NT): theta
 * in shared memory as th[h * ct + j] (zero past c and past k). The warp of
 * the pair with half = 0 takes column groups [0, KS/2), half = 1 the rest;
 * d[m][nt][i]: rows 16p + 8m + g, head 8 nt + 2t + i. */
template <typename T, int NT>
__device__ __forceinline__ void tile_logits(const T *xs, int cs, int c, const double *th, int ct, int p, int half,
                                            double (&d)[2][NT][2]) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int KS = (c + 3) / 4, mid = (KS + 1) / 2;
  const int k0 = half ? mid : 0, k1 = half ? KS : mid;
#pragma unroll
  for (int m = 0; m < 2; m++)
#pragma unroll
    for (int nt = 0; nt < NT; nt++) d[m][nt][0] = d[m][nt][1] = 0.0;
  const T *x0 = xs + (16 * p + g) * cs, *x1 = x0 + 8 * cs;
#pragma unroll 4
  for (int ks = k0; ks < k1; ks++) {
    const int j = ks * 4 + t;
    const double a0 = j < c ? widen(x0[j]) : 0.0, a1 = j < c ? widen(x1[j]) : 0.0;
#pragma unroll
    for (int nt = 0; nt < NT; nt++) {
      const double b = th[(nt * 8 + g) * ct + j];
      dmma(d[0][nt][0], d[0][nt][1], a0, b, d[0][nt][0], d[0][nt][1]);
      dmma(d[1][nt][0], d[1][nt][1], a1, b, d[1][nt][0], d[1][nt][1]);
    }
  }
}

/* The logits with bias of the pair's 16 rows, all columns: each warp of the
 * pair takes half of the columns (tile_logits), the half = 1 warp hands its
 * partial to the half = 0 warp through zx (512 NT doubles of shared memory)
 * -- one exchange a tile instead of butterflies a row. Afterwards the
 * half = 0 warps of pairs with rows hold z[m][nt][i] for row 16p + 8m + g,
 * head 8nt + 2t + i. SPLIT (NT = 2): the warps swap halves instead, so the
 * half = h warp holds the head tile nt = h (the loss then runs on all four
 * SM sub-partitions); the same bits (a + b = b + a). Has a barrier: every
 * thread of the block calls it. */
template <typename T, int NT, bool SPLIT = false>
__device__ __forceinline__ void pair_logits(const T *xs, int cs, int c, const double *th, int ct, int p, int half,
                                            bool pair_on, double *zx, const double *bias, double (&z)[2][NT][2]) {
  static_assert(!SPLIT || NT == 2, "SPLIT: one head tile a warp");
  const int lane = threadIdx.x & 31, t = lane & 3;
  if (pair_on) {
    tile_logits<T, NT>(xs, cs, c, th, ct, p, half, z);
#pragma unroll
    for (int m = 0; m < 2; m++)
#pragma unroll
      for (int nt = 0; nt < NT; nt++)
        if (SPLIT ? nt != half : half != 0)
#pragma unroll
          for (int i = 0; i < 2; i++) zx[((p * 2 + m) * NT + nt) * 64 + i * 32 + lane] = z[m][nt][i];
  }
  __syncthreads();
  if (pair_on) {
#pragma unroll
    for (int m = 0; m < 2; m++)
#pragma unroll
      for (int nt = 0; nt < NT; nt++)
        if (SPLIT ? nt == half : half == 0)
#pragma unroll
          for (int i = 0; i < 2; i++)
            z[m][nt][i] = (z[m][nt][i] + zx[((p * 2 + m) * NT + nt) * 64 + i * 32 + lane]) + bias[nt * 8 + 2 * t + i];
  }
}

/* Theta of heads [0, kk) (stride c + 1 in global, bias last) into th[h * ct
 * + j] for h < 8 NT, j < ct, zeros elsewhere; biases into bias[8 NT]. */
__device__ __forceinline__ void stage_theta(const double *__restrict__ theta, int c, int kk, int heads, int ct,
                                            double *th, double *bias) {
  for (int e = threadIdx.x; e < heads * ct; e += THREADS) {
    const int h = e / ct, j = e - h * ct;
    th[e] = h < kk && j < c ? theta[(size_t)h * (c + 1) + j] : 0.0;
  }
  for (int h = threadIdx.x; h < heads; h += THREADS) bias[h] = h < kk ? theta[(size_t)h * (c + 1) + c] : 0.0;
}

/* Theta's shared stride: >= the columns the fragments read (4 KS) and = 4
 * (mod 16) doubles, so a half-warp's B fragment hits 16 different bank pairs. */
__host__ __device__ inline int theta_stride(int c) {
  int w = (c + 3) / 4 * 4;
  return w + ((4 - w % 16) + 16) % 16;
}

} // namespace ps_tile
#endif
