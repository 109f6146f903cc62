/* uplift_eval.c: eval --uplift (see uplift_eval.h). */
#include "targeting/uplift_eval.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"
#include "io/data.h"
#include "io/h5.h"
#include "io/scores_file.h"
#include "stats/json_num.h"

static int by_score_desc(const void *a, const void *b) {
  const ps_uplift_row_t *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  return x->row > y->row ? -1 : x->row < y->row ? 1 : 0;
}

/* sklift's curve over rows sorted by score: points at the end of each group
 * of equal scores, (0, 0) first; the area (trapezoids) of it. qini: the
 * Qini curve, else the uplift curve. key: the score to group by. */
static double curve_area(const ps_uplift_row_t *r, const double *key, int64_t n, int qini, double *last_x,
                         double *last_y) {
  double nt = 0, yt = 0, yc = 0, px = 0, py = 0, area = 0;
  for (int64_t i = 0; i < n; i++) {
    nt += r[i].t;
    yt += r[i].t ? r[i].y : 0;
    yc += r[i].t ? 0 : r[i].y;
    if (i + 1 < n && key[i + 1] == key[i]) continue;
    double all = (double)(i + 1), nc = all - nt, v;
    if (qini) v = yt - (nc != 0 ? yc * (nt / nc) : 0);
    else v = ((nt != 0 ? yt / nt : 0) - (nc != 0 ? yc / nc : 0)) * all;
    area += (all - px) * (v + py) / 2.0;
    px = all;
    py = v;
  }
  *last_x = px;
  *last_y = py;
  return area;
}

/* Rows sorted by `key` descending, ties by row descending (stable mergesort reversed). */
typedef struct {
  double key;
  int64_t row;
  uint8_t y, t;
} keyed_t;
static int by_key_desc(const void *a, const void *b) {
  const keyed_t *x = a, *y = b;
  if (x->key != y->key) return x->key > y->key ? -1 : 1;
  return x->row > y->row ? -1 : x->row < y->row ? 1 : 0;
}
static double perfect_area(const ps_uplift_row_t *r, int64_t n, int qini, double *lx, double *ly) {
  double cr = 0, tn = 0;
  for (int64_t i = 0; i < n; i++) cr += r[i].y == 1 && r[i].t == 0, tn += r[i].y == 0 && r[i].t == 1;
  keyed_t *k = ps_malloc(sizeof(keyed_t) * (size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) {
    double y = r[i].y, t = r[i].t, key;
    if (qini) key = y * t - y * (1 - t);
    else key = 2.0 * (r[i].y == r[i].t) + (cr > tn ? y : t);
    k[i] = (keyed_t){key, r[i].row, r[i].y, r[i].t};
  }
  qsort(k, (size_t)n, sizeof(keyed_t), by_key_desc);
  ps_uplift_row_t *s = ps_malloc(sizeof(ps_uplift_row_t) * (size_t)(n > 0 ? n : 1));
  double *key = ps_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) s[i] = (ps_uplift_row_t){k[i].key, k[i].row, k[i].y, k[i].t}, key[i] = k[i].key;
  double a = curve_area(s, key, n, qini, lx, ly);
  free(k);
  free(s);
  free(key);
  return a;
}

