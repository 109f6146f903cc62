/* grad.cu: the fused loss + gradient kernel (and its cuBLAS variant and the
 * Newton Hessian) -- see logreg_kernels.h for contracts. CPU twin:
 * grad_cpu.c; per-element math: common/psmath.h. */
#include <cuda_bf16.h>
#include <cublas_v2.h>

#include "common/cuda_check.h"
#include "common/device_limits.h"
#include "common/launch.h"
#include "common/psmath.h"
#include "common/sum_parts.h"
#include "logreg/logreg_kernels.h"
#include "logreg/tile_mma.h"

namespace {

using ps_tile::THREADS;
constexpr int NWARPS = THREADS / 32;
constexpr int MW = ((PS_GRAD_MAX_COLS + 1 + 7) / 8 + NWARPS - 1) / NWARPS; // gradient m-tiles a warp owns

__device__ __forceinline__ float load_x(const float *x, int64_t i) { return x[i]; }
__device__ __forceinline__ float load_x(const __nv_bfloat16 *x, int64_t i) { return __bfloat162float(x[i]); }

/* Shared memory of the fused gradient kernel: theta [8 NT][ct], biases,
 * residuals [R][8 NT + 4], the warp pairs' exchange, then two x tiles [R][cs].
 * R: the largest of 64, 32, 16 rows whose block fits the device's opt-in
 * shared memory (budget: ps_smem_plan_budget); 0 when none does (then ps_grad_blas). */
struct grad_shape {
  int nt, R, cs, ct;
  size_t doubles, bytes;
};
grad_shape grad_plan(int c, int k, int esz, size_t budget) {
  grad_shape g;
  g.nt = k > 8 ? 2 : 1;
  g.cs = ps_tile::row_stride(c, esz);
  g.ct = ps_tile::theta_stride(c);
  for (g.R = 64;; g.R /= 2) {
    g.doubles = (size_t)8 * g.nt * g.ct + 8 * g.nt + (size_t)g.R * (8 * g.nt + 4) + 512 * (size_t)g.nt;
    g.doubles = (g.doubles + 1) / 2 * 2; /* the x tiles start 16-byte aligned */
    g.bytes = g.doubles * 8 + (size_t)2 * g.R * g.cs * esz;
    if (g.bytes <= budget) return g;
    if (g.R == 16) break;
  }
  g.R = 0;
  return g;
}
grad_shape grad_plan(int c, int k, int xtype) {
  return grad_plan(c, k, xtype == PS_X_BF16 ? 2 : 4, ps_smem_plan_budget());
}

/* One block walks tiles of R rows b, b + gridDim.x, ... in order; tile t+1
 * is in flight (cp.async) while tile t is computed. Per tile:
 *   logits: warp pair p takes rows [16p, 16p + 16), each warp half of the
 *     columns, FP64 tensor-core products (tile_logits); the second warp's
 *     partial goes through shared memory to the first, which adds it, the
 *     bias, and computes loss and residual of its 16 rows x 8 NT heads in
 *     registers (the loss summed per lane, rows in order);
 *   gradient: G [c+1 columns][8 NT heads] += X^T R, warp w owns column
 *     tiles w, w + 8, ... (the bias is column c, x = 1), accumulators in
 *     registers across tiles; residual fragments loaded once per 4 rows.
 * At the end each block writes [k losses][k (c+1)] to its slot of part. */
template <typename T, int NT>
__global__ void __launch_bounds__(THREADS, 1)
    grad_kernel(const T *__restrict__ X, const uint8_t *__restrict__ Y, int64_t n, int c, int k, int R, int cs, int ct,
                int vec, const double *__restrict__ theta, const double *__restrict__ w_pos,
                const double *__restrict__ w_neg, double *__restrict__ part) {
  extern __shared__ double smem[];
  constexpr int H = 8 * NT, RS = H + 4;
  double *th = smem, *bias = th + H * ct, *rs = bias + H, *zx = rs + R * RS;
  const size_t nd = ((size_t)H * ct + H + (size_t)R * RS + 512 * NT + 1) / 2 * 2;
  T *xs0 = reinterpret_cast<T *>(smem + nd), *xs1 = xs0 + R * cs;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int p = warp >> 1, half = warp & 1, c1 = c + 1, MT = (c1 + 7) / 8;
  const bool pair_on = 16 * p < R;
  ps_tile::stage_theta(theta, c, k, H, ct, th, bias);
  double acc[MW][NT][2];
#pragma unroll
  for (int m = 0; m < MW; m++)
#pragma unroll
    for (int nt = 0; nt < NT; nt++) acc[m][nt][0] = acc[m][nt][1] = 0.0;
  double lacc[NT][2] = {};
  double wp[NT][2], wn[NT][2];
#pragma unroll
  for (int nt = 0; nt < NT; nt++)
#pragma unroll
    for (int i = 0; i < 2; i++) {
      const int h = nt * 8 + 2 * t + i;
      wp[nt][i] = h < k ? w_pos[h] : 0.0;
      wn[nt][i] = h < k ? w_neg[h] : 0.0;
    }
  const int64_t tiles = (n + R - 1) / R;
  int64_t tile = blockIdx.x;
  if (tile < tiles) ps_tile::stage_rows(xs0, X, tile * R, (int)min((int64_t)R, n - tile * R), R, c, c, cs, vec);
  __pipeline_commit();
  for (int it = 0; tile < tiles; tile += gridDim.x, it++) {
    T *xs = it & 1 ? xs1 : xs0, *xn = it & 1 ? xs0 : xs1;
    const int64_t r0 = tile * R, next = tile + gridDim.x;
    const int rows = (int)min((int64_t)R, n - r0);
    if (next < tiles) ps_tile::stage_rows(xn, X, next * R, (int)min((int64_t)R, n - next * R), R, c, c, cs, vec);
    __pipeline_commit();
    __pipeline_wait_prior(1); /* this tile's copies (this thread's) are done; the barrier: everyone's */
    __syncthreads();
    double d[2][NT][2];
    ps_tile::pair_logits<T, NT, NT == 2>(xs, cs, c, th, ct, p, half, pair_on, zx, bias, d);
    if (pair_on) { /* NT = 2: head tile nt on the half = nt warp; NT = 1: the half = 0 warp */
#pragma unroll
      for (int m = 0; m < 2; m++)
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
          if (NT == 2 ? nt == half : half == 0)
#pragma unroll
          for (int i = 0; i < 2; i++) {
            const int row = 16 * p + 8 * m + g, h = nt * 8 + 2 * t + i;
            const double z = d[m][nt][i];
            double r = 0.0;
            if (row < rows && h < k) {
              const double y = Y[(r0 + row) * k + h];
              double l;
              ps_loss_residual(z, y, y > 0.5 ? wp[nt][i] : wn[nt][i], &l, &r);
              lacc[nt][i] += l;
            }
            rs[row * RS + h] = r;
          }
    }
    __syncthreads();
    for (int ks = 0; ks < R / 4; ks++) {
      const int row = ks * 4 + t;
      double b[NT];
#pragma unroll
      for (int nt = 0; nt < NT; nt++) b[nt] = rs[row * RS + nt * 8 + g];
      const T *xr = xs + row * cs;
#pragma unroll
      for (int m = 0; m < MW; m++) {
        const int mt = warp + NWARPS * m;
        if (mt < MT) { /* warp-uniform */
          const int j = mt * 8 + g;
          const double a = j < c ? ps_tile::widen(xr[j]) : (j == c ? 1.0 : 0.0);
#pragma unroll
          for (int nt = 0; nt < NT; nt++) ps_tile::dmma(acc[m][nt][0], acc[m][nt][1], a, b[nt], acc[m][nt][0], acc[m][nt][1]);
        }
      }
    }
    __syncthreads(); /* the next iteration's copies overwrite this tile */
  }
  double *out = part + (size_t)blockIdx.x * (k + (size_t)c1 * k);
#pragma unroll
  for (int m = 0; m < MW; m++) {
    const int j = (warp + NWARPS * m) * 8 + g;
#pragma unroll
    for (int nt = 0; nt < NT; nt++)
#pragma unroll
      for (int i = 0; i < 2; i++) {
        const int h = nt * 8 + 2 * t + i;
        if (j < c1 && h < k) out[k + (size_t)h * c1 + j] = acc[m][nt][i];
      }
  }
  /* losses: lane (p, g, t) of the warp (2p + nt at NT = 2, else 2p) holds
   * rows 16p + g (+8) for heads 8 nt + 2t + i; summed over pairs, then g, in order */
  double *ls = zx; /* free after the last tile's barrier */
#pragma unroll
  for (int nt = 0; nt < NT; nt++)
#pragma unroll
    for (int i = 0; i < 2; i++) ls[((warp * NT + nt) * 2 + i) * 32 + lane] = lacc[nt][i];
  __syncthreads();
  if (threadIdx.x < k) {
    const int h = threadIdx.x, nt = h / 8, tt = (h % 8) / 2, i = h % 2;
    double L = 0.0;
    for (int pp = 0; pp < 4; pp++)
      for (int gg = 0; gg < 8; gg++) L += ls[(((2 * pp + (NT == 2 ? nt : 0)) * NT + nt) * 2 + i) * 32 + gg * 4 + tt];
    out[h] = L;
  }
}

template <typename T>
__global__ void widen_kernel(const T *__restrict__ X, int64_t rows, int c, double *__restrict__ Xd) {
  int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e < rows * c) Xd[e] = (double)load_x(X, e);
}

