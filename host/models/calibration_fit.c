/* calibration_fit.c: train --calibrate (calibration.h): the written model
 * scores the validation rows (the split of labels.h: a hash of the customer
 * id below --holdout), every rank's rows and labels are gathered on rank 0
 * in the file's row order, so the fit is the same for any rank count, and
 * rank 0 stores the map per head in the model file. Isotonic values are
 * kept within [1 / (N0 + 2), (N1 + 1) / (N1 + 2)] of the fit rows' N0
 * negatives and N1 positives (Platt's smoothed targets; why this bound and
 * not a per-block one: stats/calibrate.c), never exactly 0 or 1. */
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/partition.h"
#include "core/rng.h"
#include "core/util.h"
#include "models/calibration.h"
#include "models/calibration_fit.h"
#include "models/scorer_registry.h"
#include "stats/calibrate.h"

/* This rank's validation rows: v[h][2 i] = probability, v[h][2 i + 1] = label. */
typedef struct {
  int64_t row0, n, nv;
  uint8_t *valid, *Y; /* [n], [n][k] */
  double **v;         /* [k][2 nv] */
} valid_rows_t;

static void load_split(const calib_fit_t *in, valid_rows_t *r) {
  ps_data_t *d = in->d;
  ps_partition(d->n, ps_size, ps_rank, &r->row0, &r->n);
  size_t n1 = (size_t)(r->n > 0 ? r->n : 1);
  int64_t *ids = ps_malloc(sizeof(int64_t) * n1);
  data_read_ids(d, r->row0, r->n, ids);
  r->valid = ps_malloc(n1);
  r->Y = ps_malloc(n1 * (size_t)in->k);
  for (int h = 0; h < in->k; h++) data_read_labels(d, in->targets[h], r->row0, r->n, in->k, h, r->Y);
  r->nv = 0;
  for (int64_t i = 0; i < r->n; i++) {
    r->valid[i] = (!in->keep || in->keep[i]) && ps_id_unit(ids[i], (uint64_t)in->salt) < in->holdout;
    r->nv += r->valid[i];
  }
  free(ids);
  r->v = ps_malloc(sizeof(double *) * (size_t)in->k);
  for (int h = 0; h < in->k; h++) r->v[h] = ps_malloc(sizeof(double) * 2 * (size_t)(r->nv > 0 ? r->nv : 1));
}

/* The model's probabilities of the validation rows, block by block. */
static void score_valid(const calib_fit_t *in, valid_rows_t *r) {
  ps_data_t *d = in->d;
  ps_scorer_t *s = scorer_open(in->model, "cpu");
  int64_t br = h5_block_rows(4 * d->f, d->chunk_rows), nb = h5_common_blocks(r->n, br), m = 0;
  float *X = ps_malloc(sizeof(float) * (size_t)br * (size_t)(d->f > 0 ? d->f : 1));
  float *P = ps_malloc(sizeof(float) * (size_t)br * (size_t)in->k);
  for (int64_t b = 0; b < nb; b++) {
    int64_t r0 = b * br < r->n ? b * br : r->n, rows = r->n - r0 < br ? r->n - r0 : br;
    data_read_rows(d, r->row0 + r0, rows, X);
    if (rows > 0) s->predict(s, X, rows, P);
    for (int64_t i = 0; i < rows; i++) {
      if (!r->valid[r0 + i]) continue;
      for (int h = 0; h < in->k; h++) {
        r->v[h][2 * m] = (double)P[(size_t)h * (size_t)rows + (size_t)i];
        r->v[h][2 * m + 1] = (double)r->Y[(size_t)(r0 + i) * (size_t)in->k + (size_t)h];
      }
      m++;
    }
  }
  free(X);
  free(P);
  scorer_close(s);
}

/* Rank 0: a head's map from its gathered rows v[2 n], as the values every
 * rank writes: {a, b} (Platt) or {m, x[m], y[m]} (isotonic); *len of them. */
static double *fit_head(int kind, const double *v, int64_t n, int64_t *len) {
  double *p = ps_malloc(sizeof(double) * (size_t)n), *y = ps_malloc(sizeof(double) * (size_t)n), *out;
  for (int64_t i = 0; i < n; i++) {
    p[i] = kind == PS_CALIB_PLATT ? calibration_logit((float)v[2 * i]) : v[2 * i];
    y[i] = v[2 * i + 1];
  }
  if (kind == PS_CALIB_PLATT) {
    ps_platt_t m = calib_platt_fit(p, y, NULL, n);
    out = ps_malloc(2 * sizeof(double));
    out[0] = m.a;
    out[1] = m.b;
    *len = 2;
  } else {
    ps_isotonic_t m;
    double lo, hi; /* never exactly 0 or 1: see stats/calibrate.c */
    calib_label_bounds(y, NULL, n, &lo, &hi);
    calib_isotonic_fit_in(p, y, NULL, n, lo, hi, &m);
    *len = 1 + 2 * m.n;
    out = ps_malloc(sizeof(double) * (size_t)*len);
    out[0] = (double)m.n;
    memcpy(out + 1, m.x, sizeof(double) * (size_t)m.n);
    memcpy(out + 1 + m.n, m.y, sizeof(double) * (size_t)m.n);
    calib_isotonic_free(&m);
  }
  free(p);
  free(y);
  return out;
}

