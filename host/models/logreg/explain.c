/* explain.c: the logistic-regression model as an explainer
 * (models/explain.h): feature j's contribution to head h is
 * sum over the model columns c of j of w_hc * s_c, s_c the column's
 * standardized value as the scorer computes it (float32 of
 * ps_standardize: 0 for a non-finite value, the missing indicator's own
 * column added to its feature); the base value is the intercept. CSR
 * rows: top_csr, from the stored values (explain_csr.c). */
#include <stdlib.h>
#include <string.h>

#include "common/psmath.h"
#include "core/util.h"
#include "models/explain.h"
#include "models/logreg/explain_csr.h"
#include "models/logreg/model.h"

typedef struct {
  ps_model_t m;
  logreg_explain_csr_t *csr; /* made at the first CSR rows */
} logreg_explainer_t;

static void contrib(ps_explainer_t *e, int h, const float *X, int64_t n, double *phi) {
  ps_model_t *m = &((logreg_explainer_t *)e->impl)->m;
  int64_t f = m->f, c = m->c;
  const double *w = m->theta + (size_t)h * (size_t)(c + 1);
  memset(phi, 0, sizeof(double) * (size_t)n * (size_t)f);
  for (int64_t i = 0; i < n; i++) {
    const float *x = X + (size_t)i * (size_t)f;
    double *p = phi + (size_t)i * (size_t)f;
    for (int64_t j = 0; j < c; j++)
      p[m->src[j]] += w[j] * (double)(float)ps_standardize(x[m->src[j]], m->kind[j], m->mean[j], m->scale[j]);
  }
}

static void top_csr(ps_explainer_t *e, int h, const int64_t *ptr, const int32_t *idx, const float *val, int64_t n,
                    int top, int16_t *feat, float *out) {
  logreg_explainer_t *l = e->impl;
  if (!l->csr) l->csr = logreg_explain_csr_create(&l->m);
  logreg_explain_csr_top(l->csr, h, ptr, idx, val, n, top, feat, out);
}

static void destroy(ps_explainer_t *e) {
  logreg_explainer_t *l = e->impl;
  logreg_explain_csr_free(l->csr);
  logreg_model_free(&l->m);
  free(l);
  free(e->base);
  free(e);
}

ps_explainer_t *logreg_explainer_open(ps_h5_t fid, const char *path) {
  logreg_explainer_t *l = ps_calloc(1, sizeof *l);
  ps_model_t *m = &l->m;
  logreg_model_read(fid, path, m);
  ps_explainer_t *e = ps_calloc(1, sizeof *e);
  e->k = m->k;
  e->f = m->f;
  e->base = ps_malloc(sizeof(double) * (size_t)m->k);
  for (int h = 0; h < m->k; h++) e->base[h] = m->theta[(size_t)h * (size_t)(m->c + 1) + (size_t)m->c];
  e->device = "cpu";
  e->method = "linear";
  e->contrib = contrib;
  e->destroy = destroy;
  e->top_csr = top_csr;
  e->impl = l;
  return e;
}
