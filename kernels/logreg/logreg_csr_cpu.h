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
/* The same sums, sparse: loss[k] set, and grad [k][c+1] (0 on entry where the block has stored values,
 * and at the biases) added to only at the block's columns with a stored value, which it returns
 * (*ncols of them, each once, any order; valid until the next call), and at the biases c: grad then
 * holds ps_grad_csr_block's sums there (every other sum of the block is 0). No Hessians. */
const int32_t *ps_grad_csr_block_add(ps_grad_csr_t *a, const int64_t *ptr, const int32_t *idx, const float *val,
                                     const uint8_t *Y, int64_t n, double *loss, double *grad, int64_t *ncols);
/* Of m <= PS_GRAD_TILE rows: loss[k] and the biases' sums bias[k] (ps_grad_csr_block's), and the rows'
 * residuals, returned as r[h * PS_GRAD_TILE + i] (valid until the next call): the gradient of column j
 * is then logreg_csc_cpu.h's sum over the stored values. */
const double *ps_grad_csr_resid(ps_grad_csr_t *a, const int64_t *ptr, const int32_t *idx, const float *val,
                                const uint8_t *Y, int64_t m, double *loss, double *bias);
void ps_grad_csr_end(ps_grad_csr_t *a);
/* z[h*ld + i] = bias_h + sum_j x_ij w_hj, bitwise ps_logits_cpu's. */
void ps_logits_csr_cpu(const int64_t *ptr, const int32_t *idx, const float *val, int64_t m, int64_t c, int k,
                       const double *theta, double *z, int64_t ld);
/* Probabilities -> P[h*n + i], bitwise ps_score_std_cpu's. */
void ps_score_csr_cpu(const int64_t *ptr, const int32_t *idx, const float *val, int64_t n, int64_t c, int k,
                      const double *theta, float *P);

/* Rows under any of the model's standardizations (score_csr_cpu.c): a
 * centred column's zero standardizes to -mean * scale, so these rows are
 * built dense a tile at a time (the standardized zero row, the stored
 * values' columns over it) and summed by the dense twin: bitwise
 * ps_logits_raw_cpu / ps_score_raw_cpu over the rows made dense (the
 * probabilities mostly without the tiles: a proved rounding bound). */
typedef struct {
  int64_t f, c; /* input and model columns */
  const int64_t *src;
  const uint8_t *kind;
  const double *mean, *scale; /* the model's columns, as logreg_cpu.h's raw scoring takes them */
  float *zrow;                /* [c] the all-zero row standardized */
  int64_t *first, *col;       /* input q's model columns: col[first[q] .. first[q+1]), increasing */
  double slack;               /* 1 (init): the folded sum's error bound as proved; tests widen it */
} ps_std_csr_t;
void ps_std_csr_init(ps_std_csr_t *t, int64_t f, int64_t c, const int64_t *src, const uint8_t *kind,
                     const double *mean, const double *scale);
void ps_std_csr_free(ps_std_csr_t *t);
/* One row's standardized model columns o [c]: the float32 values the dense twin makes of the row. */
void ps_std_csr_row(const ps_std_csr_t *t, const int32_t *idx, const float *val, int64_t nnz, float *o);
/* Rows ptr [n+1] (any base): logits Z [h*n + i] (the tiles: O(c) a row). */
void ps_logits_csr_raw_cpu(const ps_std_csr_t *t, const int64_t *ptr, const int32_t *idx, const float *val,
                           int64_t n, int k, const double *theta, double *Z);
/* Probabilities P [h*n + i]: a row's float32 from the folded sum (O(stored values)) where a rounding bound
 * proves it the dense sum's, else by the tiles. Returns the rows that took the tiles. */
int64_t ps_score_csr_raw_cpu(const ps_std_csr_t *t, const int64_t *ptr, const int32_t *idx, const float *val,
                             int64_t n, int k, const double *theta, float *P);

#ifdef __cplusplus
}
#endif
#endif
