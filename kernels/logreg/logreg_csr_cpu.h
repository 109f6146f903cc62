/* logreg_csr_cpu.h: CPU twins of logistic regression over CSR rows
 * (grad_csr_cpu.c): the contracts of logreg_cpu.h's block sums and
 * standardized scoring, for rows given as their stored values only. The
 * rows hold standardized values in which every value not stored is 0 (the
 * scale-only standardization of a sparse column: x * scale, no centering).
 * The sums visit the stored values only and are bitwise those of
 * ps_grad_cpu_block / ps_score_std_cpu over the same rows made dense: each
 * row's logit runs in the same lanes and order as logits_cpu.c (a product
 * with 0 adds nothing), and the gradient keeps grad_cpu.c's groups of four
 * rows ((t0 + t1) + (t2 + t3), a missing term 0) by merging the four rows'
 * sorted columns. Only the signs of zero sums may differ, and no output
 * sees them. Rows: ptr [n+1] (any base), idx strictly increasing in each
 * row, val [ptr[n]-ptr[0]] indexed from ptr[0]'s base. */
#ifndef PS_LOGREG_CSR_CPU_H
#define PS_LOGREG_CSR_CPU_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ps_grad_csr ps_grad_csr_t;
ps_grad_csr_t *ps_grad_csr_begin(int64_t c, int k, const double *theta, const double *w_pos, const double *w_neg,
                                 const uint8_t *hmask);
/* The sums of rows [n] alone, bitwise ps_grad_cpu_block's over the dense rows. */
void ps_grad_csr_block(ps_grad_csr_t *a, const int64_t *ptr, const int32_t *idx, const float *val, const uint8_t *Y,
                       int64_t n, double *loss, double *grad, double *hess);
void ps_grad_csr_end(ps_grad_csr_t *a);
/* z[h*ld + i] = bias_h + sum_j x_ij w_hj, bitwise ps_logits_cpu's. */
void ps_logits_csr_cpu(const int64_t *ptr, const int32_t *idx, const float *val, int64_t m, int64_t c, int k,
                       const double *theta, double *z, int64_t ld);
/* Probabilities -> P[h*n + i], bitwise ps_score_std_cpu's. */
void ps_score_csr_cpu(const int64_t *ptr, const int32_t *idx, const float *val, int64_t n, int64_t c, int k,
                      const double *theta, float *P);

#ifdef __cplusplus
}
#endif
#endif