/* Per (row, head): loss and residual from Z [rows][k] (row-major). */
__global__ void loss_kernel(const double *__restrict__ Z, const uint8_t *__restrict__ Y, int64_t rows, int k,
                            const double *__restrict__ theta, int c, const double *__restrict__ w_pos,
                            const double *__restrict__ w_neg, double *__restrict__ L, double *__restrict__ R) {
  int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= rows * k) return;
  int h = (int)(e % k);
  double y = Y[e], l, r;
  ps_loss_residual(Z[e] + theta[(size_t)h * (c + 1) + c], y, y > 0.5 ? w_pos[h] : w_neg[h], &l, &r);
  L[e] = l;
  R[e] = r;
}

/* out[h * stride] += sum over rows of M[row][h] (k columns): one block per
 * head, each thread sums rows tid, tid + 256, ... in order, then a fixed
 * tree over the threads (deterministic, no atomics). */
__global__ void __launch_bounds__(256) colsum_kernel(const double *__restrict__ M, int64_t rows, int k,
                                                      double *__restrict__ out, int stride) {
  __shared__ double red[256];
  const int h = blockIdx.x;
  double s = 0.0;
  for (int64_t i = threadIdx.x; i < rows; i += 256) s += M[i * k + h];
  red[threadIdx.x] = s;
  __syncthreads();
  for (int w = 128; w > 0; w >>= 1) {
    if ((int)threadIdx.x < w) red[threadIdx.x] += red[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[(size_t)h * stride] += red[0];
}

/* Newton rows: A[i][:] = sqrt(s p (1-p)) [x_i, 1] for head h (warp per row). */
template <typename T>
__global__ void hess_rows_kernel(const T *__restrict__ X, const uint8_t *__restrict__ Y, int64_t rows, int c, int k,
                                 int h, const double *__restrict__ theta, const double *__restrict__ w_pos,
                                 const double *__restrict__ w_neg, double *__restrict__ A) {
  int64_t row = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  int lane = threadIdx.x & 31;
  if (row >= rows) return;
  const double *w = theta + (size_t)h * (c + 1);
  double z = 0.0;
  for (int j = lane; j < c; j += 32) z += (double)load_x(X, row * c + j) * w[j];
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) z += __shfl_xor_sync(0xffffffffu, z, off);
  double y = Y[row * k + h];
  double q = sqrt(ps_hess_weight(z + w[c], y > 0.5 ? w_pos[h] : w_neg[h]));
  for (int j = lane; j < c; j += 32) A[row * (c + 1) + j] = q * (double)load_x(X, row * c + j);
  if (lane == 0) A[row * (c + 1) + c] = q;
}

constexpr int64_t BLAS_TILE = 16384; // rows per cuBLAS tile (at most)
/* Rows per tile of the cuBLAS gradient: the float64 copy of a tile (8 c
 * bytes a row) stays within 8 MiB, so it lives in L2 between the widening
 * kernel and the two DGEMMs instead of going to HBM and back. */
int64_t blas_rows(int c) {
  int64_t r = ((int64_t)8 << 20) / (8 * (int64_t)(c > 0 ? c : 1));
  r = r < 256 ? 256 : r;
  return r < BLAS_TILE ? r : BLAS_TILE;
}

/* Blocks of grad_kernel<T, NT> resident on an SM with g's shared memory
 * (1 on every device so far: __launch_bounds__(256, 1) and ~180 registers a
 * thread leave no room for a second block); allows g.bytes first. */
template <typename T, int NT>
int grad_resident(const grad_shape &g) {
  int b = 0;
  CUDA_CHECK(cudaFuncSetAttribute(grad_kernel<T, NT>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)g.bytes));
  CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&b, grad_kernel<T, NT>, THREADS, g.bytes));
  if (b < 1) ps_die_local("ps_grad_fused: a block of %zu bytes of shared memory does not fit an SM", g.bytes);
  return b;
}

