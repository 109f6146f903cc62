/* assign.cu: the k-means Lloyd pass on the device -- distances and argmin
 * fused (no N x k matrix), the fixed-point update of the same rows in
 * shared memory, one write of per-block partial sums (no global atomics).
 * A block stages tiles of R rows (coalesced) in shared memory beside the
 * centers (transposed, [c][kp]) and its accumulator [k][c]; thread r takes
 * row r of the tile: dot(x, C_j) = fmaf over the columns in order, KC
 * centers at a time in registers (a row's bits as km_dot), the argmin by
 * km_score, lowest index on ties; then thread (g, t) of G groups adds
 * column t of rows g, g + G, ... into group g's copy of the accumulator:
 * each word has one owner, so no atomics, and the integers are exact in
 * any order (the copies are summed at the end). The
 * inertia is reduced over the warp by shuffles. Where the plan does not
 * fit in shared memory: the same assignment from global memory, then
 * update.cu. CPU twin: km_assign_panels_ref + km_update_cpu (the panels'
 * bits are the CPU backend's), norms: km_norms_cpu. */
#include <cuda_pipeline.h>

#include "common/cuda_check.h"
#include "common/device_limits.h"
#include "common/launch.h"
#include "kmeans/kmeans_kernels.h"
#include "kmeans/kmeans_math.h"

