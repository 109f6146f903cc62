/* model.c: logistic-regression model files (see model.h). */
#include "models/logreg/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/psmath.h"
#include "core/util.h"
#include "io/output.h"
#include "models/model_file.h"
#include "models/logreg/linesearch.h"

ps_transform_t model_transform(const ps_model_t *m) {
  ps_transform_t t = {.c = m->c, .f = m->f, .src = m->src, .kind = m->kind, .mean = m->mean, .scale = m->scale};
  return t;
}

void logreg_model_write(ps_output_t *out, const ps_model_t *m, const ps_train_report_t *r) {
  const char *path = out_tmp(out);
  ps_h5_t fid = model_file_create(out, "logreg");
  int64_t c = m->c, c1 = c + 1, k = m->k;
  h5_attr_str(fid, "device", r->device);
  h5_attr_str(fid, "solver", r->solver);
  h5_attr_str(fid, "class_weight", r->class_weight);
  h5_attr_f64(fid, "tol", r->tol);
  h5_attr_f64(fid, "ftol", r->ftol);
  h5_attr_i64(fid, "max_iter", r->max_iter);
  h5_attr_f64(fid, "holdout", m->holdout);
  h5_attr_i64(fid, "split_salt", m->split_salt);
  h5_attr_i64(fid, "missing_indicators", r->missing_indicators);
  h5_attr_f64(fid, "n_train", r->n_train);
  h5_attr_f64(fid, "n_valid", r->n_valid);
  model_file_input(fid, r->input_path);
  if (r->l1_weights) { /* the adaptive lasso: how the L1 strengths were weighted */
    h5_attr_str(fid, "l1_weights", r->l1_weights);
    h5_attr_f64(fid, "l1_gamma", r->l1_gamma);
  }
  h5_write_strings(fid, "/feature_names", m->feature_names, m->f);
  h5_write_strings(fid, "/targets", m->targets, k);
  ps_h5_t g = h5_group_create(fid, "/columns");
  int64_t dc[1] = {c}, dk[1] = {k}, dw[2] = {c, k};
  h5_write_small(g, "source", PS_I64, 1, dc, m->src);
  h5_write_small(g, "kind", PS_U8, 1, dc, m->kind);
  h5_close(g);
  g = h5_group_create(fid, "/standardize");
  h5_write_small(g, "mean", PS_F64, 1, dc, m->mean);
  h5_write_small(g, "scale", PS_F64, 1, dc, m->scale);
  h5_close(g);
  double *w = ps_malloc(sizeof(double) * (size_t)(c * k + 1)), *b = ps_malloc(sizeof(double) * (size_t)k);
  for (int64_t h = 0; h < k; h++) {
    for (int64_t j = 0; j < c; j++) w[j * k + h] = m->theta[h * c1 + j];
    b[h] = m->theta[h * c1 + c];
  }
  h5_write_small(fid, "/weights", PS_F64, 2, dw, w);
  h5_write_small(fid, "/bias", PS_F64, 1, dk, b);
  free(w);
  free(b);
  ps_h5_t gt = h5_group_create(fid, "/trace"), gm = h5_group_create(fid, "/metrics");
  for (int64_t h = 0; h < k; h++) {
    const fit_trace_t *tr = &r->traces[h];
    int64_t dt[2] = {tr->rows, PS_TRACE_COLS}, dims[2];
    h5_write_small(gt, m->targets[h], PS_F64, 2, dt, tr->data);
    ps_h5_t d = h5_dset_open(gt, path, m->targets[h], 2, PS_KIND_FLOAT, "float64", dims);
    h5_attr_str(d, "columns", "iteration,loss,grad_inf_norm,step,evaluations");
    h5_close(d);
    ps_h5_t mh = h5_group_create(gm, m->targets[h]);
    h5_attr_f64(mh, "l2", r->l2[h]);
    h5_attr_f64(mh, "pos_weight", r->pos_weight[h]);
    if (r->l1) {
      h5_attr_f64(mh, "l1", r->l1[h]);
      h5_attr_i64(mh, "nonzero_weights", logreg_model_nonzero(m, h));
    }
    h5_attr_f64(mh, "n_pos", r->n_pos[h]);
    h5_attr_i64(mh, "iterations", tr->rows - 1);
    h5_attr_i64(mh, "converged", tr->status == PS_CONVERGED);
    h5_attr_str(mh, "stop", tr->stop);
    h5_attr_f64(mh, "objective", tr->data[PS_TRACE_COLS * (tr->rows - 1) + 1]);
    model_file_metrics(mh, &r->train[h], r->valid ? &r->valid[h] : NULL);
    h5_close(mh);
  }
  h5_close(gt);
  h5_close(gm);
  h5_close(fid);
}

