/* logreg_cpu.h: the CPU twins of the logistic-regression kernels (grad.cu,
 * score.cu): the same contracts in plain C, the same per-element math
 * (common/psmath.h), sums in a fixed order so results are bitwise
 * reproducible. The CPU backend (host/models/logreg/backend_cpu.c) is these
 * functions; the GPU tests compare the kernels against them.
 *
 * Parameters of head h live at theta[h*(c+1) .. h*(c+1)+c]: c weights on
 * standardized columns, then the bias. */
#ifndef PS_LOGREG_CPU_H
#define PS_LOGREG_CPU_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Loss, gradient (and Newton Hessians) summed over rows that arrive in
 * pieces: rows are cut into tiles of PS_GRAD_TILE at multiples of the rows
 * added since begin, whatever the piece sizes, so the sums are bitwise
 * those of one call over all rows. loss[k] = sum s*logloss; grad[h*(c+1)+j]
 * = sum s*(p-y)*x_j (j = c: the bias); hess (if hmask): for each head with
 * hmask[h], sum s*p*(1-p)*[x,1][x,1]^T, full symmetric (c+1)^2, bias last. */
#define PS_GRAD_TILE 256
typedef struct ps_grad_acc ps_grad_acc_t;
ps_grad_acc_t *ps_grad_cpu_begin(int64_t c, int k, const double *theta, const double *w_pos, const double *w_neg,
                                 const uint8_t *hmask);
void ps_grad_cpu_rows(ps_grad_acc_t *a, const float *X, const uint8_t *Y, int64_t n);
void ps_grad_cpu_end(ps_grad_acc_t *a, double *loss, double *grad, double *hess);
/* The sums of rows X, Y [n] alone, bitwise those of begin, rows, end over
 * them, into loss, grad, hess (as end); a keeps its buffers for the next
 * call (no rows pending in a: only block calls since begin). The exact
 * per-grid-block sums of the CPU backend (host/models/logreg/train.c). */
void ps_grad_cpu_block(ps_grad_acc_t *a, const float *X, const uint8_t *Y, int64_t n, double *loss, double *grad,
                       double *hess);

/* Probabilities of standardized rows X [n][c] -> P[h*n + i] (head-major). */
void ps_score_std_cpu(const float *X, int64_t n, int64_t c, int k, const double *theta, float *P);
/* Probabilities of raw rows X [n][f], standardized on the fly (rounded to
 * float32 like training rows) by src/kind/mean/scale per model column. */
void ps_score_raw_cpu(const float *X, int64_t n, int64_t f, int64_t c, int k, const int64_t *src,
                      const uint8_t *kind, const double *mean, const double *scale, const double *theta, float *P);
/* The same rows' logits (before the sigmoid) -> Z[h*n + i] (head-major):
 * the doubles whose sigmoid ps_score_raw_cpu rounds to float. */
void ps_logits_raw_cpu(const float *X, int64_t n, int64_t f, int64_t c, int k, const int64_t *src,
                       const uint8_t *kind, const double *mean, const double *scale, const double *theta, double *Z);

#ifdef __cplusplus
}
#endif
#endif
