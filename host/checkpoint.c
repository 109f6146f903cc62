/* checkpoint.c: optimizer state to and from HDF5 (see checkpoint.h). */
#define _POSIX_C_SOURCE 200809L
#include "checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5io.h"
#include "util.h"

void ckpt_write(const char *path, const char *fingerprint, int k, const ps_opt_t *o, const fit_trace_t *tr) {
  size_t tl = strlen(path) + 32;
  char *tmp = ps_malloc(tl);
  snprintf(tmp, tl, "%s.tmp-%ld", path, (long)getpid());
  ps_tmp_register(tmp);
  hid_t fid = h5io_create(tmp, 0);
  h5io_attr_i64(fid, "schema_version", PS_SCHEMA_VERSION);
  h5io_attr_str(fid, "kind", "checkpoint");
  h5io_attr_str(fid, "fingerprint", fingerprint);
  h5io_attr_i64(fid, "heads", k);
  for (int h = 0; h < k; h++) {
    char name[32];
    snprintf(name, sizeof name, "/head%d", h);
    hid_t g = h5io_create_group(fid, name);
    const ps_opt_t *p = &o[h];
    int64_t dn[1] = {p->n}, dm[1] = {p->m}, dmn[2] = {p->m, p->n}, dt[2] = {tr[h].rows, 5};
    h5io_write_small(g, "x", H5T_NATIVE_DOUBLE, 1, dn, p->x);
    h5io_write_small(g, "g", H5T_NATIVE_DOUBLE, 1, dn, p->g);
    h5io_write_small(g, "d", H5T_NATIVE_DOUBLE, 1, dn, p->d);
    h5io_write_small(g, "xt", H5T_NATIVE_DOUBLE, 1, dn, p->xt);
    if (p->method == PS_OPT_LBFGS) {
      h5io_write_small(g, "S", H5T_NATIVE_DOUBLE, 2, dmn, p->S);
      h5io_write_small(g, "Y", H5T_NATIVE_DOUBLE, 2, dmn, p->Y);
      h5io_write_small(g, "rho", H5T_NATIVE_DOUBLE, 1, dm, p->rho);
    }
    h5io_write_small(g, "trace", H5T_NATIVE_DOUBLE, 2, dt, tr[h].data);
    const char *dn_[] = {"f", "t", "lo", "hi", "dg0", "last_step", "tol", "ftol"};
    double dv[] = {p->f, p->t, p->lo, p->hi, p->dg0, p->last_step, p->tol, p->ftol};
    for (int i = 0; i < 8; i++) h5io_attr_f64(g, dn_[i], dv[i]);
    const char *in_[] = {"n", "method", "m", "max_iter", "ls_evals", "count", "head", "iter", "nfev", "status"};
    int64_t iv[] = {p->n, p->method, p->m, p->max_iter, p->ls_evals, p->count, p->head, p->iter, p->nfev, p->status};
    for (int i = 0; i < 10; i++) h5io_attr_i64(g, in_[i], iv[i]);
    h5io_attr_str(g, "stop", p->stop ? p->stop : "running");
    H5Gclose(g);
  }
  h5io_close(fid);
  if (ps_commit_file(tmp, path) != 0) ps_die_local("cannot rename checkpoint %s to %s", tmp, path);
  ps_tmp_forget(tmp);
  free(tmp);
}

static int64_t geti(hid_t g, const char *path, const char *name) {
  int64_t v;
  if (!h5io_get_attr_i64(g, name, &v)) ps_die_all(PS_EXIT_ERROR, "%s: checkpoint attribute %s missing", path, name);
  return v;
}
static double getd(hid_t g, const char *path, const char *name) {
  double v;
  if (!h5io_get_attr_f64(g, name, &v)) ps_die_all(PS_EXIT_ERROR, "%s: checkpoint attribute %s missing", path, name);
  return v;
}

