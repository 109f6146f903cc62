/* checkpoint.c: optimizer state to and from HDF5 (see checkpoint.h). */
#define _POSIX_C_SOURCE 200809L
#include "models/logreg/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"
#include "io/h5.h"
#include "io/output.h"
#include "models/checkpoint_file.h"

void ckpt_save(void *ctx, int k, const ps_opt_t *o, const fit_trace_t *tr) {
  const ckpt_ctx_t *c = ctx;
  if (ps_rank == 0) {
    ps_output_t *out = out_begin(c->path, 0);
    ps_h5_t fid = ckpt_file_create(out, "logreg", c->fingerprint);
    h5_attr_i64(fid, "heads", k);
    for (int h = 0; h < k; h++) {
      char name[32];
      snprintf(name, sizeof name, "/head%d", h);
      ps_h5_t g = h5_group_create(fid, name);
      const ps_opt_t *p = &o[h];
      int64_t dn[1] = {p->n}, dt[2] = {tr[h].rows, PS_TRACE_COLS};
      h5_write_small(g, "x", PS_F64, 1, dn, p->x);
      h5_write_small(g, "g", PS_F64, 1, dn, p->g);
      h5_write_small(g, "d", PS_F64, 1, dn, p->d);
      h5_write_small(g, "xt", PS_F64, 1, dn, p->xt);
      size_t ns = p->dir->state_size(p->dstate);
      double *st = ps_malloc(sizeof(double) * (ns + 1));
      p->dir->state_save(p->dstate, st);
      int64_t ds[1] = {(int64_t)ns};
      h5_write_small(g, "direction_state", PS_F64, 1, ds, st);
      free(st);
      h5_write_small(g, "trace", PS_F64, 2, dt, tr[h].data);
      const char *dn_[] = {"f", "t", "lo", "hi", "dg0", "last_step", "tol", "ftol"};
      double dv[] = {p->f, p->t, p->lo, p->hi, p->dg0, p->last_step, p->tol, p->ftol};
      for (int i = 0; i < 8; i++) h5_attr_f64(g, dn_[i], dv[i]);
      const char *in_[] = {"n", "max_iter", "ls_evals", "iter", "nfev", "status"};
      int64_t iv[] = {p->n, p->max_iter, p->ls_evals, p->iter, p->nfev, p->status};
      for (int i = 0; i < 6; i++) h5_attr_i64(g, in_[i], iv[i]);
      h5_attr_str(g, "direction", p->dir->name);
      h5_attr_str(g, "stop", p->stop ? p->stop : "running");
      h5_close(g);
    }
    h5_close(fid);
    out_commit(out);
  }
  comm_barrier();
}

static int64_t geti(ps_h5_t g, const char *path, const char *name) {
  int64_t v;
  if (!h5_get_attr_i64(g, name, &v)) ps_die_all(PS_EXIT_ERROR, "%s: checkpoint attribute %s missing", path, name);
  return v;
}
static double getd(ps_h5_t g, const char *path, const char *name) {
  double v;
  if (!h5_get_attr_f64(g, name, &v)) ps_die_all(PS_EXIT_ERROR, "%s: checkpoint attribute %s missing", path, name);
  return v;
}

int ckpt_load(void *ctx, int k, const fit_opts_t *fo, int64_t n, ps_opt_t *o, fit_trace_t *tr) {
  const ckpt_ctx_t *c = ctx;
  const char *path = c->path;
  ps_h5_t fid;
  if (!ckpt_file_open(path, "logreg", "logistic regression", "--checkpoint", c->fingerprint, &fid)) return 0;
  if (geti(fid, path, "heads") != k) ps_die_all(PS_EXIT_ERROR, "%s: checkpoint has another number of heads", path);
  const ps_direction_t *dir = fit_direction(fo->method);
  for (int h = 0; h < k; h++) {
    char name[32];
    snprintf(name, sizeof name, "/head%d", h);
    ps_h5_t g = h5_group_open(fid, path, name);
    int nn = (int)geti(g, path, "n");
    char *dname = h5_get_attr_str(g, "direction");
    if (nn != n || !dname || strcmp(dname, dir->name))
      ps_die_all(PS_EXIT_ERROR, "%s: checkpoint does not fit this model (columns or solver)", path);
    free(dname);
    double *zero = ps_calloc((size_t)nn, sizeof(double)); /* opt_init copies n values from it */
    opt_init(&o[h], nn, dir, fo->m, getd(g, path, "tol"), getd(g, path, "ftol"), (int)geti(g, path, "max_iter"),
             zero);
    free(zero);
    ps_opt_t *p = &o[h];
    h5_read_small(g, path, "x", PS_F64, p->x, nn);
    h5_read_small(g, path, "g", PS_F64, p->g, nn);
    h5_read_small(g, path, "d", PS_F64, p->d, nn);
    h5_read_small(g, path, "xt", PS_F64, p->xt, nn);
    size_t ns = dir->state_size(p->dstate);
    double *st = ps_malloc(sizeof(double) * (ns + 1));
    h5_read_small(g, path, "direction_state", PS_F64, st, (int64_t)ns);
    dir->state_load(p->dstate, st);
    free(st);
    int64_t rows = h5_count(g, "trace") / PS_TRACE_COLS;
    memset(&tr[h], 0, sizeof tr[h]);
    tr[h].rows = (int)rows;
    tr[h].data = ps_malloc(sizeof(double) * PS_TRACE_COLS * (size_t)(rows > 0 ? rows : 1));
    h5_read_small(g, path, "trace", PS_F64, tr[h].data, rows * PS_TRACE_COLS);
    p->f = getd(g, path, "f");
    p->t = getd(g, path, "t");
    p->lo = getd(g, path, "lo");
    p->hi = getd(g, path, "hi");
    p->dg0 = getd(g, path, "dg0");
    p->last_step = getd(g, path, "last_step");
    p->ls_evals = (int)geti(g, path, "ls_evals");
    p->iter = (int)geti(g, path, "iter");
    p->nfev = (int)geti(g, path, "nfev");
    p->status = (int)geti(g, path, "status");
    char *stop = h5_get_attr_str(g, "stop");
    p->stop = opt_stop_intern(stop);
    free(stop);
    fit_set_l1(p, fo, h, nn - 1); /* --l1 (and --l1-weights) are in the fingerprint: the run's own */
    h5_close(g);
  }
  h5_close(fid);
  return 1;
}
