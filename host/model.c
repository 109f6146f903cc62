/* model.c: model file I/O and the model/data column check. */
#define _DEFAULT_SOURCE
#include "model.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

void model_transform(const ps_model_t *m, ps_transform_t *t) {
  t->c = m->c;
  t->f = m->f;
  t->src = m->src;
  t->kind = m->kind;
  t->mean = m->mean;
  t->scale = m->scale;
}

void model_write(const char *path, const ps_model_t *m, const ps_train_report_t *r) {
  size_t tl = strlen(path) + 32;
  char *tmp = ps_malloc(tl);
  snprintf(tmp, tl, "%s.tmp-%ld", path, (long)getpid());
  ps_tmp_register(tmp);
  hid_t fid = h5io_create(tmp, 0);
  int64_t c = m->c, c1 = c + 1, k = m->k;
  char ts[64];
  ps_timestamp(ts, sizeof ts);
  h5io_attr_i64(fid, "schema_version", PS_SCHEMA_VERSION);
  h5io_attr_str(fid, "kind", "model");
  h5io_attr_str(fid, "propscore_version", PROPSCORE_VERSION);
  h5io_attr_str(fid, "created", ts);
  h5io_attr_i64(fid, "ranks", r->ranks);
  h5io_attr_str(fid, "device", r->device);
  h5io_attr_str(fid, "solver", r->solver);
  h5io_attr_str(fid, "class_weight", r->class_weight);
  h5io_attr_f64(fid, "tol", r->tol);
  h5io_attr_f64(fid, "ftol", r->ftol);
  h5io_attr_i64(fid, "max_iter", r->max_iter);
  h5io_attr_f64(fid, "holdout", m->holdout);
  h5io_attr_i64(fid, "split_salt", m->split_salt);
  h5io_attr_i64(fid, "missing_indicators", r->missing_indicators);
  h5io_attr_f64(fid, "n_train", r->n_train);
  h5io_attr_f64(fid, "n_valid", r->n_valid);
  /* Input identity: path, size and modification time of the training data. */
  char real[PATH_MAX];
  struct stat st;
  h5io_attr_str(fid, "input_path", realpath(r->input_path, real) ? real : r->input_path);
  if (stat(r->input_path, &st) == 0) {
    h5io_attr_i64(fid, "input_size", (int64_t)st.st_size);
    h5io_attr_i64(fid, "input_mtime", (int64_t)st.st_mtime);
  }
  h5io_write_strings(fid, "/feature_names", m->feature_names, m->f);
  h5io_write_strings(fid, "/targets", m->targets, k);
  hid_t g = h5io_create_group(fid, "/columns");
  int64_t dc[1] = {c}, dk[1] = {k}, dw[2] = {c, k};
  h5io_write_small(g, "source", H5T_NATIVE_INT64, 1, dc, m->src);
  h5io_write_small(g, "kind", H5T_NATIVE_UINT8, 1, dc, m->kind);
  H5Gclose(g);
  g = h5io_create_group(fid, "/standardize");
  h5io_write_small(g, "mean", H5T_NATIVE_DOUBLE, 1, dc, m->mean);
  h5io_write_small(g, "scale", H5T_NATIVE_DOUBLE, 1, dc, m->scale);
  H5Gclose(g);
  double *w = ps_malloc(sizeof(double) * (size_t)(c * k + 1)), *b = ps_malloc(sizeof(double) * (size_t)k);
  for (int64_t h = 0; h < k; h++) {
    for (int64_t j = 0; j < c; j++) w[j * k + h] = m->theta[h * c1 + j];
    b[h] = m->theta[h * c1 + c];
  }
  h5io_write_small(fid, "/weights", H5T_NATIVE_DOUBLE, 2, dw, w);
  h5io_write_small(fid, "/bias", H5T_NATIVE_DOUBLE, 1, dk, b);
  free(w);
  free(b);
  hid_t gt = h5io_create_group(fid, "/trace"), gm = h5io_create_group(fid, "/metrics");
  for (int64_t h = 0; h < k; h++) {
    int64_t dt[2] = {r->traces[h].rows, 5};
    h5io_write_small(gt, m->targets[h], H5T_NATIVE_DOUBLE, 2, dt, r->traces[h].data);
    hid_t d = H5Dopen2(gt, m->targets[h], H5P_DEFAULT);
    h5io_attr_str(d, "columns", "iteration,loss,grad_inf_norm,step,evaluations");
    H5Dclose(d);
    hid_t mh = h5io_create_group(gm, m->targets[h]);
    h5io_attr_f64(mh, "l2", r->l2[h]);
    h5io_attr_f64(mh, "pos_weight", r->pos_weight[h]);
    h5io_attr_f64(mh, "n_pos", r->n_pos[h]);
    h5io_attr_i64(mh, "iterations", r->traces[h].rows - 1);
    h5io_attr_i64(mh, "converged", r->traces[h].status == PS_CONVERGED);
    h5io_attr_str(mh, "stop", r->traces[h].stop);
    h5io_attr_f64(mh, "objective", r->traces[h].data[5 * (r->traces[h].rows - 1) + 1]);
    h5io_attr_f64(mh, "train_loss", r->train[h].logloss);
    h5io_attr_f64(mh, "train_auc", r->train[h].auc);
    if (r->valid) {
      h5io_attr_f64(mh, "valid_loss", r->valid[h].logloss);
      h5io_attr_f64(mh, "valid_auc", r->valid[h].auc);
      h5io_attr_f64(mh, "valid_pr_auc", r->valid[h].pr_auc);
    }
    H5Gclose(mh);
  }
  H5Gclose(gt);
  H5Gclose(gm);
  h5io_close(fid);
  if (ps_commit_file(tmp, path) != 0) ps_die_local("cannot rename %s to %s", tmp, path);
  ps_tmp_forget(tmp);
  free(tmp);
}

