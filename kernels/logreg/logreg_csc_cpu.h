/* logreg_csc_cpu.h: the gradient of logistic regression over blocks of
 * CSR rows, column by column (grad_csc_cpu.c), for the exact passes that
 * sum each grid block alone (host/models/logreg/train_csr.c). Built once
 * from the rows: each block's stored values sorted by column, a column's
 * by row; the columns one row of the block stores first, then the others
 * with their values' marks of grad_cpu.c's groups of four rows. A block's
 * sum of column j is then bitwise ps_grad_csr_block's grad[h][j] (the
 * dense twin's: 0 plus one term a group, (t0 + t1) + (t2 + t3) where a
 * group holds several of the column's values, a tail row's term alone),
 * made without a scatter and added into xsum_wide.h's integers in column
 * order. Memory: about 9 bytes a stored value touched, PS_CSC_BYTES_PER_VALUE
 * reserved (what --host-mem-limit counts). */
#ifndef PS_LOGREG_CSC_CPU_H
#define PS_LOGREG_CSC_CPU_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PS_CSC_BYTES_PER_VALUE 11 /* rf 2 + val 4 + col 4 + mcnt 1 */

typedef struct ps_csc_blocks ps_csc_blocks_t;
/* Blocks b of nrows[b] rows each (nb of them, consecutive from ptr's first row; ptr any base, idx/val
 * indexed from ptr[0]); NULL where a block has more than 256 rows. */
ps_csc_blocks_t *ps_csc_blocks_build(const int64_t *ptr, const int32_t *idx, const float *val, const int32_t *nrows,
                                     int64_t nb, int64_t c);
void ps_csc_blocks_free(ps_csc_blocks_t *t);
/* Block b's gradient sums of k heads (residuals r[h * ld + i] of its rows) added exactly: head h's sum
 * of column j into w[off + h * stride + j] (xsum_wide.h), or acc's words of that value where it falls
 * outside the integers' range (as fit_sums_add would have added it). */
void ps_csc_blocks_grad(const ps_csc_blocks_t *t, int64_t b, const double *r, int64_t ld, int k, __int128 *w,
                        int64_t *acc, int64_t off, int64_t stride);

#ifdef __cplusplus
}
#endif
#endif
