/* segment.c: the segment job (see segment.h). Rows are resident and
 * standardized once; the fit is models/kmeans/fit.c. */
#include "models/kmeans/segment.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/partition.h"
#include "core/rng.h"
#include "core/util.h"
#include "io/data.h"
#include "io/h5.h"
#include "io/output.h"
#include "io/scores_file.h"
#include "kmeans/kmeans_cpu.h"
#include "models/kmeans/fit.h"
#include "stats/colstats.h"
#include "stats/prepare.h"

/* The chosen input columns: all, a comma list of names, NAME* prefixes. */
static int64_t select_columns(const ps_data_t *d, const char *spec, int64_t *sel) {
  if (!spec) {
    for (int64_t j = 0; j < d->f; j++) sel[j] = j;
    return d->f;
  }
  int cnt = 0;
  char **v = ps_split(spec, ',', &cnt);
  uint8_t *taken = ps_calloc((size_t)d->f, 1);
  int64_t c = 0;
  for (int i = 0; i < cnt; i++) {
    size_t L = strlen(v[i]);
    int prefix = L > 0 && v[i][L - 1] == '*';
    int64_t hits = 0;
    for (int64_t j = 0; j < d->f; j++) {
      int m = prefix ? strncmp(d->feature_names[j], v[i], L - 1) == 0 : strcmp(d->feature_names[j], v[i]) == 0;
      if (!m) continue;
      hits++;
      if (!taken[j]) taken[j] = 1, sel[c++] = j;
    }
    if (L == 0 || hits == 0)
      ps_die_all(PS_EXIT_USAGE, "segment: --columns: %s '%s' matches no column of %s /feature_names",
                 prefix ? "prefix" : "column", v[i], d->path);
  }
  ps_free_strv(v);
  free(taken);
  return c;
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

typedef struct {
  int64_t c;
  char **names;
  double *mean, *scale;
  double *centers; /* [k][c] (model mode) */
  int k;
} saved_t;

static void model_load(const char *path, saved_t *m) {
  ps_h5_t fid = h5_open(path, 0);
  char *mt = h5_get_attr_str(fid, "model_type");
  if (!mt || strcmp(mt, "kmeans") != 0)
    ps_die_all(PS_EXIT_ERROR, "%s: not a segment model (attribute model_type is %s, expected kmeans)", path,
               mt ? mt : "absent");
  free(mt);
  m->names = h5_read_names(fid, path, "/model/columns/name", &m->c);
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


/* Silhouette estimate on an id-hashed sample gathered to every rank. */
static double silhouette(const float *X, const int64_t *ids, const int32_t *lab, int64_t n, int64_t c, int k,
                         int64_t sample, int64_t N, uint64_t seed) {
  double frac = N > sample ? (double)sample / (double)N : 1.0;
  size_t rb = sizeof(int32_t) + sizeof(float) * (size_t)c;
  char *mine = NULL;
  int64_t cnt = 0;
  for (int64_t i = 0; i < n; i++)
    if (ps_id_unit(ids[i], seed ^ 0x51u) < frac) {
      mine = ps_realloc(mine, rb * (size_t)(cnt + 1));
      memcpy(mine + rb * (size_t)cnt, &lab[i], sizeof(int32_t));
      memcpy(mine + rb * (size_t)cnt + sizeof(int32_t), X + (size_t)i * (size_t)c, sizeof(float) * (size_t)c);
      cnt++;
    }
  size_t tot = 0;
  char *g = comm_gatherv_bytes(mine, rb * (size_t)cnt, &tot, NULL);
  free(mine);
  double s = NAN;
  if (ps_rank == 0) {
    int64_t m = (int64_t)(tot / rb);
    double *sum = ps_malloc(sizeof(double) * (size_t)k);
    int64_t *nc = ps_calloc((size_t)k, sizeof(int64_t));
    for (int64_t i = 0; i < m; i++) nc[*(int32_t *)(g + rb * (size_t)i)]++;
    double acc = 0;
    int64_t used = 0;
    for (int64_t i = 0; i < m; i++) {
      int32_t li = *(int32_t *)(g + rb * (size_t)i);
      const float *xi = (const float *)(g + rb * (size_t)i + sizeof(int32_t));
      memset(sum, 0, sizeof(double) * (size_t)k);
      for (int64_t j = 0; j < m; j++) {
        const float *xj = (const float *)(g + rb * (size_t)j + sizeof(int32_t));
        double d = 0;
        for (int64_t t = 0; t < c; t++) {
          double e = (double)xi[t] - (double)xj[t];
          d += e * e;
        }
        sum[*(int32_t *)(g + rb * (size_t)j)] += sqrt(d);
      }
      if (nc[li] < 2) continue; /* silhouette 0 by convention */
      double a = sum[li] / (double)(nc[li] - 1), b = INFINITY;
      for (int q = 0; q < k; q++)
        if (q != li && nc[q] > 0 && sum[q] / (double)nc[q] < b) b = sum[q] / (double)nc[q];
      double mx = a > b ? a : b;
      acc += mx > 0 && isfinite(b) ? (b - a) / mx : 0.0;
      used++;
    }
    s = m > 0 ? acc / (double)m : NAN;
    (void)used;
    free(sum);
    free(nc);
  }
  free(g);
  comm_bcast(&s, sizeof s, 0);
  return s;
}

/* Per persona and target: the mean score (--scores) and the actual rate of
 * the data's /labels/<target>; NaN where absent. Integer sums (scores in
 * 2^-32 units, label counts): the same for any rank count. */
typedef struct {
  int t;
  char **targets;
  double *score, *rate; /* [t][k] */
} outcomes_t;

static void outcomes(const ps_data_t *d, const char *scores, const int32_t *lab, int64_t row0, int64_t n,
                     const int64_t *ids, int k, const int64_t *size, outcomes_t *oc) {
  memset(oc, 0, sizeof *oc);
  ps_h5_t sf = -1;
  if (scores) {
    sf = scores_open(scores, "scores");
    oc->targets = h5_list_datasets(sf, "/scores", &oc->t);
    scores_check_ids(sf, scores, ids, d->n, row0, n, "data", d->path);
  } else {
    oc->targets = data_targets(d, &oc->t);
  }
  int T = oc->t;
  oc->score = ps_malloc(sizeof(double) * (size_t)(T * k + 1));
  oc->rate = ps_malloc(sizeof(double) * (size_t)(T * k + 1));
  int64_t *acc = ps_malloc(sizeof(int64_t) * (size_t)(2 * k + 1));
  size_t nn = (size_t)(n > 0 ? n : 1);
  float *p = ps_malloc(sizeof(float) * nn);
  uint8_t *y = ps_malloc(nn);
  int nd = 0;
  char **dt = data_targets(d, &nd);
  for (int h = 0; h < T; h++) {
    memset(acc, 0, sizeof(int64_t) * (size_t)(2 * k + 1));
    int has_score = scores != NULL, has_label = 0;
    for (int i = 0; i < nd; i++) has_label |= !strcmp(dt[i], oc->targets[h]);
    if (has_score) {
      char name[600];
      snprintf(name, sizeof name, "/scores/%s", oc->targets[h]);
      scores_read_head(sf, scores, name, d->n, row0, n, &PS_SCORE_PROBABILITY, PS_F32, p);
      for (int64_t i = 0; i < n; i++) acc[lab[i]] += (int64_t)((double)p[i] * 4294967296.0);
    }
    if (has_label) {
      data_read_labels(d, oc->targets[h], row0, n, 1, 0, y);
      for (int64_t i = 0; i < n; i++) acc[k + lab[i]] += y[i];
    }
    comm_allreduce_sum_i64(acc, (size_t)(2 * k));
    for (int q = 0; q < k; q++) {
      oc->score[h * k + q] = has_score && size[q] ? (double)acc[q] / 4294967296.0 / (double)size[q] : NAN;
      oc->rate[h * k + q] = has_label && size[q] ? (double)acc[k + q] / (double)size[q] : NAN;
    }
  }
  ps_free_strv(dt);
  free(acc), free(p), free(y);
  h5_close(sf);
}

int segment_run(const segment_opts_t *o) {
  double t0 = ps_now();
  ps_path_t ins[3] = {{"--data", o->data}};
  int nin = 1;
  if (o->model) ins[nin++] = (ps_path_t){"--model", o->model};
  if (o->scores) ins[nin++] = (ps_path_t){"--scores", o->scores};
  ps_path_t outs[1] = {{"--out", o->out}};
  out_check_paths(ins, nin, outs, o->out ? 1 : 0);
  ps_data_t d;
  data_open(o->data, &d);
  int64_t N = d.n, f = d.f, row0, n;
  ps_partition(N, ps_size, ps_rank, &row0, &n);
  size_t nn = (size_t)(n > 0 ? n : 1);
  int64_t *ids = ps_malloc(sizeof(int64_t) * nn);
  data_read_ids(&d, row0, n, ids);
  data_check_unique_ids(&d, ids, row0, n);

  /* columns */
  saved_t sv;
  memset(&sv, 0, sizeof sv);
  int64_t *sel = ps_malloc(sizeof(int64_t) * (size_t)(f + 1)), c;
  if (o->model) {
    model_load(o->model, &sv);
    c = sv.c;
    for (int64_t j = 0; j < c; j++) {
      int64_t hit = -1;
      for (int64_t t = 0; t < f && hit < 0; t++)
        if (strcmp(d.feature_names[t], sv.names[j]) == 0) hit = t;
      if (hit < 0)
        ps_die_all(PS_EXIT_ERROR, "%s: the model's column '%s' is not in %s /feature_names", o->model, sv.names[j],
                   o->data);
      sel[j] = hit;
    }
  } else {
    c = select_columns(&d, o->columns, sel);
  }
  int k = o->model ? sv.k : (o->k_lo > 0 ? o->k_hi : o->k);
  if (!o->model && (int64_t)k > N)
    ps_die_all(PS_EXIT_USAGE, "segment: --k %d is more than the %lld rows of %s", k, (long long)N, o->data);

  /* resident rows: the chosen columns, standardized (NaN/Inf -> the mean) */
  float *X = ps_malloc(sizeof(float) * nn * (size_t)f), *Xr = ps_malloc(sizeof(float) * nn * (size_t)c);
  h5_read_range(d.features, PS_F32, row0, n, f, X);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < c; j++) Xr[(size_t)i * (size_t)c + (size_t)j] = X[(size_t)i * (size_t)f + (size_t)sel[j]];
  free(X);
  ps_columns_t cols;
  if (o->model) {
    cols.c = cols.f = c;
    cols.src = ps_malloc(sizeof(int64_t) * (size_t)c);
    cols.kind = ps_calloc((size_t)c, 1);
    cols.dead = ps_calloc((size_t)c, 1);
    cols.mean = sv.mean;
    cols.scale = sv.scale;
    for (int64_t j = 0; j < c; j++) cols.src[j] = j, cols.dead[j] = sv.scale[j] == 0;
    sv.mean = sv.scale = NULL;
  } else {
    ps_colstat_t *st = ps_malloc(sizeof(ps_colstat_t) * (size_t)c);
    stats_init(st, c);
    stats_add_block(st, Xr, n, c, NULL);
    stats_allreduce(st, c);
    prepare_columns(st, c, 0, &cols);
    for (int64_t j = 0; j < c; j++)
      if (st[j].count == 0)
        ps_die_all(PS_EXIT_ERROR, "%s: /features column %lld (%s) has no finite value", o->data, (long long)sel[j],
                   d.feature_names[sel[j]]);
    free(st);
    for (int64_t j = 0; j < c; j++)
      if (cols.dead[j])
        ps_warn("segment: column %s is constant: it cannot separate personas (standardized to 0)",
                d.feature_names[sel[j]]);
  }
  ps_transform_t tf = prepare_transform(&cols);
  float *Xs = ps_malloc(sizeof(float) * nn * (size_t)c);
  prepare_rows(&tf, Xr, n, NULL, Xs, NULL);
  free(Xr);
  ps_log("segment: %lld rows x %lld columns read and standardized in %.2f s", (long long)N, (long long)c,
         ps_now() - t0);

  km_params_t prm = {k, o->n_init, o->max_iter, o->tol, o->seed, 5, 2.0, o->cuda};
  int32_t *lab = ps_malloc(sizeof(int32_t) * nn);
  double *d2 = ps_malloc(sizeof(double) * nn);

  if (o->k_lo > 0) { /* --k-range: inertia and silhouette for each k */
    cJSON *arr = cJSON_CreateArray();
    if (!o->json) ps_out("%5s %16s %12s %6s", "k", "inertia", "silhouette", "iters");
    for (int kk = o->k_lo; kk <= o->k_hi; kk++) {
      km_result_t r;
      prm.k = kk;
      km_fit(Xs, ids, n, c, &prm, &r);
      km_predict(Xs, n, c, r.centers, kk, lab, d2);
      double sil = silhouette(Xs, ids, lab, n, c, kk, o->sample, N, o->seed);
      if (o->json) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "k", kk);
        cJSON_AddNumberToObject(e, "inertia", r.inertia);
        if (isfinite(sil)) cJSON_AddNumberToObject(e, "silhouette", sil);
        else cJSON_AddNullToObject(e, "silhouette");
        cJSON_AddNumberToObject(e, "iterations", r.iterations);
        cJSON_AddItemToArray(arr, e);
      } else {
        ps_out("%5d %16.6f %12.4f %6d", kk, r.inertia, sil, r.iterations);
      }
      km_result_free(&r);
    }
    if (o->json) {
      cJSON *doc = cJSON_CreateObject();
      cJSON_AddItemToObject(doc, "k_range", arr);
      char *s = cJSON_Print(doc);
      ps_out("%s", s);
      free(s);
      cJSON_Delete(doc);
    } else {
      cJSON_Delete(arr);
    }
    free(lab), free(d2), free(Xs), free(ids), free(sel);
    prepare_free(&cols);
    ps_free_strv(sv.names);
    free(sv.centers);
    data_close(&d);
    return 0;
  }

  km_result_t r;
  if (o->model) {
    memset(&r, 0, sizeof r);
    r.k = k;
    r.c = c;
    r.centers = sv.centers;
    sv.centers = NULL;
    r.sizes = ps_calloc((size_t)k, sizeof(int64_t));
  } else {
    km_fit(Xs, ids, n, c, &prm, &r);
  }
  km_predict(Xs, n, c, r.centers, k, lab, d2);

  /* profile: per-persona means (fixed-point sums: the same for any P) */
  int64_t *acc = ps_calloc((size_t)k * (size_t)c + (size_t)k + 1, sizeof(int64_t));
  km_update_cpu(Xs, n, c, lab, d2, k, acc, acc + (size_t)k * (size_t)c, acc + (size_t)k * (size_t)c + k);
  comm_allreduce_sum_i64(acc, (size_t)k * (size_t)c + (size_t)k + 1);
  int64_t *size = acc + (size_t)k * (size_t)c;
  double inertia = (double)size[k] / KM_FIX_D2;
  double *mz = ps_calloc((size_t)k * (size_t)c, sizeof(double)), *pop = ps_calloc((size_t)c, sizeof(double));
  for (int64_t j = 0; j < c; j++) {
    int64_t s = 0;
    for (int q = 0; q < k; q++) s += acc[(size_t)q * (size_t)c + (size_t)j];
    pop[j] = (double)s / KM_FIX_X / (double)N;
  }
  for (int q = 0; q < k; q++)
    for (int64_t j = 0; j < c; j++)
      mz[(size_t)q * (size_t)c + (size_t)j] =
          size[q] ? (double)acc[(size_t)q * (size_t)c + (size_t)j] / KM_FIX_X / (double)size[q] : NAN;
  /* raw units: mean + z / scale */
  double *raw = ps_malloc(sizeof(double) * (size_t)k * (size_t)c), *craw = ps_malloc(sizeof(double) * (size_t)k * (size_t)c);
  for (int q = 0; q < k; q++)
    for (int64_t j = 0; j < c; j++) {
      size_t at = (size_t)q * (size_t)c + (size_t)j;
      double sc = cols.scale[j];
      raw[at] = sc > 0 ? cols.mean[j] + mz[at] / sc : cols.mean[j];
      craw[at] = sc > 0 ? cols.mean[j] + r.centers[at] / sc : cols.mean[j];
    }
  char **names = ps_calloc((size_t)c + 1, sizeof(char *));
  for (int64_t j = 0; j < c; j++) names[j] = ps_strdup(d.feature_names[sel[j]]);

  /* output */
  if (o->out) {
    ps_output_t *outf = out_begin(o->out, 1);
    ps_h5_t fid = h5_create(out_tmp(outf), 1);
    h5_attr_i64(fid, "schema_version", PS_SCHEMA_VERSION);
    h5_attr_str(fid, "kind", "personas");
    h5_attr_str(fid, "model_type", "kmeans");
    h5_attr_str(fid, "generator", "propscore segment " PROPSCORE_VERSION);
    h5_attr_i64(fid, "k", k);
    h5_attr_f64(fid, "inertia", inertia);
    h5_attr_i64(fid, "iterations", r.iterations);
    h5_attr_i64(fid, "seed", (int64_t)o->seed);
    h5_attr_i64(fid, "n_init", o->model ? 0 : o->n_init);
    h5_attr_str(fid, "assigned_with", o->model ? "a saved model (--model)" : "this fit");
    int64_t d1[1] = {N};
    int64_t ch[1] = {N < (1 << 20) ? N : (1 << 20)};
    ps_h5_t did = h5_dset_create(fid, "/customer_id", PS_I64, 1, d1, ch);
    ps_h5_t gs = h5_group_create(fid, "/segments");
    ps_h5_t dp = h5_dset_create(gs, "persona", PS_I32, 1, d1, ch);
    ps_h5_t dd = h5_dset_create(gs, "distance", PS_F32, 1, d1, ch);
    ps_h5_t gm = h5_group_create(fid, "/model");
    ps_h5_t gst = h5_group_create(gm, "standardize"), gc = h5_group_create(gm, "columns");
    int64_t dkc[2] = {k, c}, dc[1] = {c}, dk[1] = {k};
    h5_write_small(gm, "centroids", PS_F64, 2, dkc, r.centers);
    h5_write_small(gm, "centroids_raw", PS_F64, 2, dkc, craw);
    h5_write_small(gm, "sizes", PS_I64, 1, dk, size);
    h5_write_small(gst, "mean", PS_F64, 1, dc, cols.mean);
    h5_write_small(gst, "scale", PS_F64, 1, dc, cols.scale);
    h5_write_strings(gc, "name", names, c);
    h5_write_small(gc, "source", PS_I64, 1, dc, sel);
    ps_h5_t gp = h5_group_create(fid, "/profile");
    h5_write_small(gp, "mean_raw", PS_F64, 2, dkc, raw);
    h5_write_small(gp, "mean_std", PS_F64, 2, dkc, mz);
    int32_t *pl = lab;
    float *dist = ps_malloc(sizeof(float) * nn);
    for (int64_t i = 0; i < n; i++) dist[i] = (float)sqrt(d2[i]);
    write_range(did, PS_I64, row0, n, ids);
    write_range(dp, PS_I32, row0, n, pl);
    write_range(dd, PS_F32, row0, n, dist);
    free(dist);
    h5_close(did), h5_close(dp), h5_close(dd), h5_close(gs), h5_close(gst), h5_close(gc), h5_close(gm);
    h5_close(gp);
    h5_close(fid);
    comm_barrier();
    out_commit(outf);
  }

  outcomes_t oc;
  outcomes(&d, o->scores, lab, row0, n, ids, k, size, &oc);

  /* the profile table */
  int top = o->top < c ? o->top : (int)c;
  int64_t *order = ps_malloc(sizeof(int64_t) * (size_t)c);
  cJSON *doc = o->json ? cJSON_CreateObject() : NULL, *jp = NULL;
  if (doc) {
    cJSON_AddNumberToObject(doc, "k", k);
    cJSON_AddNumberToObject(doc, "rows", (double)N);
    cJSON_AddNumberToObject(doc, "inertia", inertia);
    cJSON_AddNumberToObject(doc, "iterations", r.iterations);
    cJSON *jc = cJSON_AddArrayToObject(doc, "columns");
    for (int64_t j = 0; j < c; j++) cJSON_AddItemToArray(jc, cJSON_CreateString(names[j]));
    jp = cJSON_AddArrayToObject(doc, "personas");
  } else {
    ps_out("segment: %lld customers, %lld columns, k %d, inertia %.6g, %d iterations%s", (long long)N, (long long)c,
           k, inertia, r.iterations, o->model ? " (assigned to the saved model's personas)" : "");
    ps_out("%7s %10s %7s  %s", "persona", "size", "share", "sets it apart (standardized difference from all customers)");
  }
  for (int q = 0; q < k; q++) {
    for (int64_t j = 0; j < c; j++) order[j] = j;
    const double *row = mz + (size_t)q * (size_t)c;
    /* selection of the top |difference| (ties: lower column) */
    for (int t = 0; t < top; t++)
      for (int64_t j = t + 1; j < c; j++) {
        double a = fabs(row[order[j]] - pop[order[j]]), b = fabs(row[order[t]] - pop[order[t]]);
        if (a > b || (a == b && order[j] < order[t])) {
          int64_t tmp = order[t];
          order[t] = order[j];
          order[j] = tmp;
        }
      }
    double share = (double)size[q] / (double)N;
    if (doc) {
      cJSON *e = cJSON_CreateObject();
      cJSON_AddNumberToObject(e, "persona", q);
      cJSON_AddNumberToObject(e, "size", (double)size[q]);
      cJSON_AddNumberToObject(e, "share", share);
      cJSON *m = cJSON_AddObjectToObject(e, "mean");
      for (int64_t j = 0; j < c; j++) {
        double v = raw[(size_t)q * (size_t)c + (size_t)j];
        if (isfinite(v)) cJSON_AddNumberToObject(m, names[j], v);
        else cJSON_AddNullToObject(m, names[j]);
      }
      cJSON *ap = cJSON_AddArrayToObject(e, "apart");
      for (int t = 0; t < top && size[q] > 0; t++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "column", names[order[t]]);
        cJSON_AddNumberToObject(a, "std_diff", row[order[t]] - pop[order[t]]);
        cJSON_AddItemToArray(ap, a);
      }
      if (oc.t > 0) {
        cJSON *jo = cJSON_AddObjectToObject(e, "outcomes");
        for (int h = 0; h < oc.t; h++) {
          cJSON *t = cJSON_AddObjectToObject(jo, oc.targets[h]);
          double sc = oc.score[h * k + q], rv = oc.rate[h * k + q];
          if (isfinite(sc)) cJSON_AddNumberToObject(t, "mean_score", sc);
          else cJSON_AddNullToObject(t, "mean_score");
          if (isfinite(rv)) cJSON_AddNumberToObject(t, "rate", rv);
          else cJSON_AddNullToObject(t, "rate");
        }
      }
      cJSON_AddItemToArray(jp, e);
    } else {
      char buf[1024];
      size_t at = 0;
      buf[0] = 0;
      for (int t = 0; t < top && size[q] > 0 && at < sizeof buf - 100; t++)
        at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%s %+.2f", t ? ", " : "", names[order[t]],
                               row[order[t]] - pop[order[t]]);
      ps_out("%7d %10lld %6.2f%%  %s", q, (long long)size[q], 100.0 * share, buf);
    }
  }
  if (!doc && oc.t > 0) {
    ps_out("%7s %-24s %10s %10s", "persona", "target", "mean score", "rate");
    for (int q = 0; q < k; q++)
      for (int h = 0; h < oc.t; h++)
        if (isfinite(oc.score[h * k + q]))
          ps_out("%7d %-24s %10.4f %10.4f", q, oc.targets[h], oc.score[h * k + q], oc.rate[h * k + q]);
        else /* no --scores */
          ps_out("%7d %-24s %10s %10.4f", q, oc.targets[h], "-", oc.rate[h * k + q]);
  }
  ps_free_strv(oc.targets);
  free(oc.score), free(oc.rate);
  if (doc) {
    char *s = cJSON_Print(doc);
    ps_out("%s", s);
    free(s);
    cJSON_Delete(doc);
  }
  if (o->out) ps_log("segment: wrote %s in %.2f s (%d rank%s)", o->out, ps_now() - t0, ps_size, ps_size == 1 ? "" : "s");
  free(order);
  free(acc), free(mz), free(pop), free(raw), free(craw);
  ps_free_strv(names);
  km_result_free(&r);
  free(lab), free(d2), free(Xs), free(ids), free(sel);
  prepare_free(&cols);
  ps_free_strv(sv.names);
  free(sv.centers);
  data_close(&d);
  return 0;
}
