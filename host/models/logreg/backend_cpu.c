/* backend_cpu.c: the CPU backend of backend.h: the CPU twins of the kernels
 * (kernels/logreg/logreg_cpu.h) over resident or streamed rows. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "logreg/logreg_cpu.h"
#include "models/logreg/backend.h"

typedef struct {
  const float *X; /* resident rows (set_train) */
  const uint8_t *Y;
  int64_t n, c;
  int k;
  double *w_pos, *w_neg;
  ps_grad_acc_t *acc; /* the evaluation in progress (eval_begin .. eval_end) */
} cpu_t;

static void set_weights(cpu_t *s, int k, const double *w_pos, const double *w_neg) {
  if (w_pos == s->w_pos) return;
  free(s->w_pos);
  free(s->w_neg);
  s->w_pos = ps_malloc(sizeof(double) * (size_t)k);
  s->w_neg = ps_malloc(sizeof(double) * (size_t)k);
  memcpy(s->w_pos, w_pos, sizeof(double) * (size_t)k);
  memcpy(s->w_neg, w_neg, sizeof(double) * (size_t)k);
}

static void cpu_set_train(ps_backend_t *b, const float *X, const uint8_t *Y, int64_t n, int64_t c, int k,
                          const double *w_pos, const double *w_neg) {
  cpu_t *s = b->impl;
  s->X = X;
  s->Y = Y;
  s->n = n;
  s->c = c;
  s->k = k;
  set_weights(s, k, w_pos, w_neg);
}

static void cpu_eval_begin(ps_backend_t *b, const double *theta, int64_t c, int k, const double *w_pos,
                           const double *w_neg, const uint8_t *hmask) {
  cpu_t *s = b->impl;
  set_weights(s, k, w_pos, w_neg);
  s->c = c;
  s->k = k;
  s->acc = ps_grad_cpu_begin(c, k, theta, s->w_pos, s->w_neg, hmask);
}

static void cpu_eval_rows(ps_backend_t *b, const float *X, const uint8_t *Y, int64_t n) {
  cpu_t *s = b->impl;
  ps_grad_cpu_rows(s->acc, X, Y, n);
}

static void cpu_eval_block(ps_backend_t *b, const float *X, const uint8_t *Y, int64_t n, double *loss, double *grad,
                           double *hess) {
  cpu_t *s = b->impl;
  ps_grad_cpu_block(s->acc, X, Y, n, loss, grad, hess);
}

static void cpu_eval_end(ps_backend_t *b, double *loss, double *grad, double *hess) {
  cpu_t *s = b->impl;
  ps_grad_cpu_end(s->acc, loss, grad, hess);
  s->acc = NULL;
}

static void cpu_eval(ps_backend_t *b, const double *theta, double *loss, double *grad, double *hess,
                     const uint8_t *hmask) {
  cpu_t *s = b->impl;
  cpu_eval_begin(b, theta, s->c, s->k, s->w_pos, s->w_neg, hess ? hmask : NULL);
  cpu_eval_rows(b, s->X, s->Y, s->n);
  cpu_eval_end(b, loss, grad, hess);
}

static void cpu_predict_train(ps_backend_t *b, const double *theta, float *P) {
  cpu_t *s = b->impl;
  ps_score_std_cpu(s->X, s->n, s->c, s->k, theta, P);
}

static void cpu_predict_std(ps_backend_t *b, const double *theta, int k, const float *X, int64_t n, int64_t c,
                            float *P) {
  ps_score_std_cpu(X, n, c, k, theta, P);
}

static void cpu_predict_raw(ps_backend_t *b, const ps_transform_t *t, const double *theta, int k, const float *X,
                            int64_t n, float *P) {
  ps_score_raw_cpu(X, n, t->f, t->c, k, t->src, t->kind, t->mean, t->scale, theta, P);
}

static void cpu_destroy(ps_backend_t *b) {
  cpu_t *s = b->impl;
  free(s->w_pos);
  free(s->w_neg);
  free(s);
  free(b);
}

static const ps_backend_t CPU_BACKEND = {
    .name = "cpu",
    .set_train = cpu_set_train,
    .eval = cpu_eval,
    .eval_begin = cpu_eval_begin,
    .eval_rows = cpu_eval_rows,
    .eval_end = cpu_eval_end,
    .eval_block = cpu_eval_block,
    .predict_train = cpu_predict_train,
    .predict_std = cpu_predict_std,
    .predict_raw = cpu_predict_raw,
    .destroy = cpu_destroy,
};

ps_backend_t *backend_cpu_create(void) {
  ps_backend_t *b = ps_malloc(sizeof *b);
  *b = CPU_BACKEND;
  b->impl = ps_calloc(1, sizeof(cpu_t));
  return b;
}
