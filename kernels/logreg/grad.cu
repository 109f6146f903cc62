/* grad.cu: the fused loss + gradient kernel (and its cuBLAS variant and the
 * Newton Hessian) -- see logreg_kernels.h for contracts. CPU twin:
 * grad_cpu.c; per-element math: common/psmath.h. */
#include <cuda_bf16.h>
#include <cublas_v2.h>

#include "common/cuda_check.h"
#include "common/launch.h"
#include "common/psmath.h"
#include "common/sum_parts.h"
#include "logreg/logreg_kernels.h"

namespace {

constexpr int TROWS = 32;    // rows per tile, staged in shared memory
constexpr int THREADS = 256; // 8 warps
constexpr int ACC = PS_GRAD_MAX_PAIRS / THREADS; // gradient terms a thread owns (registers)
constexpr int MAX_BLOCKS = 2048;

__device__ __forceinline__ float load_x(const float *x, int64_t i) { return x[i]; }
__device__ __forceinline__ float load_x(const __nv_bfloat16 *x, int64_t i) { return __bfloat162float(x[i]); }

int grad_blocks(int64_t n) {
  int64_t tiles = (n + TROWS - 1) / TROWS;
  return (int)(tiles < MAX_BLOCKS ? (tiles > 0 ? tiles : 1) : MAX_BLOCKS);
}

/* One block walks tiles b, b + gridDim.x, ... in order. Per tile: the rows
 * go to shared memory (one coalesced read of X); each warp computes the
 * logits of its rows for every head (lanes split the columns, a fixed
 * butterfly adds them), lane h the loss and residual of head h; then every
 * thread adds residual x value for the (head, column) pairs it owns. At the
 * end the block writes [k losses][pairs] to its slot of `part`. */
template <typename T>
__global__ void __launch_bounds__(THREADS) grad_kernel(const T *__restrict__ X, const uint8_t *__restrict__ Y, int64_t n,
                                                       int c, int k, const double *__restrict__ theta,
                                                       const double *__restrict__ w_pos,
                                                       const double *__restrict__ w_neg, double *__restrict__ part) {
  extern __shared__ double smem[];
  double *rs = smem;                                  // [TROWS][k] residuals
  double *red = rs + TROWS * PS_KMAX;                 // [warps][PS_KMAX] loss partials
  float *xs = reinterpret_cast<float *>(red + (THREADS / 32) * PS_KMAX); // [TROWS][c]
  const int c1 = c + 1, pairs = c1 * k, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  double acc[ACC];
#pragma unroll
  for (int s = 0; s < ACC; s++) acc[s] = 0.0;
  double lacc = 0.0; // lane h < k: loss of head h over this warp's rows
  const int64_t tiles = (n + TROWS - 1) / TROWS;
  for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    const int64_t r0 = tile * TROWS;
    const int rows = (int)min((int64_t)TROWS, n - r0);
    const T *xt = X + r0 * c;
    for (int e = threadIdx.x; e < rows * c; e += THREADS) xs[e] = load_x(xt, e);
    __syncthreads();
    for (int t = warp; t < rows; t += THREADS / 32) {
      double zmine = 0.0;
      for (int h = 0; h < k; h++) {
        const double *w = theta + (size_t)h * c1;
        double p = 0.0;
        for (int j = lane; j < c; j += 32) p += (double)xs[t * c + j] * w[j];
#pragma unroll
        for (int off = 16; off > 0; off >>= 1) p += __shfl_xor_sync(0xffffffffu, p, off);
        if (lane == h) zmine = p + w[c];
      }
      if (lane < k) {
        double y = Y[(r0 + t) * k + lane], l, r;
        ps_loss_residual(zmine, y, y > 0.5 ? w_pos[lane] : w_neg[lane], &l, &r);
        lacc += l;
        rs[t * k + lane] = r;
      }
    }
    __syncthreads();
#pragma unroll
    for (int s = 0; s < ACC; s++) {
      const int p = threadIdx.x + s * THREADS;
      if (p < pairs) {
        const int h = p / c1, j = p - h * c1;
        double a = acc[s];
        if (j < c)
          for (int t = 0; t < rows; t++) a += rs[t * k + h] * (double)xs[t * c + j];
        else
          for (int t = 0; t < rows; t++) a += rs[t * k + h];
        acc[s] = a;
      }
    }
    __syncthreads();
  }
  double *out = part + (size_t)blockIdx.x * (k + pairs);
#pragma unroll
  for (int s = 0; s < ACC; s++) {
    const int p = threadIdx.x + s * THREADS;
    if (p < pairs) out[k + p] = acc[s];
  }
  if (lane < PS_KMAX) red[warp * PS_KMAX + lane] = lane < k ? lacc : 0.0;
  __syncthreads();
  if (threadIdx.x < k) {
    double L = 0.0;
    for (int w = 0; w < THREADS / 32; w++) L += red[w * PS_KMAX + threadIdx.x];
    out[threadIdx.x] = L;
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

/* out_h += sum over rows of M[row][h] (k columns), one thread per head, rows in order. */
__global__ void colsum_kernel(const double *__restrict__ M, int64_t rows, int k, double *__restrict__ out, int stride) {
  int h = blockIdx.x * blockDim.x + threadIdx.x;
  if (h >= k) return;
  double s = 0.0;
  for (int64_t i = 0; i < rows; i++) s += M[i * k + h];
  out[(size_t)h * stride] += s;
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

constexpr int64_t BLAS_TILE = 16384; // rows per cuBLAS tile

} // namespace

extern "C" size_t ps_grad_scratch(int64_t n, int c, int k) {
  return sizeof(double) * (size_t)grad_blocks(n) * (size_t)(k + (c + 1) * k);
}

extern "C" void ps_grad_fused(const void *X, int xtype, const uint8_t *Y, int64_t n, int c, int k, const double *theta,
                              const double *w_pos, const double *w_neg, double *scratch, double *out, cudaStream_t s) {
  if ((c + 1) * k > PS_GRAD_MAX_PAIRS || k > PS_KMAX || c > PS_GRAD_MAX_COLS)
    ps_die_local("ps_grad_fused: c=%d k=%d too large (use ps_grad_blas)", c, k);
  const int nb = grad_blocks(n);
  const size_t sm = sizeof(double) * (TROWS * PS_KMAX + (THREADS / 32) * PS_KMAX) + sizeof(float) * TROWS * (size_t)c;
  if (xtype == PS_X_BF16) {
    CUDA_CHECK(cudaFuncSetAttribute(grad_kernel<__nv_bfloat16>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)sm));
    PS_LAUNCH(nb, THREADS, sm, s, grad_kernel<__nv_bfloat16>)((const __nv_bfloat16 *)X, Y, n, c, k, theta, w_pos,
                                                              w_neg, scratch);
  } else {
    CUDA_CHECK(cudaFuncSetAttribute(grad_kernel<float>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)sm));
    PS_LAUNCH(nb, THREADS, sm, s, grad_kernel<float>)((const float *)X, Y, n, c, k, theta, w_pos, w_neg, scratch);
  }
  CUDA_CHECK(cudaGetLastError());
  ps_sum_parts(scratch, nb, (size_t)(k + (c + 1) * k), out, s);
}