void model_read(const char *path, ps_model_t *m) {
  memset(m, 0, sizeof *m);
  hid_t fid = h5io_open(path, 0);
  char *kind = h5io_get_attr_str(fid, "kind");
  if (!kind || strcmp(kind, "model") != 0)
    ps_die_all(PS_EXIT_ERROR, "%s: not a propscore model file (kind = %s)", path, kind ? kind : "missing");
  free(kind);
  int64_t v = 0;
  if (!h5io_get_attr_i64(fid, "schema_version", &v) || v != PS_SCHEMA_VERSION)
    ps_die_all(PS_EXIT_ERROR, "%s: model schema_version %lld, this propscore reads version %d", path, (long long)v,
               PS_SCHEMA_VERSION);
  int64_t nk = 0;
  m->feature_names = h5io_read_strings(fid, path, "/feature_names", &m->f);
  m->targets = h5io_read_strings(fid, path, "/targets", &nk);
  m->k = (int)nk;
  hid_t d = H5Dopen2(fid, "/columns/source", H5P_DEFAULT);
  if (d < 0) ps_die_all(PS_EXIT_ERROR, "%s: dataset /columns/source not found", path);
  hid_t sp = H5Dget_space(d);
  m->c = (int64_t)H5Sget_simple_extent_npoints(sp);
  H5Sclose(sp);
  H5Dclose(d);
  int64_t c = m->c, c1 = c + 1, k = m->k;
  m->src = ps_malloc(sizeof(int64_t) * (size_t)(c + 1));
  m->kind = ps_malloc((size_t)(c + 1));
  m->mean = ps_malloc(sizeof(double) * (size_t)(c + 1));
  m->scale = ps_malloc(sizeof(double) * (size_t)(c + 1));
  m->theta = ps_malloc(sizeof(double) * (size_t)(k * c1));
  double *w = ps_malloc(sizeof(double) * (size_t)(c * k + 1)), *b = ps_malloc(sizeof(double) * (size_t)k);
  h5io_read_small(fid, path, "/columns/source", H5T_NATIVE_INT64, m->src, c);
  h5io_read_small(fid, path, "/columns/kind", H5T_NATIVE_UINT8, m->kind, c);
  h5io_read_small(fid, path, "/standardize/mean", H5T_NATIVE_DOUBLE, m->mean, c);
  h5io_read_small(fid, path, "/standardize/scale", H5T_NATIVE_DOUBLE, m->scale, c);
  h5io_read_small(fid, path, "/weights", H5T_NATIVE_DOUBLE, w, c * k);
  h5io_read_small(fid, path, "/bias", H5T_NATIVE_DOUBLE, b, k);
  for (int64_t j = 0; j < c; j++)
    if (m->src[j] < 0 || m->src[j] >= m->f || m->kind[j] > 1)
      ps_die_all(PS_EXIT_ERROR, "%s: /columns row %lld is invalid (source %lld, kind %d)", path, (long long)j,
                 (long long)m->src[j], m->kind[j]);
  for (int64_t h = 0; h < k; h++) {
    for (int64_t j = 0; j < c; j++) m->theta[h * c1 + j] = w[j * k + h];
    m->theta[h * c1 + c] = b[h];
  }
  free(w);
  free(b);
  h5io_get_attr_f64(fid, "holdout", &m->holdout);
  h5io_get_attr_i64(fid, "split_salt", &m->split_salt);
  h5io_close(fid);
}

void model_free(ps_model_t *m) {
  ps_free_strv(m->feature_names);
  ps_free_strv(m->targets);
  free(m->src); free(m->kind); free(m->mean); free(m->scale); free(m->theta);
  memset(m, 0, sizeof *m);
}

void model_check_data(const ps_model_t *m, const char *model_path, const ps_data_t *d) {
  int64_t n = m->f < d->f ? m->f : d->f;
  for (int64_t j = 0; j < n; j++)
    if (strcmp(m->feature_names[j], d->feature_names[j]) != 0)
      ps_die_all(PS_EXIT_ERROR, "%s: feature %lld is '%s' but model %s expects '%s'", d->path, (long long)j,
                 d->feature_names[j], model_path, m->feature_names[j]);
  if (m->f != d->f)
    ps_die_all(PS_EXIT_ERROR, "%s: has %lld features but model %s expects %lld (first difference at column %lld)",
               d->path, (long long)d->f, model_path, (long long)m->f, (long long)n);
}
