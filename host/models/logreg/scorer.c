/* scorer.c: the logistic-regression model as a scorer (models/scorer.h):
 * raw rows through the backend's fused standardize-and-score. CSR rows on
 * the CPU, for a model whose columns are the inputs scaled without
 * centering (train --standardize scale): sparse dot products of the stored
 * values (logreg_csr_cpu.h), the dense scoring's bits. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "common/psmath.h"
#include "logreg/logreg_cpu.h"
#include "logreg/logreg_csr_cpu.h"
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
  float *vs;   /* CSR rows: the stored values standardized */
  int64_t vcap;
} logreg_scorer_t;

static void predict(ps_scorer_t *s, const float *X, int64_t n, float *P) {
  logreg_scorer_t *l = s->impl;
  l->b->predict_raw(l->b, &l->tf, l->m.theta, l->m.k, X, n, P);
}

static void logits(ps_scorer_t *s, const float *X, int64_t n, double *Z) {
  logreg_scorer_t *l = s->impl;
  logreg_model_logits(&l->m, X, n, Z);
}

/* CSR rows: each stored value standardized as ps_standardize does (mean 0:
 * x * scale, non-finite -> 0), a value not stored standardizes to 0 and
 * adds nothing: ps_score_csr_cpu gives ps_score_raw_cpu's bits. */
static void predict_csr(ps_scorer_t *s, const int64_t *ptr, const int32_t *idx, const float *val, int64_t n,
                        float *P) {
  logreg_scorer_t *l = s->impl;
  int64_t nnz = ptr[n] - ptr[0];
  if (nnz > l->vcap) {
    free(l->vs);
    l->vs = ps_malloc(sizeof(float) * (size_t)nnz);
    l->vcap = nnz;
  }
  for (int64_t p = 0; p < nnz; p++)
    l->vs[p] = (float)ps_standardize(val[p], PS_COL_VALUE, l->m.mean[idx[p]], l->m.scale[idx[p]]);
  ps_score_csr_cpu(ptr, idx, l->vs, n, l->m.c, l->m.k, l->m.theta, P);
}

/* The model's columns are the inputs, uncentred (x * scale): CSR rows score sparse. */
static int scale_only(const ps_model_t *m) {
  if (m->c != m->f) return 0;
  for (int64_t j = 0; j < m->c; j++)
    if (m->src[j] != j || m->kind[j] != PS_COL_VALUE || m->mean[j] != 0.0) return 0;
  return 1;
}

static void destroy(ps_scorer_t *s) {
  logreg_scorer_t *l = s->impl;
  l->b->destroy(l->b);
  logreg_model_free(&l->m);
  free(l->vs);
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
  if (!strcmp(l->b->name, "cpu") && scale_only(&l->m)) s->predict_csr = predict_csr;
  s->impl = l;
  return s;
}