namespace {

constexpr int THREADS = 256;
constexpr int KC = 8; /* centers a register chunk */

__global__ void __launch_bounds__(THREADS) norms_kernel(const float *__restrict__ X, int64_t n, int64_t c,
                                                        double *__restrict__ xnorm) {
  const int64_t stride = (int64_t)gridDim.x * THREADS;
  for (int64_t i = (int64_t)blockIdx.x * THREADS + threadIdx.x; i < n; i += stride) xnorm[i] = km_norm2(X + i * c, c);
}

struct plan_t {
  int rows;     /* R: rows a tile = threads a block (32..128) */
  int kp;       /* k rounded up to KC */
  size_t bytes; /* dynamic shared memory */
  unsigned grid;
};

/* a tile row's stride: odd (thread r reads row r: no bank conflicts), > c
 * (column c carries the row's label to the update) */
__host__ __device__ __forceinline__ int64_t tile_ld(int64_t c) { return c + 1 + (c & 1); }

/* the update's thread groups: G groups of cols threads, group g adds rows
 * g, g + G, ... into its own copy of the accumulator */
__host__ __device__ __forceinline__ int update_groups(int64_t c, int R) { return c < R ? R / (int)c : 1; }

/* int64 words before Ct: acc [G][k*c + k] and inertia [R/32], rounded up so Ct is 16-byte aligned */
__host__ __device__ __forceinline__ int64_t head_words(int64_t c, int k, int R) {
  return ((int64_t)update_groups(c, R) * ((int64_t)k * c + k) + R / 32 + 1) / 2 * 2;
}

/* shared memory of a block: acc int64 [G][k*c + k] | inertia int64 [R/32] | Ct float [c][kp] | tile float [R][ld] */
size_t plan_bytes(int R, int64_t c, int k, int kp) {
  return 8 * (size_t)head_words(c, k, R) + 4 * ((size_t)c * (size_t)kp) + 4 * ((size_t)R * (size_t)tile_ld(c));
}

struct alignas(16) quad { /* 4 centers' values of a column: one 16-byte shared load */
  float v[4];
};

/* thread r's row of the tile against centers Ct [c][kp] (zero-padded) */
__device__ __forceinline__ int32_t nearest(const float *x, int64_t c, const float *Ct, int kp, const double *cnorm,
                                           int k, double *best_out) {
  double best = INFINITY;
  int32_t bj = 0;
  for (int j0 = 0; j0 < k; j0 += KC) {
    float acc[KC];
#pragma unroll
    for (int u = 0; u < KC; u++) acc[u] = 0.0f;
    for (int64_t t = 0; t < c; t++) {
      const float xv = x[t];
      const quad *ct = reinterpret_cast<const quad *>(Ct + t * kp + j0); /* kp, j0: multiples of KC */
#pragma unroll
      for (int q = 0; q < KC / 4; q++) {
        const quad w = ct[q];
#pragma unroll
        for (int u = 0; u < 4; u++) acc[4 * q + u] = fmaf(xv, w.v[u], acc[4 * q + u]);
      }
    }
#pragma unroll
    for (int u = 0; u < KC; u++) {
      const double s = km_score(acc[u], cnorm[j0 + u < k ? j0 + u : 0]);
      if (j0 + u < k && s < best) best = s, bj = j0 + u;
    }
  }
  *best_out = best;
  return bj;
}

__global__ void __launch_bounds__(128) lloyd_kernel(const float *__restrict__ X, const double *__restrict__ xnorm,
                                                    int64_t n, int64_t c, const float *__restrict__ Cf,
                                                    const double *__restrict__ cnorm, int k, int kp,
                                                    int32_t *__restrict__ label, double *__restrict__ d2,
                                                    int64_t *__restrict__ part) {
  extern __shared__ int64_t smem[];
  const int R = blockDim.x, tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int64_t kc = (int64_t)k * c, ld = tile_ld(c);
  const int cols = c < R ? (int)c : R, G = update_groups(c, R), g = tid / cols, t0 = tid % cols;
  int64_t *acc = smem, *inert = acc + G * (kc + k);
  float *Ct = (float *)(smem + head_words(c, k, R)), *tile = Ct + c * kp;
  for (int64_t e = tid; e < head_words(c, k, R); e += R) acc[e] = 0;
  for (int64_t e = tid; e < c * kp; e += R) {
    const int64_t t = e / kp, j = e % kp; /* once a block */
    Ct[e] = j < k ? Cf[j * c + t] : 0.0f;
  }
  const int64_t tiles = (n + R - 1) / R;
  for (int64_t tl = blockIdx.x; tl < tiles; tl += gridDim.x) {
    const int64_t i0 = tl * R;
    const int rows = n - i0 < R ? (int)(n - i0) : R;
    __syncthreads(); /* the previous tile's update is done with tile[] */
    /* 4-byte cp.async: every element of the tile in flight at once (a plain
     * load + store would wait on each load), coalesced along the rows */
    for (int r = warp; r < rows; r += R / 32)
      for (int64_t t = lane; t < c; t += 32) __pipeline_memcpy_async(tile + r * ld + t, X + (i0 + r) * c + t, 4);
    __pipeline_commit();
    __pipeline_wait_prior(0);
    __syncthreads();
    int64_t fin = 0;
    int32_t bj = -1;
    if (tid < rows) {
      double best;
      bj = nearest(tile + tid * ld, c, Ct, kp, cnorm, k, &best);
      const double dd = km_dist2(xnorm[i0 + tid], best);
      if (label) label[i0 + tid] = bj;
      if (d2) d2[i0 + tid] = dd;
      fin = km_fix_d2(dd);
    }
    for (int o = 16; o > 0; o >>= 1) fin += __shfl_xor_sync(0xffffffffu, fin, o);
    if (lane == 0) inert[warp] += fin;
    if (!part) continue;
    if (tid < rows) ((int32_t *)tile)[tid * ld + c] = bj; /* the label to the update */
    __syncthreads();
    if (g < G) { /* group g: rows g, g + G, ... into its copy (one owner a word: no atomics) */
      int64_t *mine = acc + g * (kc + k);
      for (int r = g; r < rows; r += G) {
        const int32_t l = ((const int32_t *)tile)[r * ld + c];
        const float *x = tile + r * ld;
        int64_t *s = mine + l * c;
        for (int64_t t = t0; t < c; t += cols) s[t] += km_fix_x(x[t]);
        if (t0 == 0) mine[kc + l]++;
      }
    }
  }
  if (!part) return;
  __syncthreads();
  int64_t *p = part + (int64_t)blockIdx.x * (kc + k + 1);
  for (int64_t e = tid; e < kc + k; e += R) {
    int64_t v = 0;
    for (int q = 0; q < G; q++) v += acc[q * (kc + k) + e];
    p[e] = v;
  }
  if (tid == 0) {
    int64_t s = 0;
    for (int w = 0; w < R / 32; w++) s += inert[w];
    p[kc + k] = s;
  }
}

/* out[e] += sum over the blocks' partials part[b][e] (one thread a word) */
__global__ void __launch_bounds__(THREADS) reduce_kernel(const int64_t *__restrict__ part, int blocks, int64_t m,
                                                         int64_t *__restrict__ out) {
  const int64_t e = (int64_t)blockIdx.x * THREADS + threadIdx.x;
  if (e >= m) return;
  int64_t s = 0;
  for (int b = 0; b < blocks; b++) s += part[(int64_t)b * m + e];
  out[e] += s;
}

/* the fallback assignment: one thread a row, rows and centers from global memory */
__global__ void __launch_bounds__(THREADS) assign_global_kernel(const float *__restrict__ X,
                                                                const double *__restrict__ xnorm, int64_t n, int64_t c,
                                                                const float *__restrict__ Cf,
                                                                const double *__restrict__ cnorm, int k,
                                                                int32_t *__restrict__ label, double *__restrict__ d2) {
  const int64_t stride = (int64_t)gridDim.x * THREADS;
  for (int64_t i = (int64_t)blockIdx.x * THREADS + threadIdx.x; i < n; i += stride) {
    double best = INFINITY;
    int32_t bj = 0;
    for (int j = 0; j < k; j++) {
      const double s = km_score(km_dot(X + i * c, 1, Cf + (int64_t)j * c, c), cnorm[j]);
      if (s < best) best = s, bj = j;
    }
    label[i] = bj;
    d2[i] = km_dist2(xnorm[i], best);
  }
}

unsigned grid_for(int64_t n) {
  unsigned grid = ps_grid_1d((uint64_t)n, THREADS);
  return grid > 132 * 32 ? 132 * 32 : grid;
}

plan_t plan_for(int64_t n, int64_t c, int k) {
  plan_t p = {.rows = 0, .kp = (k + KC - 1) / KC * KC, .bytes = 0, .grid = 0};
  if (n <= 0 || c > 0x7fffffff) return p;
  const size_t budget = ps_smem_plan_budget();
  for (int R = 128; R >= 32; R /= 2)
    if (plan_bytes(R, c, k, p.kp) <= budget) {
      p.rows = R, p.bytes = plan_bytes(R, c, k, p.kp);
      break;
    }
  if (!p.rows) return p;
  /* resident blocks an SM holds (its shared memory: the opt-in limit + 1 KiB reserved a block), at most 4 */
  const ps_device_limits_t lim = ps_device_limits();
  const size_t fit = (lim.smem_optin + 1024) / (p.bytes + 1024);
  const int per_sm = fit < 1 ? 1 : fit > 4 ? 4 : (int)fit;
  const int64_t tiles = (n + p.rows - 1) / p.rows, most = (int64_t)lim.sms * per_sm;
  p.grid = (unsigned)(tiles < most ? tiles : most);
  return p;
}

} // namespace

