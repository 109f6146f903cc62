/* train_csr.c: the fit's passes over CSR training rows (train_csr.h). */
#include "models/logreg/train_csr.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "core/xsum_wide.h"
#include "logreg/logreg_csc_cpu.h"
#include "logreg/logreg_csr_cpu.h"
#include "logreg/logreg_cpu.h"
#include "models/logreg/fit.h"

void train_csr_pass(const ps_trainset_t *ts, const double *theta, const double *w_pos, const double *w_neg,
                    double *loss, double *grad, double *hess, const uint8_t *hmask) {
  ps_grad_csr_t *a = ps_grad_csr_begin(ts->c, ts->k, theta, w_pos, w_neg, hess ? hmask : NULL);
  const ps_csr_block_t *s = &ts->tr;
  ps_grad_csr_block(a, s->ptr, s->idx, s->val, ts->Ytr, s->n, loss, grad, hess);
  ps_grad_csr_end(a);
}

/* A pass's exact sums of loss[k], grad[k][c+1] (fit_sums_add's first values) in xsum_wide.h's integers. */
typedef struct {
  __int128 *w;
  int64_t n, adds; /* values; blocks added since the last flush */
  int64_t *acc;
} wide_t;

static void wide_flush(wide_t *x) {
  for (int64_t i = 0; i < x->n; i++) ps_xw_flush(x->acc + i * PS_XS_WORDS, &x->w[i]);
  x->adds = 0;
}

static inline void wide_add(wide_t *x, int64_t i, double d) { ps_xw_add_at(x->w, x->acc, i, d); }

/* One block's sums (ps_grad_csr_block_add's: grad nonzero only at cols[nc] and the biases) added exactly,
 * as fit_sums_add would add them (a 0 adds nothing); grad left 0. */
static void wide_block(wide_t *x, int64_t c, int k, const double *loss, double *grad, const int32_t *cols, int64_t nc) {
  int64_t c1 = c + 1;
  for (int h = 0; h < k; h++) wide_add(x, h, loss[h]);
  for (int h = 0; h < k; h++) {
    double *g = grad + (size_t)h * (size_t)c1;
    int64_t base = k + h * c1;
    for (int64_t q = 0; q < nc; q++) {
      int32_t j = cols[q];
      wide_add(x, base + j, g[j]);
      g[j] = 0;
    }
    wide_add(x, base + c, g[c]);
    g[c] = 0;
  }
  if (++x->adds == PS_XW_ADDS) wide_flush(x);
}

/* The resident rows' grid blocks by column (logreg_csc_cpu.h): each block's residuals, then its columns'
 * sums added in column order (no Hessians). */
static void add_grid_blocks_csc(const ps_trainset_t *ts, ps_grad_csr_t *a, double *loss, double *bias, wide_t *x) {
  int64_t k = ts->k, c1 = ts->c + 1, row = 0;
  const ps_csr_block_t *s = &ts->tr;
  for (int64_t g = 0; g < ts->n_grid; g++) {
    int64_t m = ts->grid_ntr[g];
    if (m == 0) continue;
    const int64_t *ptr = s->ptr + row;
    const double *r = ps_grad_csr_resid(a, ptr, s->idx + ptr[0], s->val + ptr[0], ts->Ytr + (size_t)(row * k), m,
                                        loss, bias);
    for (int h = 0; h < k; h++) {
      wide_add(x, h, loss[h]);
      wide_add(x, k + h * c1 + ts->c, bias[h]);
    }
    ps_csc_blocks_grad(ts->csc, g, r, PS_GRAD_TILE, (int)k, x->w, x->acc, k, c1);
    if (++x->adds == PS_XW_ADDS) wide_flush(x);
    row += m;
  }
}

/* Grid blocks [g0, g1) of training rows ts->tr (labels Y) summed alone and added exactly (without Hessians:
 * through x, grad kept 0 between blocks). */
static void add_grid_blocks(const ps_trainset_t *ts, ps_grad_csr_t *a, const uint8_t *Y, int64_t g0, int64_t g1,
                            const uint8_t *hmask, double *loss, double *grad, double *hess, wide_t *x) {
  int64_t k = ts->k, row = 0, nc;
  const ps_csr_block_t *s = &ts->tr;
  for (int64_t g = g0; g < g1 && g < ts->n_grid; g++) {
    int64_t m = ts->grid_ntr[g];
    if (m == 0) continue;
    const int64_t *ptr = s->ptr + row;
    if (hmask) {
      ps_grad_csr_block(a, ptr, s->idx + ptr[0], s->val + ptr[0], Y + (size_t)(row * k), m, loss, grad, hess);
      fit_sums_add(x->acc, ts->c, ts->k, hmask, loss, grad, hess);
    } else {
      const int32_t *cols =
          ps_grad_csr_block_add(a, ptr, s->idx + ptr[0], s->val + ptr[0], Y + (size_t)(row * k), m, loss, grad, &nc);
      wide_block(x, ts->c, ts->k, loss, grad, cols, nc);
    }
    row += m;
  }
}

