/* grad_csr.cu: loss and gradient of multi-head logistic regression over CSR
 * rows, one block of threads a block of rows, bitwise the CPU twin
 * grad_csr_cpu.c (contract: logreg_csr_kernels.h); the same kernel over
 * dense standardized rows (every value stored), bitwise ps_grad_cpu_block
 * (grad_cpu.c), the dense twin the CSR twin equals; per-element math:
 * common/psmath.h. Compiled without FMA contraction (CMakeLists.txt: a
 * fused a*b+c would round once where the twin rounds twice).
 * Order kept from the twin, per block of m <= 256 rows:
 *   logits: 8 lanes a row (32 rows a round), lane l sums the products of
 *     the row's columns j < c - c%8 with j%8 == l in column order, lane 0
 *     the rest; then the row's thread adds tail + lane 0 + ... + lane 7 and
 *     the bias (logits_cpu.c's lanes); loss and residual per row and head;
 *   gradient: the twin's groups of four rows in order (a barrier between
 *     groups); within a group every column stored by one of its rows is
 *     added once, by the thread of its first row's value: g[j] +=
 *     (t0 + t1) + (t2 + t3), t_s = r_s x_sj or 0; the rows of a last short
 *     group one at a time; bias and loss by one thread a head, rows in order.
 * The block sums then go into exact fixed-point words (core/xsum.h) on the
 * device: integer adds, the same words in any order. */
#include <string.h>

#include <type_traits>

#include "common/cuda_check.h"
#include "common/launch.h"
#include "common/psmath.h"
#include "core/xsum.h"
#include "logreg/logreg_csr_kernels.h"

