/* score.cu: the fused scoring kernel -- each row of X read once, standardized
 * on the fly (raw rows) or as stored (training rows), K logits, sigmoid, K
 * probabilities. CPU twin: score_cpu.c (ps_score_raw_cpu, ps_score_std_cpu). */
#include <cuda_bf16.h>

#include "common/cuda_check.h"
#include "common/launch.h"
#include "common/psmath.h"
#include "logreg/logreg_kernels.h"

namespace {

constexpr int THREADS = 256;

__device__ __forceinline__ float load_x(const float *x, int64_t i) { return __ldg(x + i); }
__device__ __forceinline__ float load_x(const __nv_bfloat16 *x, int64_t i) { return __bfloat162float(x[i]); }

/* One warp per row (grid-stride): lanes take columns j = lane, lane + 32, ...,
 * accumulate all heads' dot products in float64 registers, then a fixed
 * butterfly adds the lanes; lane h writes head h's probability. */
template <typename T, bool RAW>
__global__ void __launch_bounds__(THREADS) score_kernel(const T *__restrict__ X, int64_t n, int f, int c, int k,
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

} // namespace

/* Heads go in groups of at most PS_KMAX (a group's sums live in registers):
 * group g scores heads [h0, h0 + kg) from theta + h0 (c+1) into P + h0 n. */
static int head_group(int k, int h0) { return k - h0 < PS_KMAX ? k - h0 : PS_KMAX; }

extern "C" void ps_score_raw(const float *X, int64_t n, int f, int c, int k, const int64_t *src, const uint8_t *kind,
                             const double *mean, const double *scale, const double *theta, float *P, cudaStream_t s) {
  if (n == 0) return;
  for (int h0 = 0; h0 < k; h0 += PS_KMAX) {
    const double *th = theta + (size_t)h0 * (size_t)(c + 1);
    PS_LAUNCH(grid_for(n), THREADS, 0, s, score_kernel<float, true>)(X, n, f, c, head_group(k, h0), src, kind, mean,
                                                                     scale, th, P + (size_t)h0 * (size_t)n);
    CUDA_CHECK(cudaGetLastError());
  }
}

extern "C" void ps_score_std(const void *X, int xtype, int64_t n, int c, int k, const double *theta, float *P,
                             cudaStream_t s) {
  if (n == 0) return;
  for (int h0 = 0; h0 < k; h0 += PS_KMAX) {
    const double *th = theta + (size_t)h0 * (size_t)(c + 1);
    float *Pg = P + (size_t)h0 * (size_t)n;
    if (xtype == PS_X_BF16)
      PS_LAUNCH(grid_for(n), THREADS, 0, s, score_kernel<__nv_bfloat16, false>)(
          (const __nv_bfloat16 *)X, n, c, c, head_group(k, h0), nullptr, nullptr, nullptr, nullptr, th, Pg);
    else
      PS_LAUNCH(grid_for(n), THREADS, 0, s, score_kernel<float, false>)((const float *)X, n, c, c, head_group(k, h0),
                                                                        nullptr, nullptr, nullptr, nullptr, th, Pg);
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
