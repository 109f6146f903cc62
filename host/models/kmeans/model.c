/* model.c: the personas file, written and read back (see model.h). */
#include "models/kmeans/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"
#include "io/h5.h"
#include "io/output.h"

void kmeans_model_read(const char *path, km_model_t *m) {
  memset(m, 0, sizeof *m);
  ps_h5_t fid = h5_open(path, 0);
  char *mt = h5_get_attr_str(fid, "model_type");
  if (!mt || strcmp(mt, "kmeans") != 0)
    ps_die_all(PS_EXIT_ERROR, "%s: not a segment model (attribute model_type is %s, expected kmeans)", path,
               mt ? mt : "absent");
  free(mt);
  m->names = h5_read_names(fid, path, "/model/columns/name", &m->c); /* a name twice is refused */
  int64_t k = 0;
  if (!h5_get_attr_i64(fid, "k", &k) || k < 1 || k > 100000)
    ps_die_all(PS_EXIT_ERROR, "%s: attribute k is missing or out of range: the model is damaged", path);
  m->k = (int)k;
  m->mean = ps_malloc(sizeof(double) * (size_t)m->c);
  m->scale = ps_malloc(sizeof(double) * (size_t)m->c);
  m->centers = ps_malloc(sizeof(double) * (size_t)m->c * (size_t)k);
  h5_read_small(fid, path, "/model/standardize/mean", PS_F64, m->mean, m->c);
  h5_read_small(fid, path, "/model/standardize/scale", PS_F64, m->scale, m->c);
  h5_read_small(fid, path, "/model/centroids", PS_F64, m->centers, m->c * k);
  for (int64_t j = 0; j < m->c * k; j++)
    if (!isfinite(m->centers[j]) || (j < m->c && (!isfinite(m->mean[j]) || !isfinite(m->scale[j]))))
      ps_die_all(PS_EXIT_ERROR, "%s: /model has a non-finite value (index %lld): the model is damaged", path,
                 (long long)j);
  h5_close(fid);
}

void kmeans_model_free(km_model_t *m) {
  ps_free_strv(m->names);
  free(m->mean), free(m->scale), free(m->centers);
  memset(m, 0, sizeof *m);
}

/* Collective row writes of this rank's range, in blocks agreed by all ranks. */
static void write_range(ps_h5_t ds, ps_dtype_t t, int64_t row0, int64_t n, const void *buf) {
  int64_t br = h5_block_rows((int64_t)h5_dtype_size(t), 0), nb = h5_common_blocks(n, br);
  size_t es = h5_dtype_size(t);
  for (int64_t b = 0; b < nb; b++) {
    int64_t a = b * br, m = a < n ? (n - a < br ? n - a : br) : 0;
    h5_xfer_rows(ds, t, row0 + (m > 0 ? a : 0), m, 0, (char *)buf + (size_t)(m > 0 ? a : 0) * es, 1);
  }
}

static void write_attrs(ps_h5_t fid, const km_personas_t *p) {
  h5_attr_i64(fid, "schema_version", PS_SCHEMA_VERSION);
  h5_attr_str(fid, "kind", "personas");
  h5_attr_str(fid, "model_type", "kmeans");
  h5_attr_str(fid, "generator", "propscore segment " PROPSCORE_VERSION);
  h5_attr_i64(fid, "k", p->k);
  h5_attr_f64(fid, "inertia", p->inertia);
  h5_attr_i64(fid, "iterations", p->iterations);
  h5_attr_i64(fid, "seed", (int64_t)p->seed);
  h5_attr_i64(fid, "n_init", p->assigned ? 0 : p->n_init);
  h5_attr_str(fid, "assigned_with", p->assigned ? "a saved model (--model)" : "this fit");
}

/* /model and /profile: small, the same on every rank. */
static void write_model(ps_h5_t fid, const km_personas_t *p) {
  ps_h5_t gm = h5_group_create(fid, "/model");
  ps_h5_t gst = h5_group_create(gm, "standardize"), gc = h5_group_create(gm, "columns");
  int64_t dkc[2] = {p->k, p->c}, dc[1] = {p->c}, dk[1] = {p->k};
  h5_write_small(gm, "centroids", PS_F64, 2, dkc, p->centers);
  h5_write_small(gm, "centroids_raw", PS_F64, 2, dkc, p->centers_raw);
  h5_write_small(gm, "sizes", PS_I64, 1, dk, p->sizes);
  h5_write_small(gst, "mean", PS_F64, 1, dc, p->mean);
  h5_write_small(gst, "scale", PS_F64, 1, dc, p->scale);
  h5_write_strings(gc, "name", p->names, p->c);
  h5_write_small(gc, "source", PS_I64, 1, dc, p->source);
  ps_h5_t gp = h5_group_create(fid, "/profile");
  h5_write_small(gp, "mean_raw", PS_F64, 2, dkc, p->mean_raw);
  h5_write_small(gp, "mean_std", PS_F64, 2, dkc, p->mean_std);
  h5_close(gst), h5_close(gc), h5_close(gm), h5_close(gp);
}

void kmeans_model_write(const char *path, const km_personas_t *p) {
  ps_output_t *outf = out_begin(path, 1);
  ps_h5_t fid = h5_create(out_tmp(outf), 1);
  write_attrs(fid, p);
  int64_t d1[1] = {p->N};
  int64_t ch[1] = {p->N < (1 << 20) ? p->N : (1 << 20)};
  ps_h5_t did = h5_dset_create(fid, "/customer_id", PS_I64, 1, d1, ch);
  ps_h5_t gs = h5_group_create(fid, "/segments");
  ps_h5_t dp = h5_dset_create(gs, "persona", PS_I32, 1, d1, ch);
  ps_h5_t dd = h5_dset_create(gs, "distance", PS_F32, 1, d1, ch);
  write_model(fid, p);
  float *dist = ps_malloc(sizeof(float) * (size_t)(p->n > 0 ? p->n : 1));
  for (int64_t i = 0; i < p->n; i++) dist[i] = (float)sqrt(p->d2[i]);
  write_range(did, PS_I64, p->row0, p->n, p->ids);
  write_range(dp, PS_I32, p->row0, p->n, p->persona);
  write_range(dd, PS_F32, p->row0, p->n, dist);
  free(dist);
  h5_close(did), h5_close(dp), h5_close(dd), h5_close(gs);
  h5_close(fid);
  comm_barrier();
  out_commit(outf);
}
