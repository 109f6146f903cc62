/* logreg_csr_kernels.h: C interface to the CUDA kernels of logistic
 * regression over CSR rows (grad_csr.cu; CPU twin: grad_csr_cpu.c, whose
 * contract logreg_csr_cpu.h states). The model's exact passes sum each
 * grid block of rows (core/partition.h) alone and add the sums exactly
 * (core/xsum.h): the first kernel gives each block's sums bitwise those of
 * ps_grad_csr_block over the block's rows, the second adds them exactly on
 * the device, so train --device cuda writes the CPU's model bytes. */
#ifndef PS_LOGREG_CSR_KERNELS_H
#define PS_LOGREG_CSR_KERNELS_H
#include <cuda_runtime_api.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PS_CSR_BLOCK_MAX 256 /* rows of one block at most (PS_GRAD_TILE: one tile of the twin) */
#define PS_CSR_KMAX 16

/* Row pointers ptr (any base), column indices idx and standardized values
 * val of the rows (device memory, idx/val indexed by ptr's values), labels
 * Y [row][k] by row index; blocks b = rows [blk[b], blk[b+1]), each of 1 to
 * PS_CSR_BLOCK_MAX rows. out [nb][k + k(c+1)] (device): block b's loss[k],
 * then its gradient [k][c+1] (bias last), bitwise ps_grad_csr_block's
 * (without Hessians) over the block's rows. k <= PS_CSR_KMAX. */
void ps_grad_csr_blocks(const int64_t *ptr, const int32_t *idx, const float *val, const uint8_t *Y, const int64_t *blk,
                        int64_t nb, int c, int k, const double *theta, const double *w_pos, const double *w_neg,
                        double *out, cudaStream_t s);
/* The same over dense standardized rows X [row][c] (device): block b's
 * sums bitwise ps_grad_cpu_block's (logreg_cpu.h, without Hessians) over
 * rows [blk[b], blk[b+1]) -- train --device cuda's exact passes over dense
 * rows resident on the device (the CPU's model bytes). */
void ps_grad_dense_blocks(const float *X, const uint8_t *Y, const int64_t *blk, int64_t nb, int c, int k,
                          const double *theta, const double *w_pos, const double *w_neg, double *out, cudaStream_t s);
/* acc [V][PS_XS_WORDS] (device, core/xsum.h's words) += the exact sum over
 * blocks b of out[b*V + v]: the words ps_xsum_add gives on the host. */
void ps_xsum_blocks(const double *out, int64_t nb, int64_t V, int64_t *acc, cudaStream_t s);

#ifdef __cplusplus
}
#endif
#endif
