/* csr_backend.h: the fit's exact passes over a training set's CSR rows on
 * the GPU (csr_backend_cuda.c, CUDA builds only): the rows, labels and
 * grid blocks go up once; a pass runs kernels/logreg/grad_csr.cu (each grid
 * block's sums bitwise grad_csr_cpu.c's, added exactly on the device) and
 * adds the exact words to fit.h's accumulators: the CPU's sums, so the
 * CPU's model bytes. Newton's Hessians stay on the CPU twin. Dense rows
 * the same (csr_dev_create_dense): train --device cuda's resident float32
 * rows, the CPU backend's exact sums. */
#ifndef PS_CSR_BACKEND_H
#define PS_CSR_BACKEND_H
#include <stdint.h>

#include "models/logreg/trainset.h"

typedef struct csr_dev csr_dev_t;
/* The training rows ts->tr, labels and grid blocks uploaded (the current device). */
csr_dev_t *csr_dev_create(const ps_trainset_t *ts, const double *w_pos, const double *w_neg);
/* The same for dense training rows ts->Xtr [n_tr][c] (float32; the kernel: ps_grad_dense_blocks, whose
 * block sums are ps_grad_cpu_block's: the CPU backend's exact passes, so its model bytes). */
csr_dev_t *csr_dev_create_dense(const ps_trainset_t *ts, const double *w_pos, const double *w_neg);
/* fit.h's fn_exact without Hessians: acc (loss[k], grad[k][c+1]) += the pass's exact sums. */
void csr_dev_pass_exact(csr_dev_t *d, const double *theta, int64_t *acc);
void csr_dev_free(csr_dev_t *d);
/* The most heads these passes take (more: the other paths). */
int csr_dev_max_heads(void);
#endif
