/* calibration.c: a calibrated model as a scorer (calibration.h): the
 * stored map read per head and applied to the wrapped scorer's
 * probabilities. */
#include "models/calibration.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "stats/calibrate.h"

const char *const PS_CALIB_NAMES[] = {"none", "isotonic", "platt", NULL};

typedef struct {
  ps_scorer_t *in;
  int kind;
  ps_isotonic_t *iso; /* [k] */
  ps_platt_t *platt;  /* [k] */
} calib_scorer_t;

double calibration_logit(float p) {
  double q = (double)p;
  q = q < 1e-15 ? 1e-15 : q > 1 - 1e-15 ? 1 - 1e-15 : q;
  return log(q) - log1p(-q);
}

static void predict(ps_scorer_t *s, const float *X, int64_t n, float *P) {
  calib_scorer_t *c = s->impl;
  c->in->predict(c->in, X, n, P);
  for (int h = 0; h < s->k; h++) {
    float *p = P + (size_t)h * (size_t)n;
    for (int64_t i = 0; i < n; i++)
      p[i] = (float)(c->kind == PS_CALIB_ISOTONIC ? calib_isotonic_apply(&c->iso[h], (double)p[i])
                                                  : calib_platt_apply(&c->platt[h], calibration_logit(p[i])));
  }
}

static void destroy(ps_scorer_t *s) {
  calib_scorer_t *c = s->impl;
  for (int h = 0; c->iso && h < s->k; h++) calib_isotonic_free(&c->iso[h]);
  free(c->iso);
  free(c->platt);
  scorer_close(c->in);
  free(c);
  free(s);
}

/* Head h's map from /calibration/<target>. */
static void read_head(ps_h5_t fid, const char *path, const char *target, calib_scorer_t *c, int h) {
  char *name = ps_sprintf("/calibration/%s", target);
  ps_h5_t g = h5_group_open(fid, path, name);
  if (c->kind == PS_CALIB_PLATT) {
    if (!h5_get_attr_f64(g, "a", &c->platt[h].a) || !h5_get_attr_f64(g, "b", &c->platt[h].b))
      ps_die_all(PS_EXIT_ERROR, "%s: %s: Platt calibration without attributes a and b", path, name);
  } else {
    ps_isotonic_t *m = &c->iso[h];
    m->n = h5_count(g, "x");
    if (m->n < 1 || h5_count(g, "y") != m->n)
      ps_die_all(PS_EXIT_ERROR, "%s: %s: isotonic calibration needs x and y of one length >= 1", path, name);
    m->x = ps_malloc(sizeof(double) * (size_t)m->n);
    m->y = ps_malloc(sizeof(double) * (size_t)m->n);
    h5_read_small(g, path, "x", PS_F64, m->x, m->n);
    h5_read_small(g, path, "y", PS_F64, m->y, m->n);
  }
  h5_close(g);
  free(name);
}

ps_scorer_t *calibration_wrap(ps_h5_t fid, const char *path, ps_scorer_t *s) {
  char *kind = h5_get_attr_str(fid, "calibration");
  int k = 0;
  while (kind && PS_CALIB_NAMES[k] && strcmp(kind, PS_CALIB_NAMES[k])) k++;
  if (kind && !PS_CALIB_NAMES[k])
    ps_die_all(PS_EXIT_ERROR, "%s: calibration '%s' is unknown to this propscore (isotonic|platt|none)", path, kind);
  free(kind);
  if (k == PS_CALIB_NONE) return s;
  calib_scorer_t *c = ps_calloc(1, sizeof *c);
  c->in = s;
  c->kind = k;
  int nh = s->k > 0 ? s->k : 1;
  if (k == PS_CALIB_ISOTONIC) c->iso = ps_calloc((size_t)nh, sizeof *c->iso);
  else c->platt = ps_calloc((size_t)nh, sizeof *c->platt);
  for (int h = 0; h < s->k; h++) read_head(fid, path, s->targets[h], c, h);
  ps_scorer_t *w = ps_malloc(sizeof *w);
  *w = *s;
  w->predict = predict;
  w->destroy = destroy;
  w->impl = c;
  return w;
}
