/* backend.h: the compute contract of logistic regression. The fit loop and
 * the scorer call only these functions; a backend (backend_cpu.c over the
 * CPU twins, backend_cuda.c over the CUDA kernels) never sees MPI. All sums
 * returned are this rank's local, unnormalized sums.
 *
 * Parameters of head k live at theta[k*(c+1) .. k*(c+1)+c]: c weights on
 * standardized columns, then the bias. */
#ifndef PS_BACKEND_H
#define PS_BACKEND_H
#include <stdint.h>

#include "stats/prepare.h"

typedef struct ps_backend ps_backend_t;
struct ps_backend {
  const char *name;
  void *impl;
  int64_t device_memory; /* bytes of device memory for resident rows; 0: host memory (CPU) */
  /* Resident training rows: standardized X [n, c] (row-major float32) and
   * labels Y [n, k] (0/1); class weights per head. The backend keeps them
   * (pointers or a device copy) across iterations. */
  void (*set_train)(ps_backend_t *b, const float *X, const uint8_t *Y, int64_t n, int64_t c, int k,
                    const double *w_pos, const double *w_neg);
  /* One pass over the resident rows for all heads: loss[k] = sum s*logloss,
   * grad[k*(c+1)+j] = sum s*(p-y)*x_j (j = c: the bias). If hess != NULL,
   * for every head with hmask[k]: hess[k*(c+1)^2 ..] = sum s*p*(1-p)*x x^T
   * (full symmetric, bias last). */
  void (*eval)(ps_backend_t *b, const double *theta, double *loss, double *grad, double *hess,
               const uint8_t *hmask);
  /* The same sums over rows that stream in blocks (data larger than memory):
   * begin at theta, add blocks of standardized rows in order, end. Rows are
   * cut into tiles at multiples of the rows added since begin, whatever the
   * block sizes, so the CPU sums are bitwise those of eval over the same rows. */
  void (*eval_begin)(ps_backend_t *b, const double *theta, int64_t c, int k, const double *w_pos,
                     const double *w_neg, const uint8_t *hmask);
  void (*eval_rows)(ps_backend_t *b, const float *X, const uint8_t *Y, int64_t n);
  void (*eval_end)(ps_backend_t *b, double *loss, double *grad, double *hess);
  /* Optional (NULL: not offered): between eval_begin and eval_end, and
   * instead of eval_rows, the sums of rows X [n] alone, as eval would
   * return them for these rows only. The CPU backend offers it: train sums
   * each grid block of rows alone and adds the sums exactly, which makes
   * the model the same for any rank count (fit.h). */
  void (*eval_block)(ps_backend_t *b, const float *X, const uint8_t *Y, int64_t n, double *loss, double *grad,
                     double *hess);
  /* Probabilities of the resident training rows (set_train) -> P [k][n]:
   * the copy already on the device, nothing uploaded again. The predict
   * functions take any number of heads and any n: a GPU backend moves rows
   * and probabilities in blocks of bounded size. */
  void (*predict_train)(ps_backend_t *b, const double *theta, float *P);
  /* Probabilities of standardized rows X [n, c] -> P [k][n] (head-major). */
  void (*predict_std)(ps_backend_t *b, const double *theta, int k, const float *X, int64_t n, int64_t c, float *P);
  /* Probabilities of raw rows X [n, f], standardized on the fly -> P [k][n]. */
  void (*predict_raw)(ps_backend_t *b, const ps_transform_t *t, const double *theta, int k, const float *X,
                      int64_t n, float *P);
  void (*destroy)(ps_backend_t *b);
};

/* device: "cpu", "cuda" or "auto" (cuda if built with it and a device is
 * present); x_dtype: "f32" or "bf16" (storage of resident training rows on
 * the GPU; the CPU backend keeps float32). Collective. */
ps_backend_t *logreg_backend_create(const char *device, const char *x_dtype);
ps_backend_t *backend_cpu_create(void);
/* CUDA builds only (backend_cuda.c). */
ps_backend_t *backend_cuda_create(int xtype);
int backend_cuda_devices(void);
/* The most heads the CUDA backend scores and trains (0: no limit). */
int backend_cuda_max_heads(void);
#endif
