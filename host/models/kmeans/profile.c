/* profile.c: each persona's profile and outcomes, printed (see profile.h). */
#include "models/kmeans/profile.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"
#include "io/h5.h"
#include "io/scores_file.h"
#include "kmeans/kmeans_cpu.h"

void km_profile_compute(const float *Xs, int64_t n, int64_t N, int64_t c, const int32_t *label, const double *d2, int k,
                        const double *centers, const ps_columns_t *cols, km_profile_t *p) {
  size_t kc = (size_t)k * (size_t)c;
  *p = (km_profile_t){.k = k, .c = c, .N = N, .acc = ps_calloc(kc + (size_t)k + 1, sizeof(int64_t))};
  int64_t *acc = p->acc;
  km_update_cpu(Xs, n, c, label, d2, k, acc, acc + kc, acc + kc + k);
  comm_allreduce_sum_i64(acc, kc + (size_t)k + 1);
  p->size = acc + kc;
  p->inertia = (double)p->size[k] / KM_FIX_D2;
  p->mean_std = ps_calloc(kc, sizeof(double));
  p->pop = ps_calloc((size_t)c, sizeof(double));
  for (int64_t j = 0; j < c; j++) {
    int64_t s = 0;
    for (int q = 0; q < k; q++) s += acc[(size_t)q * (size_t)c + (size_t)j];
    p->pop[j] = (double)s / KM_FIX_X / (double)N;
  }
  for (int q = 0; q < k; q++)
    for (int64_t j = 0; j < c; j++)
      p->mean_std[(size_t)q * (size_t)c + (size_t)j] =
          p->size[q] ? (double)acc[(size_t)q * (size_t)c + (size_t)j] / KM_FIX_X / (double)p->size[q] : NAN;
  /* raw units: mean + z / scale */
  p->mean_raw = ps_malloc(sizeof(double) * kc);
  p->centers_raw = ps_malloc(sizeof(double) * kc);
  for (int q = 0; q < k; q++)
    for (int64_t j = 0; j < c; j++) {
      size_t at = (size_t)q * (size_t)c + (size_t)j;
      double sc = cols->scale[j];
      p->mean_raw[at] = sc > 0 ? cols->mean[j] + p->mean_std[at] / sc : cols->mean[j];
      p->centers_raw[at] = sc > 0 ? cols->mean[j] + centers[at] / sc : cols->mean[j];
    }
}

void km_profile_free(km_profile_t *p) {
  free(p->acc), free(p->mean_std), free(p->pop), free(p->mean_raw), free(p->centers_raw);
  memset(p, 0, sizeof *p);
}

/* One target's sums per persona: scores in 2^-32 units, then label counts. */
static void outcome_sums(const ps_data_t *d, const char *scores, ps_h5_t sf, const char *target, int has_label,
                         const int32_t *lab, int64_t row0, int64_t n, int k, int64_t *acc) {
  size_t nn = (size_t)(n > 0 ? n : 1);
  float *p = ps_malloc(sizeof(float) * nn);
  uint8_t *y = ps_malloc(nn);
  memset(acc, 0, sizeof(int64_t) * (size_t)(2 * k + 1));
  char name[600];
  snprintf(name, sizeof name, "/scores/%s", target);
  scores_read_head(sf, scores, name, d->n, row0, n, &PS_SCORE_PROBABILITY, PS_F32, p);
  for (int64_t i = 0; i < n; i++) acc[lab[i]] += (int64_t)((double)p[i] * 4294967296.0);
  if (has_label) {
    data_read_labels(d, target, row0, n, 1, 0, y);
    for (int64_t i = 0; i < n; i++) acc[k + lab[i]] += y[i];
  }
  comm_allreduce_sum_i64(acc, (size_t)(2 * k));
  free(p), free(y);
}

void km_outcomes(const ps_data_t *d, const char *scores, const int32_t *lab, int64_t row0, int64_t n,
                 const int64_t *ids, const km_profile_t *pf, km_outcomes_t *oc) {
  memset(oc, 0, sizeof *oc);
  if (!scores) return;
  int k = pf->k;
  ps_h5_t sf = scores_open(scores, "scores");
  oc->targets = h5_list_datasets(sf, "/scores", &oc->t);
  scores_check_ids(sf, scores, ids, d->n, row0, n, "data", d->path);
  int T = oc->t;
  oc->score = ps_malloc(sizeof(double) * (size_t)(T * k + 1));
  oc->rate = ps_malloc(sizeof(double) * (size_t)(T * k + 1));
  int64_t *acc = ps_malloc(sizeof(int64_t) * (size_t)(2 * k + 1));
  for (int h = 0; h < T; h++) {
    char *label = ps_sprintf("/labels/%s", oc->targets[h]);
    int has_label = h5_is_dataset(d->fid, label);
    free(label);
    outcome_sums(d, scores, sf, oc->targets[h], has_label, lab, row0, n, k, acc);
    for (int q = 0; q < k; q++) {
      oc->score[h * k + q] = pf->size[q] ? (double)acc[q] / 4294967296.0 / (double)pf->size[q] : NAN;
      oc->rate[h * k + q] = has_label && pf->size[q] ? (double)acc[k + q] / (double)pf->size[q] : NAN;
    }
  }
  free(acc);
  h5_close(sf);
}

void km_outcomes_free(km_outcomes_t *oc) {
  ps_free_strv(oc->targets);
  free(oc->score), free(oc->rate);
  memset(oc, 0, sizeof *oc);
}

/* The columns that set persona q apart most: order[0, top) by |difference
 * from all customers| (ties: lower column). */
