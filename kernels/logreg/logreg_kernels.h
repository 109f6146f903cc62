/* logreg_kernels.h: C interface to the logistic-regression CUDA kernels
 * (grad.cu, score.cu). Every kernel has its CPU twin in this folder
 * (logreg_cpu.h: grad_cpu.c, score_cpu.c) with the same contract and the
 * same per-element math (common/psmath.h); all reductions run in a fixed
 * order, so results are bitwise reproducible. */
#ifndef PS_LOGREG_KERNELS_H
#define PS_LOGREG_KERNELS_H
#include <cuda_runtime_api.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { PS_X_F32 = 0, PS_X_BF16 = 1 }; /* storage of resident training rows */

/* Fused loss + gradient, one read of X [n][c] (row-major, f32 or bf16): out
 * (device) = [k losses][k x (c+1) gradient, head-major, bias last], the
 * class-weighted sums of psmath.h's ps_loss_residual. Tiles of rows go to one
 * wave of blocks (SMs x resident blocks; both products on the FP64 tensor
 * cores, tile_mma.h); block partials (scratch, ps_grad_scratch bytes) are
 * added in block order by a second kernel, so the bits are fixed for a
 * device and n. Needs ps_grad_fused_ok: (c+1)*k <= PS_GRAD_MAX_PAIRS,
 * c <= PS_GRAD_MAX_COLS, k <= PS_KMAX and a tile of 16 rows within the
 * device's opt-in shared memory per block (else ps_grad_blas). */
#define PS_GRAD_MAX_PAIRS 8192
#define PS_GRAD_MAX_COLS 512 /* gradient accumulators in registers; x tiles, theta in shared memory */
#define PS_KMAX 16
int ps_grad_fused_ok(int c, int k, int xtype);
size_t ps_grad_scratch(int64_t n, int c, int k, int xtype);
void ps_grad_fused(const void *X, int xtype, const uint8_t *Y, int64_t n, int c, int k, const double *theta,
                   const double *w_pos, const double *w_neg, double *scratch, double *out, cudaStream_t s);

/* The same contract through cuBLAS (any c, k): rows in tiles widened to
 * float64 (a tile small enough to stay in L2), Z = X W^T and G += X^T R by
 * DGEMM, loss and residual by a kernel, bias and loss sums by a fixed-order
 * block reduction per head. work: ps_grad_blas_work bytes. */
size_t ps_grad_blas_work(int c, int k);
void ps_grad_blas(void *cublas, const void *X, int xtype, const uint8_t *Y, int64_t n, int c, int k,
                  const double *theta, const double *w_pos, const double *w_neg, double *work, double *out,
                  cudaStream_t s);

/* Newton: H += sum_i s p (1-p) [x_i,1][x_i,1]^T for head h, (c+1)^2 column-
 * major upper triangle, by DSYRK over tiles; work: ps_hess_work bytes. */
size_t ps_hess_work(int c);
void ps_hess(void *cublas, const void *X, int xtype, const uint8_t *Y, int64_t n, int c, int k, int h,
             const double *theta, const double *w_pos, const double *w_neg, double *work, double *H, cudaStream_t s);

/* Fused scoring: P[h*n + i] = sigmoid(bias_h + sum_j w_hj s_j(x_i)), reading
 * each row once for every PS_KMAX heads (any k: heads go in groups of
 * PS_KMAX). Raw rows [n][f] are standardized on the fly (src, kind, mean,
 * scale per model column, as psmath.h's ps_standardize, rounded to float
 * like the training rows); standardized rows [n][c] (xtype) as they are. */
void ps_score_raw(const float *X, int64_t n, int f, int c, int k, const int64_t *src, const uint8_t *kind,
                  const double *mean, const double *scale, const double *theta, float *P, cudaStream_t s);
void ps_score_std(const void *X, int xtype, int64_t n, int c, int k, const double *theta, float *P, cudaStream_t s);

/* float -> bfloat16, round to nearest even (host helper for uploads). */
uint16_t ps_float_to_bf16(float x);
float ps_bf16_to_float(uint16_t b);

#ifdef __cplusplus
}
#endif
#endif
