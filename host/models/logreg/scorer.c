/* scorer.c: the logistic-regression model as a scorer (models/scorer.h):
 * raw rows through the backend's fused standardize-and-score. */
#include <stdlib.h>

#include "core/util.h"
#include "logreg/logreg_cpu.h"
#include "models/logreg/backend.h"
#include "models/logreg/model.h"
#include "models/scorer.h"

void logreg_model_logits(const ps_model_t *m, const float *X, int64_t n, double *Z) {
  ps_logits_raw_cpu(X, n, m->f, m->c, m->k, m->src, m->kind, m->mean, m->scale, m->theta, Z);
}

typedef struct {
  ps_model_t m;
  ps_transform_t tf;
  ps_backend_t *b;
} logreg_scorer_t;

static void predict(ps_scorer_t *s, const float *X, int64_t n, float *P) {
  logreg_scorer_t *l = s->impl;
  l->b->predict_raw(l->b, &l->tf, l->m.theta, l->m.k, X, n, P);
}

static void logits(ps_scorer_t *s, const float *X, int64_t n, double *Z) {
  logreg_scorer_t *l = s->impl;
  logreg_model_logits(&l->m, X, n, Z);
}

static void destroy(ps_scorer_t *s) {
  logreg_scorer_t *l = s->impl;
  l->b->destroy(l->b);
  logreg_model_free(&l->m);
  free(l);
  free(s);
}

ps_scorer_t *logreg_scorer_open(ps_h5_t fid, const char *path, const char *device) {
  logreg_scorer_t *l = ps_calloc(1, sizeof *l);
  logreg_model_read(fid, path, &l->m);
  l->tf = model_transform(&l->m);
  l->b = logreg_backend_create(device, "f32");
  ps_scorer_t *s = ps_calloc(1, sizeof *s);
  s->model_type = "logreg";
  s->device = l->b->name;
  s->k = l->m.k;
  s->targets = l->m.targets;
  s->f = l->m.f;
  s->feature_names = l->m.feature_names;
  s->holdout = l->m.holdout;
  s->split_salt = l->m.split_salt;
  s->predict = predict;
  s->destroy = destroy;
  s->logits = logits;
  s->impl = l;
  return s;
}
