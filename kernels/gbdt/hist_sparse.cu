/* hist_sparse.cu: a leaf's histogram from sparse rows on the device
 * (hist_sparse.h; twin: hist_sparse_cpu.c). A thread a row (grid-stride):
 * the row's (g, h) added to the leaf's totals (one 64-bit atomic a block
 * after a shared sum) and, for each kept bin, to the histogram in global
 * memory with 64-bit integer atomics (the kept bins of a leaf are few and
 * spread over many features: no shared-memory staging); then a thread a
 * feature writes its zero bin = totals - its other bins. Every sum is an
 * exact integer (two's complement), so the result is the twin's bits for
 * any grid and any order. */
#include "common/cuda_check.h"
#include "common/launch.h"
#include "gbdt/gbdt_math.h"
#include "gbdt/hist_sparse.h"

namespace {

constexpr int THREADS = 256;

__device__ __forceinline__ void add_i64(int64_t *p, int64_t v) {
  atomicAdd((unsigned long long *)p, (unsigned long long)v); /* two's complement: exact */
}

/* W values a bin: 3 (g, h, 1) exact, 2 (qg, qh) quantized (gh != NULL). */
template <int W>
__global__ void __launch_bounds__(THREADS)
    rows_kernel(const int64_t *__restrict__ ptr, const uint32_t *__restrict__ bin, const int64_t *__restrict__ rows,
                int64_t m, const int64_t *__restrict__ gq, const int64_t *__restrict__ hq,
                const int32_t *__restrict__ gh, int64_t *hist, int64_t *tot) {
  __shared__ int64_t sh[W];
  if (threadIdx.x < W) sh[threadIdx.x] = 0;
  __syncthreads();
  int64_t sg = 0, sh2 = 0, sn = 0;
  for (int64_t r = (int64_t)blockIdx.x * THREADS + threadIdx.x; r < m; r += (int64_t)gridDim.x * THREADS) {
    const int64_t i = rows ? rows[r] : r;
    const int64_t g = W == 3 ? gq[i] : (int64_t)PS_GBDT_QG(gh[i]);
    const int64_t h = W == 3 ? hq[i] : (int64_t)PS_GBDT_QH(gh[i]);
    sg += g;
    sh2 += h;
    sn += 1;
    for (int64_t p = ptr[i]; p < ptr[i + 1]; p++) {
      int64_t *e = hist + W * (int64_t)bin[p];
      add_i64(e, g);
      add_i64(e + 1, h);
      if (W == 3) add_i64(e + 2, 1);
    }
  }
  add_i64(&sh[0], sg);
  add_i64(&sh[1], sh2);
  if (W == 3) add_i64(&sh[W - 1], sn);
  __syncthreads();
  if (threadIdx.x < W && sh[threadIdx.x] != 0) add_i64(tot + threadIdx.x, sh[threadIdx.x]);
}

template <int W>
__global__ void __launch_bounds__(THREADS)
    zero_kernel(int64_t f, const int64_t *__restrict__ bin_off, const uint8_t *__restrict__ zbin,
                const int64_t *__restrict__ tot, int64_t *hist) {
  for (int64_t j = (int64_t)blockIdx.x * THREADS + threadIdx.x; j < f; j += (int64_t)gridDim.x * THREADS) {
    int64_t acc[W];
    for (int v = 0; v < W; v++) acc[v] = 0;
    for (int64_t q = bin_off[j]; q < bin_off[j + 1]; q++)
      for (int v = 0; v < W; v++) acc[v] += hist[W * q + v];
    int64_t *z = hist + W * (bin_off[j] + zbin[j]);
    for (int v = 0; v < W; v++) z[v] = tot[v] - acc[v];
  }
}

int grid_of(int64_t n) {
  int64_t b = (n + THREADS - 1) / THREADS;
  return (int)(b < 1 ? 1 : b > 4096 ? 4096 : b);
}

template <int W>
void run(const ps_gbdt_sparse_dev_t *s, const int64_t *rows, int64_t m, const int64_t *gq, const int64_t *hq,
         const int32_t *gh, int64_t *hist, int64_t *tot, cudaStream_t st) {
  CUDA_CHECK(cudaMemsetAsync(hist, 0, sizeof(int64_t) * W * (size_t)s->total_bins, st));
  CUDA_CHECK(cudaMemsetAsync(tot, 0, sizeof(int64_t) * W, st));
  if (m > 0) PS_LAUNCH(grid_of(m), THREADS, 0, st, rows_kernel<W>)(s->ptr, s->bin, rows, m, gq, hq, gh, hist, tot);
  if (s->f > 0) PS_LAUNCH(grid_of(s->f), THREADS, 0, st, zero_kernel<W>)(s->f, s->bin_off, s->zbin, tot, hist);
}

} // namespace

extern "C" void ps_gbdt_hist_sparse_cuda(const ps_gbdt_sparse_dev_t *s, const int64_t *rows, int64_t m,
                                         const int64_t *gq, const int64_t *hq, int64_t *hist, int64_t *tot,
                                         cudaStream_t st) {
  run<3>(s, rows, m, gq, hq, NULL, hist, tot, st);
}

extern "C" void ps_gbdt_hist_q_sparse_cuda(const ps_gbdt_sparse_dev_t *s, const int64_t *rows, int64_t m,
                                           const int32_t *gh, int64_t *hist, int64_t *tot, cudaStream_t st) {
  run<2>(s, rows, m, NULL, NULL, gh, hist, tot, st);
}