/* Blocks of one launch: one wave (SMs x resident blocks), fewer when there
 * are fewer tiles. Block b sums tiles b, b + nb, ... and the block sums are
 * added in block order, so the bits of the result depend on nb: fixed for a
 * device (its SM count, its opt-in shared memory through R) and n. */
int grad_blocks(int64_t n, int c, int k, int xtype, const grad_shape &g) {
  int per_sm;
  if (xtype == PS_X_BF16) per_sm = g.nt == 1 ? grad_resident<__nv_bfloat16, 1>(g) : grad_resident<__nv_bfloat16, 2>(g);
  else per_sm = g.nt == 1 ? grad_resident<float, 1>(g) : grad_resident<float, 2>(g);
  const int64_t wave = (int64_t)ps_device_limits().sms * per_sm, tiles = (n + g.R - 1) / g.R;
  return (int)(tiles < wave ? (tiles > 0 ? tiles : 1) : wave);
}

} // namespace

extern "C" int ps_grad_fused_ok(int c, int k, int xtype) {
  if ((c + 1) * k > PS_GRAD_MAX_PAIRS || k > PS_KMAX || c > PS_GRAD_MAX_COLS) return 0;
  return grad_plan(c, k, xtype).R > 0;
}

extern "C" size_t ps_grad_scratch(int64_t n, int c, int k, int xtype) {
  if (!ps_grad_fused_ok(c, k, xtype)) return 0;
  return sizeof(double) * (size_t)grad_blocks(n, c, k, xtype, grad_plan(c, k, xtype)) * (size_t)(k + (c + 1) * k);
}

