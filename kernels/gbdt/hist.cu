/* hist.cu: a leaf's histogram on the device. Features are cut into groups
 * whose bins fit a block's shared memory (grid.y = group); each block sums
 * a range of the leaf's rows (grid.x) into a shared int64 (g, h, count)
 * histogram with 64-bit integer atomics, then adds its nonzero entries into
 * the output with 64-bit atomics. Every sum is an exact integer (two's
 * complement), so the result is the CPU twin's (hist_cpu.c) bits for any
 * number of blocks, in any order -- XGBoost's quantised gradient histogram
 * idea, with the quantisation done by the twin's own rule (gbdt_math.h). */
#include <stdlib.h>

#include "common/cuda_check.h"
#include "common/launch.h"
#include "gbdt/gbdt_kernels.h"
#include "gbdt/gbdt_math.h"

struct ps_gbdt_hist_plan {
  int64_t f, total_bins;
  int ngroups, max_group_bins, row_blocks;
  size_t smem;           /* dynamic shared memory of a block */
  int64_t *bin_off;      /* device [f+1] */
  int32_t *group;        /* device [ngroups+1] first feature of each group */
};

namespace {

constexpr int THREADS = 512;

__device__ __forceinline__ void add_i64(int64_t *p, int64_t v) {
  atomicAdd((unsigned long long *)p, (unsigned long long)v); /* two's complement: exact */
}

__global__ void __launch_bounds__(THREADS)
    hist_kernel(const uint8_t *__restrict__ B, int64_t f, const int64_t *__restrict__ bin_off,
                const int32_t *__restrict__ group, const int64_t *__restrict__ rows, int64_t m, int64_t per_block,
                const int64_t *__restrict__ gq, const int64_t *__restrict__ hq, int64_t *hist) {
  extern __shared__ int64_t sh[];
  const int j0 = group[blockIdx.y], fg = group[blockIdx.y + 1] - j0;
  const int64_t b0 = bin_off[j0];
  const int nb3 = PS_HIST_W * (int)(bin_off[j0 + fg] - b0);
  for (int q = threadIdx.x; q < nb3; q += THREADS) sh[q] = 0;
  __syncthreads();
  const int64_t r0 = (int64_t)blockIdx.x * per_block;
  const int64_t r1 = r0 + per_block < m ? r0 + per_block : m;
  const int64_t cnt = r1 > r0 ? (r1 - r0) * fg : 0;
  for (int64_t e = threadIdx.x; e < cnt; e += THREADS) {
    const int64_t r = r0 + e / fg;
    const int j = j0 + (int)(e % fg);
    const int64_t i = rows ? rows[r] : r;
    int64_t *c = sh + PS_HIST_W * (bin_off[j] - b0 + B[i * f + j]);
    add_i64(c, gq[i]);
    add_i64(c + 1, hq[i]);
    add_i64(c + 2, 1);
  }
  __syncthreads();
  int64_t *out = hist + PS_HIST_W * b0;
  for (int q = threadIdx.x; q < nb3; q += THREADS)
    if (sh[q] != 0) add_i64(out + q, sh[q]);
}

} // namespace

extern "C" ps_gbdt_hist_plan_t *ps_gbdt_hist_plan_create(const int64_t *bin_off, int64_t f, size_t max_smem,
                                                         cudaStream_t s) {
  if (max_smem == 0) max_smem = (size_t)96 << 10;
  int64_t max_bins = (int64_t)(max_smem / (PS_HIST_W * sizeof(int64_t)));
  if (max_bins < PS_GBDT_MAX_BIN + 1) max_bins = PS_GBDT_MAX_BIN + 1;
  ps_gbdt_hist_plan_t *p = (ps_gbdt_hist_plan_t *)calloc(1, sizeof *p);
  if (!p) ps_die_local("out of memory (histogram plan)");
  p->f = f;
  p->total_bins = f > 0 ? bin_off[f] : 0;
  int32_t *g = (int32_t *)malloc(sizeof(int32_t) * (size_t)(f + 1));
  if (!g) ps_die_local("out of memory (histogram plan)");
  int ng = 0, widest = 1;
  for (int64_t j = 0; j < f;) { /* greedy: features in order while their bins fit */
    int64_t k = j + 1;
    while (k < f && bin_off[k + 1] - bin_off[j] <= max_bins) k++;
    if (bin_off[k] - bin_off[j] > widest) widest = (int)(bin_off[k] - bin_off[j]);
    g[ng++] = (int32_t)j;
    j = k;
  }
  g[ng] = (int32_t)f;
  if (ng > 65535) ps_die_local("histogram kernel: %d feature groups exceed CUDA's 65535 grid rows", ng);
  p->ngroups = ng;
  p->max_group_bins = widest;
  p->smem = (size_t)widest * PS_HIST_W * sizeof(int64_t);
  CUDA_CHECK(cudaMalloc((void **)&p->bin_off, sizeof(int64_t) * (size_t)(f + 1)));
  CUDA_CHECK(cudaMalloc((void **)&p->group, sizeof(int32_t) * (size_t)(ng + 1)));
  CUDA_CHECK(cudaMemcpyAsync(p->bin_off, bin_off, sizeof(int64_t) * (size_t)(f + 1), cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaMemcpyAsync(p->group, g, sizeof(int32_t) * (size_t)(ng + 1), cudaMemcpyHostToDevice, s));
  CUDA_CHECK(cudaStreamSynchronize(s));
  free(g);
  if (p->smem > ((size_t)48 << 10))
    CUDA_CHECK(cudaFuncSetAttribute(hist_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)p->smem));
  return p;
}

extern "C" void ps_gbdt_hist_plan_destroy(ps_gbdt_hist_plan_t *p) {
  if (!p) return;
  CUDA_CHECK(cudaFree(p->bin_off));
  CUDA_CHECK(cudaFree(p->group));
  free(p);
}

extern "C" void ps_gbdt_hist_plan_set_blocks(ps_gbdt_hist_plan_t *p, int row_blocks) { p->row_blocks = row_blocks; }

extern "C" void ps_gbdt_hist_cuda(const ps_gbdt_hist_plan_t *p, const uint8_t *B, const int64_t *rows, int64_t m,
                                  const int64_t *gq, const int64_t *hq, int64_t *hist, cudaStream_t s) {
  if (m <= 0 || p->f <= 0) return;
  int64_t blocks = p->row_blocks;
  if (blocks <= 0) { /* ~8 blocks an SM of an H100 over all groups, at least 4096 rows each */
    int64_t cap = 1056 / p->ngroups;
    blocks = (m + 4095) / 4096;
    if (blocks > cap) blocks = cap;
  }
  if (blocks < 1) blocks = 1;
  if (blocks > m) blocks = m;
  int64_t per = (m + blocks - 1) / blocks;
  blocks = (m + per - 1) / per;
  dim3 grid((unsigned)blocks, (unsigned)p->ngroups);
  PS_LAUNCH(grid, THREADS, p->smem, s, hist_kernel)(B, p->f, p->bin_off, p->group, rows, m, per, gq, hq, hist);
  CUDA_CHECK(cudaGetLastError());
}