/* Whether the column-sorted copy (PS_CSC_BYTES_PER_VALUE a stored training value, logreg_csc_cpu.h) fits what
 * --host-mem-limit leaves beside the resident rows; if not, the row-wise sums (the same bits, slower), said once. */
static int csc_fits(ps_trainset_t *ts) {
  if (ts->csc_room < 0) return 0; /* said already */
  double need = (double)PS_CSC_BYTES_PER_VALUE * (double)(ts->tr.ptr[ts->tr.n] - ts->tr.ptr[0]) + 32.0 * (double)ts->n_grid;
  if (need <= (double)ts->csc_room) return 1;
  ps_log("train: the CSR rows' column-sorted copy (%.1f MiB) exceeds what --host-mem-limit leaves (%.1f MiB): "
         "row-wise sums (the same model, slower)", need / 1048576.0, (double)ts->csc_room / 1048576.0);
  ts->csc_room = -1;
  return 0;
}

void train_csr_pass_exact(ps_trainset_t *ts, const double *theta, const double *w_pos, const double *w_neg,
                          const uint8_t *hmask, int64_t *acc) {
  int64_t c1 = ts->c + 1, k = ts->k, otr, ova;
  double *loss = ps_malloc(sizeof(double) * (size_t)k), *grad = ps_calloc((size_t)(k * c1), sizeof(double));
  double *hess = hmask ? ps_malloc(sizeof(double) * (size_t)(k * c1 * c1)) : NULL;
  wide_t x = {.n = hmask ? 0 : k + k * c1, .acc = acc};
  x.w = hmask ? NULL : ps_calloc((size_t)x.n, sizeof(__int128));
  ps_grad_csr_t *a = ps_grad_csr_begin(ts->c, ts->k, theta, w_pos, w_neg, hmask);
  if (!ts->csr_stream && !hmask && !ts->csc && csc_fits(ts))
    ts->csc = ps_csc_blocks_build(ts->tr.ptr, ts->tr.idx, ts->tr.val, ts->grid_ntr, ts->n_grid, ts->c);
  if (!ts->csr_stream && !hmask && ts->csc) {
    add_grid_blocks_csc(ts, a, loss, grad, &x);
  } else if (!ts->csr_stream) {
    add_grid_blocks(ts, a, ts->Ytr, 0, ts->n_grid, hmask, loss, grad, hess, &x);
  } else { /* streamed: each block's grid blocks, as the resident rows' */
    trainset_csr_rewind(ts);
    while (trainset_csr_next(ts, &otr, &ova))
      add_grid_blocks(ts, a, ts->Ytr + (size_t)(otr * k), ts->blk_g0, ts->blk_g1, hmask, loss, grad, hess, &x);
  }
  wide_flush(&x);
  ps_grad_csr_end(a);
  free(x.w);
  free(loss);
  free(grad);
  free(hess);
}

/* Probabilities of ts->tr, ts->va into P [k][n_tr] and [k][n_va] from rows otr, ova. */
static void predict_block(const ps_trainset_t *ts, const double *theta, float *Ptr, int64_t otr, float *Pva,
                          int64_t ova) {
  int64_t k = ts->k, m = ts->tr.n > ts->va.n ? ts->tr.n : ts->va.n;
  float *tmp = ps_malloc(sizeof(float) * (size_t)(k * (m > 0 ? m : 1)));
  const ps_csr_block_t *b[2] = {&ts->tr, &ts->va};
  float *P[2] = {Ptr, Pva};
  int64_t off[2] = {otr, ova}, tot[2] = {ts->n_tr, ts->n_va};
  for (int s = 0; s < 2; s++) {
    ps_score_csr_cpu(b[s]->ptr, b[s]->idx, b[s]->val, b[s]->n, ts->c, ts->k, theta, tmp);
    for (int64_t h = 0; h < k; h++)
      memcpy(P[s] + (size_t)(h * tot[s] + off[s]), tmp + (size_t)(h * b[s]->n), sizeof(float) * (size_t)b[s]->n);
  }
  free(tmp);
}

void train_csr_predict(ps_trainset_t *ts, const double *theta, float *Ptr, float *Pva) {
  int64_t otr = 0, ova = 0;
  if (!ts->csr_stream) {
    predict_block(ts, theta, Ptr, 0, Pva, 0);
    return;
  }
  trainset_csr_rewind(ts);
  while (trainset_csr_next(ts, &otr, &ova)) predict_block(ts, theta, Ptr, otr, Pva, ova);
}