namespace {

constexpr int T = PS_CSR_BLOCK_MAX, LANES = 8, RB = 4;

/* Position of column j in row [a, b) of idx (sorted), or -1. */
__device__ __forceinline__ int64_t find_col(const int32_t *__restrict__ idx, int64_t a, int64_t end, int j) {
  int64_t b = end;
  while (a < b) {
    int64_t h = a + (b - a) / 2;
    if (idx[h] < j) a = h + 1;
    else b = h;
  }
  return a < end && idx[a] == j ? a : -1;
}

/* The rows a kernel reads: CSR (stored values) or dense standardized rows
 * [n][c] (every value stored: the same operations as the twin's dense
 * rows, ps_grad_cpu_block's bits). */
struct csr_rows {
  const int64_t *__restrict__ ptr;
  const int32_t *__restrict__ idx;
  const float *__restrict__ val;
  __device__ int64_t begin(int64_t r) const { return ptr[r]; }
  __device__ int col(int64_t p, int64_t) const { return idx[p]; }
  __device__ int64_t find(int64_t r, int j) const { return find_col(idx, ptr[r], ptr[r + 1], j); }
};
struct dense_rows {
  const float *__restrict__ val;
  int64_t c;
  __device__ int64_t begin(int64_t r) const { return r * c; }
  __device__ int col(int64_t p, int64_t b) const { return (int)(p - b); }
  __device__ int64_t find(int64_t r, int j) const { return r * c + j; }
};

/* Residuals R[h][row] and losses Ls[h][row] of the block's rows (row r0 + i, i < m). */
template <class Rows>
__device__ void block_residuals(const Rows &X, const uint8_t *__restrict__ Y, int64_t r0, int m, int c, int k,
                                const double *__restrict__ theta, const double *__restrict__ w_pos,
                                const double *__restrict__ w_neg, double *A, double *Tt, double *R, double *Ls) {
  const int tid = threadIdx.x, lane = tid % LANES, cv = c - c % LANES;
  for (int h = 0; h < k; h++) {
    const double *w = theta + (size_t)h * (size_t)(c + 1);
    for (int row = tid / LANES; row < m; row += T / LANES) {
      double a = 0.0, t = 0.0;
      const int64_t b = X.begin(r0 + row);
      if constexpr (std::is_same<Rows, dense_rows>::value) { /* the same products in the same order */
        for (int j = lane; j < cv; j += LANES) a += (double)X.val[b + j] * w[j];
        for (int j = cv; lane == 0 && j < c; j++) t += (double)X.val[b + j] * w[j];
      } else {
        for (int64_t p = b; p < X.begin(r0 + row + 1); p++) {
          const int j = X.col(p, b);
          if (j < cv) {
            if (j % LANES == lane) a += (double)X.val[p] * w[j];
          } else if (lane == 0) {
            t += (double)X.val[p] * w[j];
          }
        }
      }
      A[row * LANES + lane] = a;
      if (lane == 0) Tt[row] = t;
    }
    __syncthreads();
    if (tid < m) {
      double t = Tt[tid];
      for (int l = 0; l < LANES; l++) t += A[tid * LANES + l];
      const double z = w[c] + t, y = Y[(r0 + tid) * k + h];
      double l, r;
      ps_loss_residual(z, y, y > 0.5 ? w_pos[h] : w_neg[h], &l, &r);
      R[h * T + tid] = r;
      Ls[h * T + tid] = l;
    }
    __syncthreads();
  }
}

/* One full group of four rows (block rows g0 .. g0+3) into the gradient o [k][c+1]. */
template <class Rows>
__device__ void group_add(const Rows &X, int64_t r0, int g0, int c, int k, const double *R, double *__restrict__ o) {
  if constexpr (std::is_same<Rows, dense_rows>::value) { /* every column stored in all four rows */
    const float *x = X.val + X.begin(r0 + g0);
    for (int j = threadIdx.x; j < c; j += T)
      for (int h = 0; h < k; h++) {
        const double *r = R + h * T + g0;
        const double t0 = r[0] * (double)x[j], t1 = r[1] * (double)x[c + j];
        const double t2 = r[2] * (double)x[2 * c + j], t3 = r[3] * (double)x[3 * c + j];
        double *g = o + (size_t)h * (size_t)(c + 1) + j;
        *g = *g + ((t0 + t1) + (t2 + t3));
      }
    return;
  }
  const int64_t r1 = X.begin(r0 + g0 + 1), r2 = X.begin(r0 + g0 + 2), r3 = X.begin(r0 + g0 + 3);
  for (int64_t e = X.begin(r0 + g0) + threadIdx.x; e < X.begin(r0 + g0 + RB); e += T) {
    const int s = (e >= r1) + (e >= r2) + (e >= r3); /* the row of e (empty rows skipped) */
    const int j = X.col(e, 0);
    int64_t at[RB];
    bool own = true;
    for (int q = 0; q < RB; q++) {
      at[q] = q == s ? e : X.find(r0 + g0 + q, j);
      if (q < s && at[q] >= 0) own = false;
    }
    if (!own) continue;
    for (int h = 0; h < k; h++) {
      double t[RB];
      for (int q = 0; q < RB; q++) t[q] = at[q] >= 0 ? R[h * T + g0 + q] * (double)X.val[at[q]] : 0.0;
      double *g = o + (size_t)h * (size_t)(c + 1) + j;
      *g = *g + ((t[0] + t[1]) + (t[2] + t[3]));
    }
  }
}

template <class Rows>
__global__ void __launch_bounds__(T) grad_rows_kernel(Rows X, const uint8_t *__restrict__ Y,
                                                      const int64_t *__restrict__ blk, int c, int k,
                                                      const double *__restrict__ theta,
                                                      const double *__restrict__ w_pos,
                                                      const double *__restrict__ w_neg, double *__restrict__ out) {
  extern __shared__ double sm[];
  double *A = sm, *Tt = A + T * LANES, *R = Tt + T, *Ls = R + k * T;
  const int64_t b = blockIdx.x, r0 = blk[b], c1 = c + 1, V = k + k * c1;
  const int m = (int)(blk[b + 1] - r0), tid = threadIdx.x;
  double *o = out + b * V, *g = o + k;
  for (int64_t v = tid; v < V; v += T) o[v] = 0.0;
  block_residuals(X, Y, r0, m, c, k, theta, w_pos, w_neg, A, Tt, R, Ls);
  const int full = m / RB;
  for (int gi = 0; gi < full; gi++) {
    group_add(X, r0, RB * gi, c, k, R, g);
    __syncthreads();
  }
  for (int s = full * RB; s < m; s++) { /* the short group's rows one at a time */
    const int64_t b0 = X.begin(r0 + s);
    for (int64_t e = b0 + tid; e < X.begin(r0 + s + 1); e += T)
      for (int h = 0; h < k; h++) g[h * c1 + X.col(e, b0)] += R[h * T + s] * (double)X.val[e];
    __syncthreads();
  }
  if (tid < k) { /* loss and bias of head tid, rows in order */
    const int h = tid;
    const double *r = R + h * T;
    double L = 0.0, gb = 0.0;
    for (int i = 0; i < m; i++) L += Ls[h * T + i];
    for (int i = 0; i < full * RB; i += RB) gb += (r[i] + r[i + 1]) + (r[i + 2] + r[i + 3]);
    for (int i = full * RB; i < m; i++) gb += r[i];
    o[h] = L;
    g[h * c1 + c] = gb;
  }
}

/* core/xsum.h's ps_xsum_add on the device (the same words), the product M 2^s in two 64-bit words. */
__device__ __forceinline__ void xsum_add(int64_t *acc, double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  const int be = (int)((u >> 52) & 0x7ff);
  if (be == 0) return;
  if (be > PS_XS_MAXEXP + 1022) {
    acc[PS_XS_LIMBS]++;
    return;
  }
  uint64_t M = (u & (((uint64_t)1 << 52) - 1)) | ((uint64_t)1 << 52);
  int p = be - 1075 + PS_XS_FRAC;
  if (p < 0) {
    if (p < -54) return;
    M = (M + ((uint64_t)1 << (-p - 1))) >> -p;
    p = 0;
    if (M == 0) return;
  }
  const int q = p >> 5, s = p & 31;
  uint64_t lo = M << s, hi = s ? M >> (64 - s) : 0; /* M 2^s < 2^85 */
  if (u >> 63) { /* two's complement of the 128-bit value */
    lo = ~lo + 1;
    hi = ~hi + (lo == 0 ? 1 : 0);
  }
  const int64_t a0 = (int64_t)(lo & 0xffffffffu), a1 = (int64_t)(lo >> 32), a2 = (int64_t)hi;
#pragma unroll
  for (int i = 0; i < PS_XS_LIMBS; i++) /* constant indices: the words stay in registers */
    acc[i] += (i == q ? a0 : 0) + (i == q + 1 ? a1 : 0) + (i == q + 2 ? a2 : 0);
}

/* Value v's words of blocks [y·slice, (y + 1)·slice) (y = blockIdx.y), then
 * their nonzero words into acc by 64-bit integer atomics (two's
 * complement: exact; integer adds give the same words in any order). The
 * slices put many loads in flight (one thread over every block waited
 * for each load in turn: docs/PROFILING.md). */
__global__ void xsum_kernel(const double *__restrict__ out, int64_t nb, int64_t V, int64_t slice,
                            int64_t *__restrict__ acc) {
  const int64_t v = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (v >= V) return;
  const int64_t b0 = (int64_t)blockIdx.y * slice, b1 = nb - b0 < slice ? nb : b0 + slice;
  int64_t w[PS_XS_WORDS] = {0};
  for (int64_t b = b0; b < b1; b++) xsum_add(w, out[b * V + v]);
#pragma unroll
  for (int i = 0; i < PS_XS_WORDS; i++)
    if (w[i]) atomicAdd((unsigned long long *)(acc + v * PS_XS_WORDS + i), (unsigned long long)w[i]);
}

} // namespace

