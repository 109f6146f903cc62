/* explain.c: the logistic-regression model as an explainer
 * (models/explain.h): feature j's contribution to head h is
 * sum over the model columns c of j of w_hc * s_c, s_c the column's
 * standardized value as the scorer computes it (float32 of
 * ps_standardize: 0 for a non-finite value, the missing indicator's own
 * column added to its feature); the base value is the intercept. */
#include <stdlib.h>
#include <string.h>

#include "common/psmath.h"
#include "core/util.h"
#include "models/explain.h"
#include "models/logreg/model.h"

static void contrib(ps_explainer_t *e, int h, const float *X, int64_t n, double *phi) {
  ps_model_t *m = e->impl;
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

static void destroy(ps_explainer_t *e) {
  logreg_model_free(e->impl);
  free(e->impl);
  free(e->base);
  free(e);
}

ps_explainer_t *logreg_explainer_open(ps_h5_t fid, const char *path) {
  ps_model_t *m = ps_calloc(1, sizeof *m);
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
  e->impl = m;
  return e;
}