void uplift_metrics(ps_uplift_row_t *r, int64_t n, ps_uplift_metrics_t *m) {
  memset(m, 0, sizeof *m);
  qsort(r, (size_t)n, sizeof(ps_uplift_row_t), by_score_desc);
  double *key = ps_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) {
    key[i] = r[i].score;
    m->n_t += r[i].t;
    m->y_t += r[i].t ? r[i].y : 0;
    m->y_c += r[i].t ? 0 : r[i].y;
  }
  m->n = (double)n;
  m->n_c = m->n - m->n_t;
  for (int q = 1; q >= 0; q--) {
    double ax, ay, px, py;
    double a = curve_area(r, key, n, q, &ax, &ay);
    double p = perfect_area(r, n, q, &px, &py);
    double base = px * py / 2.0; /* the diagonal to the perfect curve's end (the same end) */
    double v = (a - base) / (p - base);
    if (q) m->qini = v, m->qini_area = a - base;
    else m->auuc = v, m->auuc_area = a - base;
  }
  /* deciles as numpy.array_split; the curves at each decile's end */
  int64_t at = 0, nt = 0, yt = 0, yc = 0;
  for (int b = 0; b < PS_UPLIFT_BINS; b++) {
    int64_t len = n / PS_UPLIFT_BINS + (b < n % PS_UPLIFT_BINS ? 1 : 0);
    double bt = 0, bc = 0, byt = 0, byc = 0;
    for (int64_t i = at; i < at + len; i++) {
      if (r[i].t) bt += 1, byt += r[i].y;
      else bc += 1, byc += r[i].y;
    }
    at += len;
    nt += (int64_t)bt;
    yt += (int64_t)byt;
    yc += (int64_t)byc;
    double pt = bt > 0 ? byt / bt : NAN, pc = bc > 0 ? byc / bc : NAN;
    m->bin_n_t[b] = bt;
    m->bin_n_c[b] = bc;
    m->bin_rate_t[b] = pt;
    m->bin_rate_c[b] = pc;
    m->bin_uplift[b] = pt - pc;
    m->bin_se[b] = sqrt(pt * (1 - pt) / bt + pc * (1 - pc) / bc);
    double all = (double)at, nc = all - (double)nt;
    m->depth_rows[b] = all;
    m->depth_incremental[b] = (double)yt - (nc != 0 ? (double)yc * ((double)nt / nc) : 0);
    m->depth_uplift_curve[b] = ((nt ? (double)yt / (double)nt : 0) - (nc != 0 ? (double)yc / nc : 0)) * all;
  }
  free(key);
}