extern "C" void km_norms_cuda(const float *X, int64_t n, int64_t c, double *xnorm, cudaStream_t s) {
  if (n <= 0) return;
  PS_LAUNCH(grid_for(n), THREADS, 0, s, norms_kernel)(X, n, c, xnorm);
  CUDA_CHECK(cudaGetLastError());
}

extern "C" int64_t km_lloyd_work(int64_t n, int64_t c, int k) {
  plan_t p = plan_for(n, c, k);
  return p.rows ? (int64_t)p.grid * ((int64_t)k * c + k + 1) : 0;
}

extern "C" void km_lloyd_cuda(const float *X, const double *xnorm, int64_t n, int64_t c, const float *Cf,
                              const double *cnorm, int k, int32_t *label, double *d2, int store, int64_t *acc,
                              int64_t *work, cudaStream_t s) {
  if (n <= 0) return;
  const plan_t p = plan_for(n, c, k);
  if (!p.rows) { /* too big for shared memory: assignment, then the update kernel */
    PS_LAUNCH(grid_for(n), THREADS, 0, s, assign_global_kernel)(X, xnorm, n, c, Cf, cnorm, k, label, d2);
    CUDA_CHECK(cudaGetLastError());
    if (acc) km_update_cuda(X, n, c, label, d2, k, acc, acc + (int64_t)k * c, acc + (int64_t)k * c + k, s);
    return;
  }
  CUDA_CHECK(cudaFuncSetAttribute(lloyd_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)p.bytes));
  PS_LAUNCH(p.grid, p.rows, p.bytes, s, lloyd_kernel)(X, xnorm, n, c, Cf, cnorm, k, p.kp,
                                                       store ? label : nullptr, store ? d2 : nullptr,
                                                       acc ? work : nullptr);
  CUDA_CHECK(cudaGetLastError());
  if (!acc) return;
  const int64_t m = (int64_t)k * c + k + 1;
  PS_LAUNCH(ps_grid_1d((uint64_t)m, THREADS), THREADS, 0, s, reduce_kernel)(work, (int)p.grid, m, acc);
  CUDA_CHECK(cudaGetLastError());
}