static void top_columns(const km_profile_t *p, int q, int top, int64_t *order) {
  int64_t c = p->c;
  const double *row = p->mean_std + (size_t)q * (size_t)c, *pop = p->pop;
  for (int64_t j = 0; j < c; j++) order[j] = j;
  for (int t = 0; t < top; t++)
    for (int64_t j = t + 1; j < c; j++) {
      double a = fabs(row[order[j]] - pop[order[j]]), b = fabs(row[order[t]] - pop[order[t]]);
      if (a > b || (a == b && order[j] < order[t])) {
        int64_t tmp = order[t];
        order[t] = order[j];
        order[j] = tmp;
      }
    }
}

static void json_num_or_null(cJSON *o, const char *name, double v) {
  if (isfinite(v)) cJSON_AddNumberToObject(o, name, v);
  else cJSON_AddNullToObject(o, name);
}

static cJSON *json_persona(const km_profile_t *p, const km_outcomes_t *oc, const km_print_t *how, int q, int top,
                           const int64_t *order) {
  int64_t c = p->c;
  const double *row = p->mean_std + (size_t)q * (size_t)c;
  cJSON *e = cJSON_CreateObject();
  cJSON_AddNumberToObject(e, "persona", q);
  cJSON_AddNumberToObject(e, "size", (double)p->size[q]);
  cJSON_AddNumberToObject(e, "share", (double)p->size[q] / (double)p->N);
  cJSON *m = cJSON_AddObjectToObject(e, "mean");
  for (int64_t j = 0; j < c; j++) json_num_or_null(m, how->names[j], p->mean_raw[(size_t)q * (size_t)c + (size_t)j]);
  cJSON *ap = cJSON_AddArrayToObject(e, "apart");
  for (int t = 0; t < top && p->size[q] > 0; t++) {
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "column", how->names[order[t]]);
    cJSON_AddNumberToObject(a, "std_diff", row[order[t]] - p->pop[order[t]]);
    cJSON_AddItemToArray(ap, a);
  }
  if (oc->t > 0) {
    cJSON *jo = cJSON_AddObjectToObject(e, "outcomes");
    for (int h = 0; h < oc->t; h++) {
      cJSON *t = cJSON_AddObjectToObject(jo, oc->targets[h]);
      json_num_or_null(t, "mean_score", oc->score[h * p->k + q]);
      json_num_or_null(t, "rate", oc->rate[h * p->k + q]);
    }
  }
  return e;
}

static void print_json(const km_profile_t *p, const km_outcomes_t *oc, const km_print_t *how, int top,
                       int64_t *order) {
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddNumberToObject(doc, "k", p->k);
  cJSON_AddNumberToObject(doc, "rows", (double)p->N);
  cJSON_AddNumberToObject(doc, "inertia", p->inertia);
  cJSON_AddNumberToObject(doc, "iterations", how->iterations);
  cJSON *jc = cJSON_AddArrayToObject(doc, "columns");
  for (int64_t j = 0; j < p->c; j++) cJSON_AddItemToArray(jc, cJSON_CreateString(how->names[j]));
  cJSON *jp = cJSON_AddArrayToObject(doc, "personas");
  for (int q = 0; q < p->k; q++) {
    top_columns(p, q, top, order);
    cJSON_AddItemToArray(jp, json_persona(p, oc, how, q, top, order));
  }
  char *s = cJSON_Print(doc);
  ps_out("%s", s);
  free(s);
  cJSON_Delete(doc);
}

static void print_table(const km_profile_t *p, const km_outcomes_t *oc, const km_print_t *how, int top,
                        int64_t *order) {
  int k = p->k;
  ps_out("segment: %lld customers, %lld columns, k %d, inertia %.6g, %d iterations%s", (long long)p->N,
         (long long)p->c, k, p->inertia, how->iterations,
         how->assigned ? " (assigned to the saved model's personas)" : "");
  ps_out("%7s %10s %7s  %s", "persona", "size", "share", "sets it apart (standardized difference from all customers)");
  for (int q = 0; q < k; q++) {
    top_columns(p, q, top, order);
    const double *row = p->mean_std + (size_t)q * (size_t)p->c;
    char buf[1024];
    size_t at = 0;
    buf[0] = 0;
    for (int t = 0; t < top && p->size[q] > 0 && at < sizeof buf - 100; t++)
      at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%s %+.2f", t ? ", " : "", how->names[order[t]],
                             row[order[t]] - p->pop[order[t]]);
    ps_out("%7d %10lld %6.2f%%  %s", q, (long long)p->size[q], 100.0 * (double)p->size[q] / (double)p->N, buf);
  }
  if (oc->t > 0) {
    ps_out("%7s %-24s %10s %10s", "persona", "target", "mean score", "rate");
    for (int q = 0; q < k; q++)
      for (int h = 0; h < oc->t; h++)
        if (isfinite(oc->score[h * k + q]))
          ps_out("%7d %-24s %10.4f %10.4f", q, oc->targets[h], oc->score[h * k + q], oc->rate[h * k + q]);
        else /* an empty persona */
          ps_out("%7d %-24s %10s %10.4f", q, oc->targets[h], "-", oc->rate[h * k + q]);
  }
}

void km_profile_print(const km_profile_t *p, const km_outcomes_t *oc, const km_print_t *how) {
  int top = how->top < p->c ? how->top : (int)p->c;
  int64_t *order = ps_malloc(sizeof(int64_t) * (size_t)p->c);
  if (how->json) print_json(p, oc, how, top, order);
  else print_table(p, oc, how, top, order);
  free(order);
}
