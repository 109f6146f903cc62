/* grad_q.cu: a tree's gradients on the device (issue 28), the twin
 * grad_q_cpu.c's two passes with its per-row math (gbdt_math.h's
 * ps_gbdt_grad_row: ps_exp_neg for the gradient and loss, ps_exp_t128 --
 * libm's bits -- for the Hessian; ps_gbdt_quant_inv and core/rng.h's hash
 * for --grad-bits). Compiled with -fmad=false (CMakeLists.txt): no
 * contraction, every fma an explicit one, so the twin's bits. Pass 1: a
 * thread a row, grid-stride; the loss sum and the two maxima reduced by
 * warp shuffles, then one 64-bit atomic each a warp (exact in any order).
 * Pass 2: a thread a row, the packed word out. And the leaves' values
 * added to the training scores kept on the device (add_kernel). */
#include "common/cuda_check.h"
#include "common/launch.h"
#include "core/rng.h"
#include "gbdt/gbdt_cpu.h"
#include "gbdt/gbdt_math.h"
#include "gbdt/grad_q.h"

namespace {

constexpr int THREADS = 256;
constexpr unsigned FULL = 0xffffffffu;

__device__ __forceinline__ long long top(long long a, long long b) { return a > b ? a : b; }

__global__ void __launch_bounds__(THREADS)
    grad_kernel(const double *__restrict__ z, const uint8_t *__restrict__ y, int64_t ys, int64_t n, double wp,
                double wn, double scale, int fix51, int64_t *__restrict__ gq, int64_t *__restrict__ hq,
                long long *__restrict__ out) {
  long long loss = 0, tg = 0, th = 0;
#pragma unroll 1 /* no trip count computed: no 64-bit division */
  for (int64_t i = (int64_t)blockIdx.x * THREADS + threadIdx.x; i < n; i += (int64_t)gridDim.x * THREADS) {
    double yi = y[i * ys];
    int64_t g, h, l;
    ps_gbdt_grad_row(z[i], yi, ps_row_weight(yi, wp, wn), scale, fix51, &g, &h, &l);
    gq[i] = g;
    hq[i] = h;
    loss += l;
    tg = top(tg, g < 0 ? -g : g);
    th = top(th, h);
  }
  for (int o = 16; o > 0; o >>= 1) {
    loss += __shfl_down_sync(FULL, loss, o);
    tg = top(tg, __shfl_down_sync(FULL, tg, o));
    th = top(th, __shfl_down_sync(FULL, th, o));
  }
  if ((threadIdx.x & 31) == 0) {
    atomicAdd((unsigned long long *)&out[0], (unsigned long long)loss); /* two's complement: exact */
    atomicMax(&out[1], tg);
    atomicMax(&out[2], th);
  }
}

__global__ void __launch_bounds__(THREADS)
    quant_kernel(const int64_t *__restrict__ gq, const int64_t *__restrict__ hq, const int64_t *__restrict__ ids,
                 int64_t n, uint64_t k, uint64_t key, int64_t sg, int64_t sh, double ig, double ih,
                 int32_t *__restrict__ gh) {
#pragma unroll 1
  for (int64_t i = (int64_t)blockIdx.x * THREADS + threadIdx.x; i < n; i += (int64_t)gridDim.x * THREADS) {
    uint64_t u = ps_rng_keyed(k, (uint64_t)ids[i], key);
    gh[i] = PS_GBDT_QPACK(ps_gbdt_quant_inv(gq[i], sg, ig, u), ps_gbdt_quant_inv(hq[i], sh, ih, ps_mix64(u)));
  }
}

__global__ void __launch_bounds__(THREADS)
    add_kernel(const int32_t *__restrict__ leaf, const double *__restrict__ value, int64_t n, double *__restrict__ z) {
#pragma unroll 1
  for (int64_t i = (int64_t)blockIdx.x * THREADS + threadIdx.x; i < n; i += (int64_t)gridDim.x * THREADS)
    if (leaf[i] >= 0) z[i] += value[leaf[i]];
}

unsigned blocks(int64_t n) { /* at most 1024 blocks, striding */
  uint64_t items = (uint64_t)n < 1024u * THREADS ? (uint64_t)n : 1024u * THREADS;
  return ps_grid_1d(items, THREADS);
}

} // namespace

extern "C" void ps_gbdt_grad_q_cuda(const double *score, const uint8_t *y, int64_t ystride, int64_t n, double w_pos,
                                    double w_neg, double scale, int64_t *gq, int64_t *hq, int64_t *out,
                                    cudaStream_t s) {
  CUDA_CHECK(cudaMemsetAsync(out, 0, 3 * sizeof(int64_t), s));
  if (n <= 0) return;
  double wmax = w_pos > w_neg ? w_pos : w_neg; /* the twin's rule: |g|, h times scale < 2^51 */
  int fix51 = wmax * scale < 0x1p50;
  PS_LAUNCH(blocks(n), THREADS, 0, s, grad_kernel)(score, y, ystride, n, w_pos, w_neg, scale, fix51, gq, hq,
                                                   (long long *)out);
  CUDA_CHECK(cudaGetLastError());
}

extern "C" void ps_gbdt_quant_cuda(const int64_t *gq, const int64_t *hq, const int64_t *ids, int64_t n, uint64_t seed,
                                   uint64_t key, int64_t sg, int64_t sh, int32_t *gh, cudaStream_t s) {
  if (n <= 0) return;
  PS_LAUNCH(blocks(n), THREADS, 0, s, quant_kernel)(gq, hq, ids, n, ps_rng_key(seed, PS_GBDT_QUANT_STREAM), key, sg,
                                                    sh, 1.0 / (double)sg, 1.0 / (double)sh, gh);
  CUDA_CHECK(cudaGetLastError());
}

extern "C" void ps_gbdt_add_leaf_values_cuda(const int32_t *leaf, const double *value, int64_t n, double *z,
                                             cudaStream_t s) {
  if (n <= 0) return;
  PS_LAUNCH(blocks(n), THREADS, 0, s, add_kernel)(leaf, value, n, z);
  CUDA_CHECK(cudaGetLastError());
}