int uplift_eval_run(const uplift_eval_opts_t *o) {
  const char *split = o->split;
  double holdout = o->holdout;
  int64_t salt = o->split_salt;
  ps_data_t d;
  data_open(o->data, &d);
  char *tt[1] = {(char *)o->treatment};
  data_check_targets(&d, tt, 1);
  ps_h5_t sf = scores_open(o->scores, "scores");
  split = scores_split(sf, split, &holdout, &salt);
  int64_t row0, n;
  int64_t *ids = scores_data_ids(sf, o->scores, &d, &row0, &n);
  size_t nn = (size_t)(n > 0 ? n : 1);
  int k = 0;
  char **targets = o->targets ? ps_split(o->targets, ',', &k) : h5_list_datasets(sf, "/uplift", &k);
  if (k == 0) ps_die_all(PS_EXIT_ERROR, "%s: no /uplift/<target> datasets (scores of an uplift model?)", o->scores);
  data_check_targets(&d, targets, k);

  uint8_t *keep = ps_malloc(nn), *tr = ps_malloc(nn), *y = ps_malloc(nn);
  scores_split_keep(ids, n, split, holdout, salt, keep);
  free(ids);
  data_read_labels(&d, o->treatment, row0, n, 1, 0, tr);
  double *u = ps_malloc(sizeof(double) * nn);
  ps_uplift_metrics_t *mt = ps_calloc((size_t)k, sizeof(ps_uplift_metrics_t));
  for (int h = 0; h < k; h++) {
    char name[600];
    snprintf(name, sizeof name, "/uplift/%s", targets[h]);
    scores_read_head(sf, o->scores, name, d.n, row0, n, &PS_SCORE_UPLIFT, PS_F64, u);
    data_read_labels(&d, targets[h], row0, n, 1, 0, y);
    int64_t m = 0;
    ps_uplift_row_t *rows = ps_malloc(sizeof(ps_uplift_row_t) * nn);
    for (int64_t i = 0; i < n; i++)
      if (keep[i]) rows[m++] = (ps_uplift_row_t){u[i], row0 + i, y[i], tr[i]};
    size_t total = 0;
    ps_uplift_row_t *all = comm_gatherv_bytes(rows, sizeof(ps_uplift_row_t) * (size_t)m, &total, NULL);
    free(rows);
    if (ps_rank == 0) {
      int64_t g = (int64_t)(total / sizeof(ps_uplift_row_t));
      uplift_metrics(all, g, &mt[h]);
    }
    free(all);
  }
  if (ps_rank == 0 && o->json) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "data", o->data);
    cJSON_AddStringToObject(root, "scores", o->scores);
    cJSON_AddStringToObject(root, "split", split);
    cJSON_AddStringToObject(root, "treatment", o->treatment);
    cJSON *ts = cJSON_AddObjectToObject(root, "targets");
    for (int h = 0; h < k; h++) {
      ps_uplift_metrics_t *m = &mt[h];
      cJSON *t = cJSON_AddObjectToObject(ts, targets[h]);
      cJSON_AddNumberToObject(t, "rows", m->n);
      cJSON_AddNumberToObject(t, "treated", m->n_t);
      cJSON_AddNumberToObject(t, "control", m->n_c);
      cJSON_AddNumberToObject(t, "treated_responders", m->y_t);
      cJSON_AddNumberToObject(t, "control_responders", m->y_c);
      cJSON_AddItemToObject(t, "qini_coefficient", ps_json_num(m->qini));
      cJSON_AddItemToObject(t, "auuc", ps_json_num(m->auuc));
      cJSON_AddItemToObject(t, "qini_area", ps_json_num(m->qini_area));
      cJSON_AddItemToObject(t, "uplift_area", ps_json_num(m->auuc_area));
      cJSON *dc = cJSON_AddObjectToObject(t, "deciles");
      cJSON_AddItemToObject(dc, "n_treatment", ps_json_arr(m->bin_n_t, PS_UPLIFT_BINS));
      cJSON_AddItemToObject(dc, "n_control", ps_json_arr(m->bin_n_c, PS_UPLIFT_BINS));
      cJSON_AddItemToObject(dc, "rate_treatment", ps_json_arr(m->bin_rate_t, PS_UPLIFT_BINS));
      cJSON_AddItemToObject(dc, "rate_control", ps_json_arr(m->bin_rate_c, PS_UPLIFT_BINS));
      cJSON_AddItemToObject(dc, "uplift", ps_json_arr(m->bin_uplift, PS_UPLIFT_BINS));
      cJSON_AddItemToObject(dc, "uplift_se", ps_json_arr(m->bin_se, PS_UPLIFT_BINS));
      cJSON_AddItemToObject(dc, "depth_rows", ps_json_arr(m->depth_rows, PS_UPLIFT_BINS));
      cJSON_AddItemToObject(dc, "incremental_conversions", ps_json_arr(m->depth_incremental, PS_UPLIFT_BINS));
      cJSON_AddItemToObject(dc, "uplift_curve", ps_json_arr(m->depth_uplift_curve, PS_UPLIFT_BINS));
    }
    char *s = cJSON_PrintBuffered(root, 1 << 16, 1);
    ps_out("%s", s);
    free(s);
    cJSON_Delete(root);
  } else if (ps_rank == 0) {
    for (int h = 0; h < k; h++) {
      ps_uplift_metrics_t *m = &mt[h];
      ps_out("== %s uplift by %s  (%s split: %.0f rows; treated %.0f, rate %.4f; control %.0f, rate %.4f)",
             targets[h], o->treatment, split, m->n, m->n_t, m->n_t > 0 ? m->y_t / m->n_t : 0, m->n_c,
             m->n_c > 0 ? m->y_c / m->n_c : 0);
      ps_out("Qini coefficient %.6f  AUUC %.6f  (scikit-uplift qini_auc_score, uplift_auc_score)", m->qini, m->auuc);
      ps_out("  decile %9s %9s %9s %9s %9s %9s %10s %12s", "treated", "control", "rate_t", "rate_c", "uplift", "se",
             "depth", "incremental");
      for (int b = 0; b < PS_UPLIFT_BINS; b++)
        ps_out("  %6d %9.0f %9.0f %9.4f %9.4f %9.4f %9.4f %10.0f %12.1f", b + 1, m->bin_n_t[b], m->bin_n_c[b],
               m->bin_rate_t[b], m->bin_rate_c[b], m->bin_uplift[b], m->bin_se[b], m->depth_rows[b],
               m->depth_incremental[b]);
    }
  }
  free(mt);
  free(u);
  free(keep);
  free(tr);
  free(y);
  ps_free_strv(targets);
  h5_close(sf);
  data_close(&d);
  return 0;
}