template <typename T, int NT>
static void launch_grad(const T *X, const uint8_t *Y, int64_t n, int c, int k, const double *theta, const double *w_pos,
                        const double *w_neg, double *scratch, int nb, const grad_shape &g, cudaStream_t s) {
  /* 16-byte copies: rows start 16-byte aligned and are whole 16-byte chunks */
  const int vec = ((uintptr_t)X % 16 == 0) && ((size_t)c * sizeof(T)) % 16 == 0;
  /* grad_blocks allowed g.bytes (cudaFuncSetAttribute) */
  PS_LAUNCH(nb, THREADS, g.bytes, s, grad_kernel<T, NT>)(X, Y, n, c, k, g.R, g.cs, g.ct, vec, theta, w_pos, w_neg,
                                                          scratch);
}

extern "C" void ps_grad_fused(const void *X, int xtype, const uint8_t *Y, int64_t n, int c, int k, const double *theta,
                              const double *w_pos, const double *w_neg, double *scratch, double *out, cudaStream_t s) {
  if (!ps_grad_fused_ok(c, k, xtype))
    ps_die_local("ps_grad_fused: c=%d k=%d too large for this device (%zu bytes of shared memory a block; use "
                 "ps_grad_blas)", c, k, ps_smem_plan_budget());
  const grad_shape g = grad_plan(c, k, xtype);
  const int nb = grad_blocks(n, c, k, xtype, g);
  if (xtype == PS_X_BF16) {
    const __nv_bfloat16 *Xb = (const __nv_bfloat16 *)X;
    if (g.nt == 1) launch_grad<__nv_bfloat16, 1>(Xb, Y, n, c, k, theta, w_pos, w_neg, scratch, nb, g, s);
    else launch_grad<__nv_bfloat16, 2>(Xb, Y, n, c, k, theta, w_pos, w_neg, scratch, nb, g, s);
  } else {
    const float *Xf = (const float *)X;
    if (g.nt == 1) launch_grad<float, 1>(Xf, Y, n, c, k, theta, w_pos, w_neg, scratch, nb, g, s);
    else launch_grad<float, 2>(Xf, Y, n, c, k, theta, w_pos, w_neg, scratch, nb, g, s);
  }
  CUDA_CHECK(cudaGetLastError());
  ps_sum_parts(scratch, nb, (size_t)(k + (c + 1) * k), out, s);
}

extern "C" size_t ps_grad_blas_work(int c, int k) {
  /* Xd [T][c], Z, L, R [T][k] */
  return sizeof(double) * (size_t)blas_rows(c) * ((size_t)c + 3 * (size_t)k);
}