template <class Rows>
static void launch_rows(const Rows &X, const uint8_t *Y, const int64_t *blk, int64_t nb, int c, int k,
                        const double *theta, const double *w_pos, const double *w_neg, double *out, cudaStream_t s,
                        const char *what) {
  if (k < 1 || k > PS_CSR_KMAX) ps_die_local("%s: %d heads (1 to %d)", what, k, PS_CSR_KMAX);
  if (nb <= 0) return;
  if (nb > 0x7fffffff) ps_die_local("%s: %lld blocks in one launch", what, (long long)nb);
  const size_t smem = sizeof(double) * ((size_t)T * (LANES + 1) + 2 * (size_t)k * T);
  CUDA_CHECK(cudaFuncSetAttribute(grad_rows_kernel<Rows>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  PS_LAUNCH((unsigned)nb, T, smem, s, grad_rows_kernel<Rows>)(X, Y, blk, c, k, theta, w_pos, w_neg, out);
  CUDA_CHECK(cudaGetLastError());
}

extern "C" void ps_grad_csr_blocks(const int64_t *ptr, const int32_t *idx, const float *val, const uint8_t *Y,
                                   const int64_t *blk, int64_t nb, int c, int k, const double *theta,
                                   const double *w_pos, const double *w_neg, double *out, cudaStream_t s) {
  launch_rows(csr_rows{ptr, idx, val}, Y, blk, nb, c, k, theta, w_pos, w_neg, out, s, "ps_grad_csr_blocks");
}

extern "C" void ps_grad_dense_blocks(const float *X, const uint8_t *Y, const int64_t *blk, int64_t nb, int c, int k,
                                     const double *theta, const double *w_pos, const double *w_neg, double *out,
                                     cudaStream_t s) {
  launch_rows(dense_rows{X, c}, Y, blk, nb, c, k, theta, w_pos, w_neg, out, s, "ps_grad_dense_blocks");
}

extern "C" void ps_xsum_blocks(const double *out, int64_t nb, int64_t V, int64_t *acc, cudaStream_t s) {
  if (nb <= 0 || V <= 0) return;
  const unsigned tb = V < 128 ? 64 : 128;
  int64_t slice = 32, ns = (nb + slice - 1) / slice;
  if (ns > 65535) { /* the grid's y limit */
    slice = (nb + 65534) / 65535;
    ns = (nb + slice - 1) / slice;
  }
  const dim3 grid(ps_grid_1d((uint64_t)V, tb), (unsigned)ns);
  PS_LAUNCH(grid, tb, 0, s, xsum_kernel)(out, nb, V, slice, acc);
  CUDA_CHECK(cudaGetLastError());
}