/* A model's numbers must be usable: one line naming the dataset and index. */
static void check_finite(const char *path, const char *name, const double *v, int64_t n, int nonneg) {
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(v[i]) || (nonneg && v[i] < 0))
      ps_die_all(PS_EXIT_ERROR, "%s: %s[%lld] is %g: the model is damaged (retrain it)", path, name, (long long)i, v[i]);
}

void logreg_model_read(ps_h5_t fid, const char *path, ps_model_t *m) {
  memset(m, 0, sizeof *m);
  int64_t nk = 0;
  m->feature_names = h5_read_names(fid, path, "/feature_names", &m->f);
  m->targets = h5_read_strings(fid, path, "/targets", &nk);
  m->k = (int)nk;
  if (m->k < 1) ps_die_all(PS_EXIT_ERROR, "%s: the model has no heads (/targets is empty)", path);
  m->c = h5_count(fid, "/columns/source");
  if (m->c < 0) ps_die_all(PS_EXIT_ERROR, "%s: dataset /columns/source not found", path);
  int64_t c = m->c, c1 = c + 1, k = m->k;
  m->src = ps_malloc(sizeof(int64_t) * (size_t)(c + 1));
  m->kind = ps_malloc((size_t)(c + 1));
  m->mean = ps_malloc(sizeof(double) * (size_t)(c + 1));
  m->scale = ps_malloc(sizeof(double) * (size_t)(c + 1));
  m->theta = ps_malloc(sizeof(double) * (size_t)(k * c1));
  double *w = ps_malloc(sizeof(double) * (size_t)(c * k + 1)), *b = ps_malloc(sizeof(double) * (size_t)k);
  h5_read_small(fid, path, "/columns/source", PS_I64, m->src, c);
  h5_read_small(fid, path, "/columns/kind", PS_U8, m->kind, c);
  h5_read_small(fid, path, "/standardize/mean", PS_F64, m->mean, c);
  h5_read_small(fid, path, "/standardize/scale", PS_F64, m->scale, c);
  h5_read_small(fid, path, "/weights", PS_F64, w, c * k);
  h5_read_small(fid, path, "/bias", PS_F64, b, k);
  for (int64_t j = 0; j < c; j++)
    if (m->src[j] < 0 || m->src[j] >= m->f) /* every kind is valid: 0, 1, or 2 + a code 0..253 */
      ps_die_all(PS_EXIT_ERROR, "%s: /columns row %lld is invalid (source %lld, kind %d)", path, (long long)j,
                 (long long)m->src[j], m->kind[j]);
  check_finite(path, "/weights", w, c * k, 0);
  check_finite(path, "/bias", b, k, 0);
  check_finite(path, "/standardize/mean", m->mean, c, 0);
  check_finite(path, "/standardize/scale", m->scale, c, 1);
  for (int64_t h = 0; h < k; h++) {
    for (int64_t j = 0; j < c; j++) m->theta[h * c1 + j] = w[j * k + h];
    m->theta[h * c1 + c] = b[h];
  }
  free(w);
  free(b);
  h5_get_attr_f64(fid, "holdout", &m->holdout);
  h5_get_attr_i64(fid, "split_salt", &m->split_salt);
}

void logreg_model_free(ps_model_t *m) {
  ps_free_strv(m->feature_names);
  ps_free_strv(m->targets);
  free(m->src);
  free(m->kind);
  free(m->mean);
  free(m->scale);
  free(m->theta);
  memset(m, 0, sizeof *m);
}

int64_t logreg_model_nonzero(const ps_model_t *m, int h) {
  const double *w = m->theta + (size_t)h * (size_t)(m->c + 1);
  int64_t n = 0;
  for (int64_t j = 0; j < m->c; j++) n += w[j] != 0.0;
  return n;
}
