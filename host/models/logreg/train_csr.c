/* train_csr.c: the fit's passes over CSR training rows (train_csr.h). */
#include "models/logreg/train_csr.h"

#include <stdlib.h>

#include "core/util.h"
#include "logreg/logreg_csr_cpu.h"
#include "models/logreg/fit.h"

void train_csr_pass(const ps_trainset_t *ts, const double *theta, const double *w_pos, const double *w_neg,
                    double *loss, double *grad, double *hess, const uint8_t *hmask) {
  ps_grad_csr_t *a = ps_grad_csr_begin(ts->c, ts->k, theta, w_pos, w_neg, hess ? hmask : NULL);
  const ps_csr_block_t *s = &ts->tr;
  ps_grad_csr_block(a, s->ptr, s->idx, s->val, ts->Ytr, s->n, loss, grad, hess);
  ps_grad_csr_end(a);
}

void train_csr_pass_exact(const ps_trainset_t *ts, const double *theta, const double *w_pos, const double *w_neg,
                          const uint8_t *hmask, int64_t *acc) {
  int64_t c1 = ts->c + 1, k = ts->k, row = 0;
  double *loss = ps_malloc(sizeof(double) * (size_t)k), *grad = ps_malloc(sizeof(double) * (size_t)(k * c1));
  double *hess = hmask ? ps_malloc(sizeof(double) * (size_t)(k * c1 * c1)) : NULL;
  ps_grad_csr_t *a = ps_grad_csr_begin(ts->c, ts->k, theta, w_pos, w_neg, hmask);
  const ps_csr_block_t *s = &ts->tr;
  for (int64_t g = 0; g < ts->n_grid; g++) {
    int64_t m = ts->grid_ntr[g];
    if (m == 0) continue;
    const int64_t *ptr = s->ptr + row;
    ps_grad_csr_block(a, ptr, s->idx + ptr[0], s->val + ptr[0], ts->Ytr + (size_t)(row * k), m, loss, grad, hess);
    fit_sums_add(acc, ts->c, ts->k, hmask, loss, grad, hess);
    row += m;
  }
  ps_grad_csr_end(a);
  free(loss);
  free(grad);
  free(hess);
}

void train_csr_predict(const ps_trainset_t *ts, const double *theta, float *Ptr, float *Pva) {
  ps_score_csr_cpu(ts->tr.ptr, ts->tr.idx, ts->tr.val, ts->tr.n, ts->c, ts->k, theta, Ptr);
  ps_score_csr_cpu(ts->va.ptr, ts->va.idx, ts->va.val, ts->va.n, ts->c, ts->k, theta, Pva);
}