extern "C" size_t ps_grad_blas_work(int c, int k) {
  /* Xd [T][c], Z, L, R [T][k] */
  return sizeof(double) * (size_t)BLAS_TILE * ((size_t)c + 3 * (size_t)k);
}

extern "C" void ps_grad_blas(void *cublas, const void *X, int xtype, const uint8_t *Y, int64_t n, int c, int k,
                             const double *theta, const double *w_pos, const double *w_neg, double *work, double *out,
                             cudaStream_t s) {
  cublasHandle_t hb = (cublasHandle_t)cublas;
  CUBLAS_CHECK(cublasSetStream(hb, s));
  const int c1 = c + 1;
  double *Xd = work, *Z = Xd + BLAS_TILE * c, *L = Z + BLAS_TILE * k, *R = L + BLAS_TILE * k;
  CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(double) * (size_t)(k + k * c1), s));
  const double one = 1.0, zero = 0.0;
  for (int64_t r0 = 0; r0 < n; r0 += BLAS_TILE) {
    const int64_t m = n - r0 < BLAS_TILE ? n - r0 : BLAS_TILE;
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
    const unsigned kb = (unsigned)((k + 31) / 32);
    PS_LAUNCH(kb, 32, 0, s, colsum_kernel)(R, m, k, out + k + c, c1); /* bias */
    PS_LAUNCH(kb, 32, 0, s, colsum_kernel)(L, m, k, out, 1);          /* losses */
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