extern "C" void ps_grad_blas(void *cublas, const void *X, int xtype, const uint8_t *Y, int64_t n, int c, int k,
                             const double *theta, const double *w_pos, const double *w_neg, double *work, double *out,
                             cudaStream_t s) {
  cublasHandle_t hb = (cublasHandle_t)cublas;
  CUBLAS_CHECK(cublasSetStream(hb, s));
  const int c1 = c + 1;
  const int64_t T = blas_rows(c);
  double *Xd = work, *Z = Xd + T * c, *L = Z + T * k, *R = L + T * k;
  CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(double) * (size_t)(k + k * c1), s));
  const double one = 1.0, zero = 0.0;
  for (int64_t r0 = 0; r0 < n; r0 += T) {
    const int64_t m = n - r0 < T ? n - r0 : T;
    const size_t esz = xtype == PS_X_BF16 ? 2 : 4;
    const void *xt = (const char *)X + (size_t)r0 * c * esz;
    if (xtype == PS_X_BF16)
      PS_LAUNCH(ps_grid_1d(m * c, 256), 256, 0, s, widen_kernel<__nv_bfloat16>)((const __nv_bfloat16 *)xt, m, c, Xd);
    else
      PS_LAUNCH(ps_grid_1d(m * c, 256), 256, 0, s, widen_kernel<float>)((const float *)xt, m, c, Xd);
    CUDA_CHECK(cudaGetLastError());
    /* Column-major view: Xd is c x m (ld c), theta is c1 x k (ld c1).
     * Z^T (k x m, ld k) = theta[0:c]^T (k x c) * Xd (c x m). */
    CUBLAS_CHECK(cublasDgemm(hb, CUBLAS_OP_T, CUBLAS_OP_N, k, (int)m, c, &one, theta, c1, Xd, c, &zero, Z, k));
    PS_LAUNCH(ps_grid_1d(m * k, 256), 256, 0, s, loss_kernel)(Z, Y + r0 * k, m, k, theta, c, w_pos, w_neg, L, R);
    CUDA_CHECK(cudaGetLastError());
    /* grad (c x k block of the c1 x k column-major out+k, ld c1) += Xd (c x m) * R^T (m x k) */
    CUBLAS_CHECK(cublasDgemm(hb, CUBLAS_OP_N, CUBLAS_OP_T, c, k, (int)m, &one, Xd, c, R, k, &one, out + k, c1));
    PS_LAUNCH(k, 256, 0, s, colsum_kernel)(R, m, k, out + k + c, c1); /* bias */
    PS_LAUNCH(k, 256, 0, s, colsum_kernel)(L, m, k, out, 1);          /* losses */
    CUDA_CHECK(cudaGetLastError());
  }
}

extern "C" size_t ps_hess_work(int c) { return sizeof(double) * (size_t)BLAS_TILE * (size_t)(c + 1); }

extern "C" void ps_hess(void *cublas, const void *X, int xtype, const uint8_t *Y, int64_t n, int c, int k, int h,
                        const double *theta, const double *w_pos, const double *w_neg, double *work, double *H,
                        cudaStream_t s) {
  cublasHandle_t hb = (cublasHandle_t)cublas;
  CUBLAS_CHECK(cublasSetStream(hb, s));
  const int c1 = c + 1;
  const double one = 1.0;
  for (int64_t r0 = 0; r0 < n; r0 += BLAS_TILE) {
    const int64_t m = n - r0 < BLAS_TILE ? n - r0 : BLAS_TILE;
    const size_t esz = xtype == PS_X_BF16 ? 2 : 4;
    const void *xt = (const char *)X + (size_t)r0 * c * esz;
    const unsigned grid = ps_grid_1d((uint64_t)m * 32, 256);
    if (xtype == PS_X_BF16)
      PS_LAUNCH(grid, 256, 0, s, hess_rows_kernel<__nv_bfloat16>)((const __nv_bfloat16 *)xt, Y + r0 * k, m, c, k, h, theta,
                                                                  w_pos, w_neg, work);
    else
      PS_LAUNCH(grid, 256, 0, s, hess_rows_kernel<float>)((const float *)xt, Y + r0 * k, m, c, k, h, theta, w_pos,
                                                          w_neg, work);
    CUDA_CHECK(cudaGetLastError());
    /* work is c1 x m column-major: H (c1 x c1) += work * work^T */
    CUBLAS_CHECK(cublasDsyrk(hb, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, c1, (int)m, &one, work, c1, &one, H, c1));
  }
}