/* Collective: head `target`'s map (every rank has it) into the open file. */
static void write_head(ps_h5_t fid, int kind, const char *target, const double *map, int64_t rows) {
  char *name = ps_sprintf("/calibration/%s", target);
  ps_h5_t g = h5_group_create(fid, name);
  h5_attr_i64(g, "rows", rows);
  if (kind == PS_CALIB_PLATT) {
    h5_attr_f64(g, "a", map[0]);
    h5_attr_f64(g, "b", map[1]);
  } else {
    int64_t dims[1] = {(int64_t)map[0]};
    h5_write_small(g, "x", PS_F64, 1, dims, map + 1);
    h5_write_small(g, "y", PS_F64, 1, dims, map + 1 + dims[0]);
  }
  h5_close(g);
  free(name);
}

/* Every rank's copy of the gathered probabilities (v's even entries) of n rows. */
static double *share_scores(const double *all, int64_t n) {
  double *p = ps_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; ps_rank == 0 && i < n; i++) p[i] = all[2 * i];
  comm_bcast(p, sizeof(double) * (size_t)n, 0);
  return p;
}

/* Rows (probability, label) by probability, then label. */
static int by_row(const void *pa, const void *pb) {
  const double *a = pa, *b = pb;
  if (a[0] != b[0]) return a[0] < b[0] ? -1 : 1;
  return (a[1] > b[1]) - (a[1] < b[1]);
}

/* Rank 0: head h's map from its gathered rows all[2 n] (sorted first when
 * the fit must not depend on their order). */
static double *fit_rows(const calib_maps_t *c, double *all, int64_t n, int64_t *len) {
  if (!c->order_free) return fit_head(c->kind, all, n, len);
  double *v = ps_malloc(sizeof(double) * 2 * (size_t)(n > 0 ? n : 1));
  memcpy(v, all, sizeof(double) * 2 * (size_t)n);
  qsort(v, (size_t)n, 2 * sizeof(double), by_row);
  double *map = fit_head(c->kind, v, n, len);
  free(v);
  return map;
}

/* Head h's rows on rank 0, its map fitted there and sent to every rank;
 * *scores (when asked): the rows' probabilities, on every rank. */
static double *gather_fit(const calib_maps_t *c, int h, int64_t *rows, double **scores) {
  size_t total = 0;
  double *all = comm_gatherv_bytes(c->v[h], sizeof(double) * 2 * (size_t)c->nv, &total, NULL);
  int64_t len[2] = {0, (int64_t)(total / (2 * sizeof(double)))};
  double *map = ps_rank == 0 ? fit_rows(c, all, len[1], &len[0]) : NULL;
  comm_bcast(len, sizeof len, 0);
  if (scores) *scores = share_scores(all, len[1]);
  free(all);
  if (ps_rank != 0) map = ps_malloc(sizeof(double) * (size_t)len[0]);
  comm_bcast(map, sizeof(double) * (size_t)len[0], 0);
  *rows = len[1];
  return map;
}

void calibration_write_maps(const calib_maps_t *c) {
  ps_h5_t fid = h5_open_rw(c->model);
  h5_attr_str(fid, "calibration", PS_CALIB_NAMES[c->kind]);
  h5_close(h5_group_create(fid, "/calibration"));
  for (int h = 0; h < c->k; h++) {
    int64_t rows = 0;
    double *scores = NULL;
    double *map = gather_fit(c, h, &rows, c->keep_scores ? &scores : NULL);
    write_head(fid, c->kind, c->targets[h], map, rows);
    if (scores) {
      char *name = ps_sprintf("/calibration/%s/scores", c->targets[h]);
      int64_t dims[1] = {rows};
      h5_write_small(fid, name, PS_F64, 1, dims, scores);
      free(name);
    }
    free(scores);
    free(map);
  }
  h5_close(fid);
  comm_barrier();
}

void calibration_fit_model(const calib_fit_t *in) {
  int kind = in->kind;
  valid_rows_t r = {0};
  load_split(in, &r);
  score_valid(in, &r);
  int64_t nv = r.nv;
  comm_allreduce_sum_i64(&nv, 1);
  if (nv == 0)
    ps_die_all(PS_EXIT_USAGE, "train: --calibrate %s: %s has no validation rows to fit it on (--holdout %g)",
               PS_CALIB_NAMES[kind], in->d->path, in->holdout);
  calib_maps_t c = {.model = in->model, .kind = kind, .targets = in->targets, .k = in->k, .v = r.v, .nv = r.nv};
  calibration_write_maps(&c);
  for (int h = 0; h < in->k; h++) free(r.v[h]);
  free(r.v);
  free(r.valid);
  free(r.Y);
}
