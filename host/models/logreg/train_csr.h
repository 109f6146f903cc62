/* train_csr.h: the fit's passes over a training set's CSR rows
 * (trainset_csr.c) on the CPU twins of kernels/logreg/logreg_csr_cpu.h:
 * the same sums, bit for bit, as the dense passes of train.c over the same
 * rows made dense, so the model is the dense file's (--standardize scale). */
#ifndef PS_TRAIN_CSR_H
#define PS_TRAIN_CSR_H
#include <stdint.h>

#include "models/logreg/trainset.h"

/* All training rows in one block (the dense resident pass). */
void train_csr_pass(const ps_trainset_t *ts, const double *theta, const double *w_pos, const double *w_neg,
                    double *loss, double *grad, double *hess, const uint8_t *hmask);
/* Each grid block summed alone and added exactly (fit.h's fn_exact);
 * streamed rows (ts->csr_stream): block by block from the file, the same sums. */
void train_csr_pass_exact(ps_trainset_t *ts, const double *theta, const double *w_pos, const double *w_neg,
                          const uint8_t *hmask, int64_t *acc);
/* Probabilities of both splits -> Ptr [k][n_tr], Pva [k][n_va]. */
void train_csr_predict(ps_trainset_t *ts, const double *theta, float *Ptr, float *Pva);
#endif
