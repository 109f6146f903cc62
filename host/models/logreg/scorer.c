/* scorer.c: the logistic-regression model as a scorer (models/scorer.h):
 * raw rows through the backend's fused standardize-and-score. CSR rows on
 * the CPU, for a model whose columns are the inputs scaled without
 * centering (train --standardize scale): sparse dot products of the stored
 * values (logreg_csr_cpu.h), the dense scoring's bits; any other model
 * (centred, missing indicators): its standardized rows built a tile at a
 * time from the stored values (score_csr_cpu.c), the dense bits too. */
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
  int scale_only;   /* CSR rows score by sparse dot products, else through std's tiles */
  ps_std_csr_t std; /* made at the first CSR rows of a model that is not scale-only */
} logreg_scorer_t;

static void predict(ps_scorer_t *s, const float *X, int64_t n, float *P) {
  logreg_scorer_t *l = s->impl;
  l->b->predict_raw(l->b, &l->tf, l->m.theta, l->m.k, X, n, P);
}

static void logits(ps_scorer_t *s, const float *X, int64_t n, double *Z) {
  logreg_scorer_t *l = s->impl;
  logreg_model_logits(&l->m, X, n, Z);
}

/* CSR rows of a scale-only model: each stored value standardized as
 * ps_standardize does (mean 0: x * scale, non-finite -> 0), a value not
 * stored standardizes to 0 and adds nothing: ps_score_csr_cpu gives
 * ps_score_raw_cpu's bits. Returns the standardized values [nnz]. */
static const float *scaled_values(logreg_scorer_t *l, const int64_t *ptr, const int32_t *idx, const float *val,
                                  int64_t n) {
  int64_t nnz = ptr[n] - ptr[0];
  if (nnz > l->vcap) {
    free(l->vs);
    l->vs = ps_malloc(sizeof(float) * (size_t)nnz);
    l->vcap = nnz;
  }
  for (int64_t p = 0; p < nnz; p++)
    l->vs[p] = (float)ps_standardize(val[p], PS_COL_VALUE, l->m.mean[idx[p]], l->m.scale[idx[p]]);
  return l->vs;
}

/* Any other model: its columns' standardization, ready for CSR tiles. */
static const ps_std_csr_t *std_of(logreg_scorer_t *l) {
  if (!l->std.zrow) ps_std_csr_init(&l->std, l->m.f, l->m.c, l->m.src, l->m.kind, l->m.mean, l->m.scale);
  return &l->std;
}

static void predict_csr(ps_scorer_t *s, const int64_t *ptr, const int32_t *idx, const float *val, int64_t n,
                        float *P) {
  logreg_scorer_t *l = s->impl;
  if (l->scale_only) ps_score_csr_cpu(ptr, idx, scaled_values(l, ptr, idx, val, n), n, l->m.c, l->m.k, l->m.theta, P);
  else ps_score_csr_raw_cpu(std_of(l), ptr, idx, val, n, l->m.k, l->m.theta, P);
}

/* The blend's logits of CSR rows: logreg_model_logits' bits on the rows made dense. */
static void logits_csr(ps_scorer_t *s, const int64_t *ptr, const int32_t *idx, const float *val, int64_t n,
                       double *Z) {
  logreg_scorer_t *l = s->impl;
  if (l->scale_only)
    ps_logits_csr_cpu(ptr, idx, scaled_values(l, ptr, idx, val, n), n, l->m.c, l->m.k, l->m.theta, Z, n);
  else ps_logits_csr_raw_cpu(std_of(l), ptr, idx, val, n, l->m.k, l->m.theta, Z);
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
  if (l->std.zrow) ps_std_csr_free(&l->std);
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
  l->scale_only = scale_only(&l->m);
  if (!strcmp(l->b->name, "cpu")) s->predict_csr = predict_csr;
  s->logits_csr = logits_csr; /* logits are the CPU's whatever the backend */
  s->impl = l;
  return s;
}