int ckpt_read(const char *path, const char *fingerprint, int k, ps_opt_t *o, fit_trace_t *tr) {
  if (access(path, F_OK) != 0) return 0;
  hid_t fid = h5io_open(path, 0);
  char *kind = h5io_get_attr_str(fid, "kind"), *fp = h5io_get_attr_str(fid, "fingerprint");
  if (!kind || strcmp(kind, "checkpoint"))
    ps_die_all(PS_EXIT_ERROR, "%s: not a propscore checkpoint (remove it, or give another --checkpoint)", path);
  if (!fp || strcmp(fp, fingerprint)) {
    /* name the first setting that differs */
    int na = 0, nb = 0;
    char **a = ps_split(fp ? fp : "", ';', &na), **b = ps_split(fingerprint, ';', &nb);
    const char *what = "settings";
    for (int i = 0; i < na && i < nb; i++)
      if (strcmp(a[i], b[i])) { what = b[i]; break; }
    ps_die_all(PS_EXIT_ERROR,
               "%s: checkpoint of a different run (this run has %s); remove it to start over", path, what);
  }
  free(kind);
  free(fp);
  if (geti(fid, path, "heads") != k) ps_die_all(PS_EXIT_ERROR, "%s: checkpoint has another number of heads", path);
  for (int h = 0; h < k; h++) {
    char name[32];
    snprintf(name, sizeof name, "/head%d", h);
    hid_t g = H5Gopen2(fid, name, H5P_DEFAULT);
    if (g < 0) ps_die_all(PS_EXIT_ERROR, "%s: checkpoint group %s missing", path, name);
    int n = (int)geti(g, path, "n"), method = (int)geti(g, path, "method"), m = (int)geti(g, path, "m");
    double zero = 0;
    opt_init(&o[h], n, method, m, getd(g, path, "tol"), getd(g, path, "ftol"), (int)geti(g, path, "max_iter"), &zero);
    ps_opt_t *p = &o[h];
    h5io_read_small(g, path, "x", H5T_NATIVE_DOUBLE, p->x, n);
    h5io_read_small(g, path, "g", H5T_NATIVE_DOUBLE, p->g, n);
    h5io_read_small(g, path, "d", H5T_NATIVE_DOUBLE, p->d, n);
    h5io_read_small(g, path, "xt", H5T_NATIVE_DOUBLE, p->xt, n);
    if (method == PS_OPT_LBFGS) {
      h5io_read_small(g, path, "S", H5T_NATIVE_DOUBLE, p->S, (int64_t)m * n);
      h5io_read_small(g, path, "Y", H5T_NATIVE_DOUBLE, p->Y, (int64_t)m * n);
      h5io_read_small(g, path, "rho", H5T_NATIVE_DOUBLE, p->rho, m);
    }
    hid_t d = H5Dopen2(g, "trace", H5P_DEFAULT);
    hid_t sp = H5Dget_space(d);
    int64_t rows = (int64_t)H5Sget_simple_extent_npoints(sp) / 5;
    H5Sclose(sp);
    H5Dclose(d);
    memset(&tr[h], 0, sizeof tr[h]);
    tr[h].rows = (int)rows;
    tr[h].data = ps_malloc(sizeof(double) * 5 * (size_t)(rows > 0 ? rows : 1));
    h5io_read_small(g, path, "trace", H5T_NATIVE_DOUBLE, tr[h].data, rows * 5);
    p->f = getd(g, path, "f");
    p->t = getd(g, path, "t");
    p->lo = getd(g, path, "lo");
    p->hi = getd(g, path, "hi");
    p->dg0 = getd(g, path, "dg0");
    p->last_step = getd(g, path, "last_step");
    p->ls_evals = (int)geti(g, path, "ls_evals");
    p->count = (int)geti(g, path, "count");
    p->head = (int)geti(g, path, "head");
    p->iter = (int)geti(g, path, "iter");
    p->nfev = (int)geti(g, path, "nfev");
    p->status = (int)geti(g, path, "status");
    char *stop = h5io_get_attr_str(g, "stop");
    p->stop = opt_stop_intern(stop);
    free(stop);
    H5Gclose(g);
  }
  h5io_close(fid);
  return 1;
}
