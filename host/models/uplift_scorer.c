/* uplift_scorer.c: the two-model uplift model (see uplift_scorer.h): its
 * writer, and the model as a scorer (scorer.h): predict writes
 * P(y|treated) for every head, then P(y|control) (CSR rows: each model's
 * predict_csr, where both have one). */
#include "models/uplift_scorer.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "io/h5.h"
#include "models/scorer.h"

#define RUN_ID_ATTR "uplift_run_id"

static const char *base_name(const char *path) {
  const char *sl = strrchr(path, '/');
  return sl ? sl + 1 : path;
}

void uplift_model_write(ps_output_t *out, const uplift_model_t *m) {
  ps_h5_t fid = h5_create(out_tmp(out), 0);
  h5_attr_i64(fid, "schema_version", PS_SCHEMA_VERSION);
  h5_attr_str(fid, "kind", "model");
  h5_attr_str(fid, "model_type", "uplift");
  h5_attr_str(fid, "uplift_method", "two-model");
  h5_attr_str(fid, "base_model_type", m->base_model_type);
  h5_attr_str(fid, "treatment", m->treatment);
  h5_attr_str(fid, "treated_model", base_name(m->treated));
  h5_attr_str(fid, "control_model", base_name(m->control));
  h5_attr_f64(fid, "holdout", m->holdout);
  h5_attr_i64(fid, "split_salt", m->split_salt);
  h5_attr_str(fid, RUN_ID_ATTR, m->run_id);
  h5_close(fid);
}

void uplift_model_mark_part(const char *path, const char *run_id) {
  ps_h5_t fid = h5_open_rw(path);
  h5_attr_str(fid, RUN_ID_ATTR, run_id);
  h5_close(fid);
}

/* The parts must come from the run that wrote the uplift model (files
 * without a run id: written before run ids, accepted). */
static void check_part(ps_h5_t fid, const char *path, const char *role, const char *part) {
  char *want = h5_get_attr_str(fid, RUN_ID_ATTR);
  if (!want) return;
  ps_h5_t pf = h5_open(part, 0);
  char *got = h5_get_attr_str(pf, RUN_ID_ATTR);
  h5_close(pf);
  if (!got || strcmp(got, want))
    ps_die_all(PS_EXIT_ERROR,
               "%s: its %s model %s is from another train --uplift run (%s %s, the uplift model's %s): train the "
               "set again", path, role, part, RUN_ID_ATTR, got ? got : "missing", want);
  free(got);
  free(want);
}

typedef struct {
  ps_scorer_t *t, *c;
  float *buf;
  int64_t cap;
} uplift_scorer_t;

static void up_predict(ps_scorer_t *s, const float *X, int64_t n, float *P) {
  uplift_scorer_t *u = s->impl;
  int k = s->k;
  u->t->predict(u->t, X, n, P);
  u->c->predict(u->c, X, n, P + (size_t)k * (size_t)n);
}

/* CSR rows: each model from the stored values (their dense bits), where both can. */
static void up_predict_csr(ps_scorer_t *s, const int64_t *ptr, const int32_t *idx, const float *val, int64_t n,
                           float *P) {
  uplift_scorer_t *u = s->impl;
  u->t->predict_csr(u->t, ptr, idx, val, n, P);
  u->c->predict_csr(u->c, ptr, idx, val, n, P + (size_t)s->k * (size_t)n);
}

static void up_destroy(ps_scorer_t *s) {
  uplift_scorer_t *u = s->impl;
  scorer_close(u->t);
  scorer_close(u->c);
  free(u);
  free(s);
}

/* A path named in the uplift model, relative to the model's directory. */
static char *sibling(const char *model, const char *name) {
  if (name[0] == '/') return ps_strdup(name);
  const char *slash = strrchr(model, '/');
  if (!slash) return ps_strdup(name);
  return ps_sprintf("%.*s/%s", (int)(slash - model), model, name);
}

ps_scorer_t *uplift_scorer_open(ps_h5_t fid, const char *path, const char *device, ps_scorer_open_fn *open_model) {
  char *tn = h5_get_attr_str(fid, "treated_model"), *cn = h5_get_attr_str(fid, "control_model");
  if (!tn || !cn) ps_die_all(PS_EXIT_ERROR, "%s: uplift model without treated_model/control_model attributes", path);
  char *tp = sibling(path, tn), *cp = sibling(path, cn);
  check_part(fid, path, "treated", tp);
  check_part(fid, path, "control", cp);
  uplift_scorer_t *u = ps_calloc(1, sizeof *u);
  u->t = open_model(tp, device);
  u->c = open_model(cp, device);
  if (u->t->uplift || u->c->uplift) ps_die_all(PS_EXIT_ERROR, "%s: an uplift model names another uplift model", path);
  if (u->t->k != u->c->k || u->t->f != u->c->f)
    ps_die_all(PS_EXIT_ERROR, "%s: its treated model %s and control model %s differ in heads or features", path, tp,
               cp);
  for (int h = 0; h < u->t->k; h++)
    if (strcmp(u->t->targets[h], u->c->targets[h]))
      ps_die_all(PS_EXIT_ERROR, "%s: head %d is '%s' in %s but '%s' in %s", path, h, u->t->targets[h], tp,
                 u->c->targets[h], cp);
  for (int64_t j = 0; j < u->t->f; j++)
    if (strcmp(u->t->feature_names[j], u->c->feature_names[j]))
      ps_die_all(PS_EXIT_ERROR, "%s: feature %lld differs between %s and %s", path, (long long)j, tp, cp);
  ps_scorer_t *s = ps_calloc(1, sizeof *s);
  s->model_type = "uplift";
  s->device = u->t->device;
  s->k = u->t->k;
  s->targets = u->t->targets;
  s->f = u->t->f;
  s->feature_names = u->t->feature_names;
  s->holdout = u->t->holdout;
  s->split_salt = u->t->split_salt;
  s->uplift = 1;
  s->predict = up_predict;
  s->destroy = up_destroy;
  if (u->t->predict_csr && u->c->predict_csr) s->predict_csr = up_predict_csr;
  s->impl = u;
  free(tn);
  free(cn);
  free(tp);
  free(cp);
  return s;
}
