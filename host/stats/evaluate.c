/* evaluate.c: the eval job (see evaluate.h). */
#define _GNU_SOURCE
#include "stats/evaluate.h"

#include <cJSON.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "comm/comm.h"
#include "core/partition.h"
#include "core/signals.h"
#include "core/util.h"
#include "io/data.h"
#include "io/h5.h"
#include "io/scores_file.h"
#include "stats/metrics.h"
#include "stats/json_num.h"
#include "stats/psi.h"

#define HIST_BINS 60   /* display bins of the score histogram (groups of fine PSI bins) */
#define TOP_FEATURES 20 /* GBDT importances in the report */

/* The baseline scores' fine histogram of a head (every row of that file, as
 * the gate); 0 if the baseline has no such head. */
static int baseline_hist(ps_h5_t bf, const char *path, const char *target, double *hist, int64_t *bad) {
  char name[600];
  snprintf(name, sizeof name, "/scores/%s", target);
  if (!h5_exists(bf, name)) return 0;
  int64_t dims[1], row0, n;
  ps_h5_t d = h5_dset_open(bf, path, name, 1, PS_KIND_FLOAT, "float32", dims);
  ps_partition(dims[0], ps_size, ps_rank, &row0, &n);
  float *p = ps_malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  h5_read_range(d, PS_F32, row0, n, 0, p);
  h5_close(d);
  *bad = psi_hist_all(p, n, hist);
  free(p);
  return 1;
}

static double fine_edge(int b) { return -PS_PSI_ZMAX + 2 * PS_PSI_ZMAX * b / PS_PSI_FINE; }

/* The histogram for people: the fine bins from the lowest to the highest
 * occupied one (of either histogram), grouped into at most HIST_BINS bars. */
static cJSON *hist_json(const double *cur, const double *base) {
  int lo = PS_PSI_FINE, hi = 0;
  for (int b = 0; b < PS_PSI_FINE; b++)
    if (cur[b] > 0 || (base && base[b] > 0)) {
      if (b < lo) lo = b;
      hi = b + 1;
    }
  if (hi <= lo) lo = 0, hi = PS_PSI_FINE;
  int w = (hi - lo + HIST_BINS - 1) / HIST_BINS;
  cJSON *o = cJSON_CreateObject(), *e = cJSON_AddArrayToObject(o, "logit_edges");
  cJSON *rc = cJSON_AddArrayToObject(o, "rows"), *rb = base ? cJSON_AddArrayToObject(o, "baseline_rows") : NULL;
  cJSON_AddItemToArray(e, cJSON_CreateNumber(fine_edge(lo)));
  for (int b = lo; b < hi; b += w) {
    double c = 0, bb = 0;
    for (int q = b; q < b + w && q < PS_PSI_FINE; q++) {
      c += cur[q];
      if (base) bb += base[q];
    }
    cJSON_AddItemToArray(e, cJSON_CreateNumber(fine_edge(b + w < PS_PSI_FINE ? b + w : PS_PSI_FINE)));
    cJSON_AddItemToArray(rc, cJSON_CreateNumber(c));
    if (rb) cJSON_AddItemToArray(rb, cJSON_CreateNumber(bb));
  }
  return o;
}

/* The model the scores came from, as the scores file records it (or beside
 * the scores file): its kind and, for GBDT, each head's top features by
 * total split gain. Collective. */
static cJSON *model_json(ps_h5_t sf, const char *scores, char **targets, int k) {
  char *rec = h5_get_attr_str(sf, "model");
  cJSON *o = ps_rank == 0 ? cJSON_CreateObject() : NULL;
  if (o) cJSON_AddStringToObject(o, "path", rec ? rec : "");
  char *path = NULL;
  int64_t found = 0;
  if (ps_rank == 0 && rec && rec[0]) {
    char *sd = ps_strdup(scores), *rb = ps_strdup(rec);
    char *beside = ps_sprintf("%s/%s", dirname(sd), basename(rb));
    found = access(rec, R_OK) == 0 ? 1 : access(beside, R_OK) == 0 ? 2 : 0;
    free(sd);
    free(rb);
    free(beside);
  }
  comm_bcast(&found, sizeof found, 0);
  if (found) {
    char *sd = ps_strdup(scores), *rb = ps_strdup(rec);
    path = found == 1 ? ps_strdup(rec) : ps_sprintf("%s/%s", dirname(sd), basename(rb));
    free(sd);
    free(rb);
  }
  free(rec);
  if (!path) {
    if (o) cJSON_AddNullToObject(o, "kind");
    return o;
  }
  ps_h5_t mf = h5_open(path, 1);
  char *kind = h5_get_attr_str(mf, "kind"), *type = h5_get_attr_str(mf, "model_type");
  char *created = h5_get_attr_str(mf, "created");
  if (o) {
    cJSON_AddStringToObject(o, "found_at", path);
    if (kind && !strcmp(kind, "model")) cJSON_AddStringToObject(o, "kind", type ? type : "logreg");
    else cJSON_AddNullToObject(o, "kind");
    if (created) cJSON_AddStringToObject(o, "created", created);
  }
  if (kind && !strcmp(kind, "model") && type && !strcmp(type, "gbdt") && h5_exists(mf, "/feature_names")) {
    int64_t f = 0;
    char **names = h5_read_strings(mf, path, "/feature_names", &f);
    double *gain = ps_malloc(sizeof(double) * (size_t)(f + 1)), *splits = ps_malloc(sizeof(double) * (size_t)(f + 1));
    int64_t *order = ps_malloc(sizeof(int64_t) * (size_t)(f + 1));
    cJSON *imp = o ? cJSON_AddObjectToObject(o, "importance") : NULL;
    for (int h = 0; h < k; h++) {
      char *gn = ps_sprintf("/importance/%s/gain", targets[h]), *sn = ps_sprintf("/importance/%s/splits", targets[h]);
      if (h5_exists(mf, gn) && h5_exists(mf, sn)) {
        h5_read_small(mf, path, gn, PS_F64, gain, f);
        h5_read_small(mf, path, sn, PS_F64, splits, f);
        double total = 0;
        for (int64_t j = 0; j < f; j++) order[j] = j, total += gain[j];
        int top = f < TOP_FEATURES ? (int)f : TOP_FEATURES;
        for (int t = 0; t < top; t++) /* selection: highest gain first, ties by column */
          for (int64_t j = t + 1; j < f; j++)
            if (gain[order[j]] > gain[order[t]] || (gain[order[j]] == gain[order[t]] && order[j] < order[t])) {
              int64_t tmp = order[t];
              order[t] = order[j];
              order[j] = tmp;
            }
        if (imp) {
          cJSON *ti = cJSON_AddObjectToObject(imp, targets[h]), *fe = cJSON_AddArrayToObject(ti, "features");
          cJSON *ga = cJSON_AddArrayToObject(ti, "gain"), *sp = cJSON_AddArrayToObject(ti, "splits");
          cJSON_AddNumberToObject(ti, "total_gain", total);
          for (int t = 0; t < top; t++) {
            cJSON_AddItemToArray(fe, cJSON_CreateString(names[order[t]]));
            cJSON_AddItemToArray(ga, ps_json_num(gain[order[t]]));
            cJSON_AddItemToArray(sp, ps_json_num(splits[order[t]]));
          }
        }
      }
      free(gn);
      free(sn);
    }
    free(gain);
    free(splits);
    free(order);
    ps_free_strv(names);
  }
  free(kind);
  free(type);
  free(created);
  h5_close(mf);
  free(path);
  return o;
}

int eval_run(const eval_opts_t *opts) {
  const char *data = opts->data, *scores = opts->scores, *split = opts->split, *targets_s = opts->targets;
  double holdout = opts->holdout;
  int64_t salt = opts->split_salt;
  int json = opts->json, want_doc = opts->json || opts->json_text;
  const char *bscores = opts->baseline_scores;
  ps_data_t d;
  data_open(data, &d);
  ps_h5_t sf = scores_open(scores, "scores");
  split = scores_split(sf, split, &holdout, &salt);

  int64_t row0, n;
  int64_t *ids = scores_data_ids(sf, scores, &d, &row0, &n);
  size_t nn = (size_t)(n > 0 ? n : 1);

  int k = 0;
  char **targets = targets_s ? ps_split(targets_s, ',', &k) : h5_list_datasets(sf, "/scores", &k);
  if (k == 0 && targets_s) ps_die_all(PS_EXIT_USAGE, "--targets: no target names given");
  if (k == 0) ps_die_all(PS_EXIT_ERROR, "%s: no /scores/<target> datasets", scores);

  uint8_t *keep = ps_malloc(nn);
  scores_split_keep(ids, n, split, holdout, salt, keep);
  free(ids);

  ps_h5_t bf = 0; /* open iff bscores */
  if (bscores) bf = scores_open(bscores, "scores");
  /* score histograms (every row of each file, as the gate counts them) */
  double *hcur = ps_calloc((size_t)k * PS_PSI_FINE, sizeof(double));
  double *hbase = ps_calloc((size_t)k * PS_PSI_FINE, sizeof(double));
  int *has_base = ps_calloc((size_t)k, sizeof(int));
  int64_t *base_bad = ps_calloc((size_t)k, sizeof(int64_t));
  ps_metrics_t *mt = ps_calloc((size_t)k, sizeof(ps_metrics_t));
  float *p = ps_malloc(sizeof(float) * nn);
  uint8_t *y = ps_malloc(nn);
  int rss = getenv("PROPSCORE_REPORT_RSS") != NULL; /* tests: each rank's peak during the metrics */
  long metrics_rss = 0;
  for (int h = 0; h < k; h++) {
    ps_fault_tick("head");
    if (comm_agree_stop()) {
      ps_out("eval: stopped by a signal before the end; nothing was written");
      return PS_EXIT_STOPPED;
    }
    char name[600];
    snprintf(name, sizeof name, "/scores/%s", targets[h]);
    scores_read_head(sf, scores, name, d.n, row0, n, &PS_SCORE_PROBABILITY, PS_F32, p);
    data_read_labels(&d, targets[h], row0, n, 1, 0, y);
    if (want_doc || bscores) {
      psi_hist_all(p, n, hcur + (size_t)h * PS_PSI_FINE);
      if (bscores) has_base[h] = baseline_hist(bf, bscores, targets[h], hbase + (size_t)h * PS_PSI_FINE, &base_bad[h]);
    }
    if (rss) ps_reset_peak_rss(); /* the metrics' own peak, not the reads' (MPI-IO buffers) */
    metrics_compute_in(p, y, keep, n, &mt[h]); /* p's scores are used up: the next head reads its own */
    if (rss && ps_peak_rss_kb() > metrics_rss) metrics_rss = ps_peak_rss_kb();
  }
  metrics_release();
  if (bscores) h5_close(bf);
  if (rss) fprintf(stderr, "propscore: rank %d metrics peak RSS %ld KiB\n", ps_rank, metrics_rss);
  cJSON *model = want_doc ? model_json(sf, scores, targets, k) : NULL;
  free(p);
  free(y);
  free(keep);

  if (ps_rank == 0 && want_doc) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "data", data);
    cJSON_AddNumberToObject(root, "data_rows", (double)d.n);
    cJSON_AddStringToObject(root, "scores", scores);
    char *created = h5_get_attr_str(sf, "created");
    if (created) cJSON_AddStringToObject(root, "scores_created", created);
    free(created);
    cJSON_AddStringToObject(root, "split", split);
    if (bscores) cJSON_AddStringToObject(root, "baseline_scores", bscores);
    cJSON_AddItemToObject(root, "model", model);
    model = NULL;
    cJSON *ts = cJSON_AddObjectToObject(root, "targets");
    for (int h = 0; h < k; h++) {
      ps_metrics_t *m = &mt[h];
      cJSON *o = cJSON_AddObjectToObject(ts, targets[h]);
      cJSON_AddNumberToObject(o, "rows", m->n);
      cJSON_AddNumberToObject(o, "positives", m->pos);
      cJSON_AddItemToObject(o, "roc_auc", ps_json_num(m->auc));
      cJSON_AddItemToObject(o, "pr_auc", ps_json_num(m->pr_auc));
      cJSON_AddItemToObject(o, "log_loss", ps_json_num(m->logloss));
      cJSON_AddItemToObject(o, "brier", ps_json_num(m->brier));
      cJSON *l = cJSON_AddObjectToObject(o, "lift");
      cJSON_AddItemToObject(l, "rows", ps_json_arr(m->lift_rows, PS_BINS));
      cJSON_AddItemToObject(l, "positives", ps_json_arr(m->lift_pos, PS_BINS));
      cJSON_AddItemToObject(l, "rate", ps_json_arr(m->lift_rate, PS_BINS));
      cJSON_AddItemToObject(l, "lift", ps_json_arr(m->lift, PS_BINS));
      cJSON_AddItemToObject(l, "cumulative_gain", ps_json_arr(m->lift_gain, PS_BINS));
      cJSON_AddItemToObject(l, "min_score", ps_json_arr(m->lift_min_score, PS_BINS));
      cJSON *cb = cJSON_AddObjectToObject(o, "calibration");
      cJSON_AddItemToObject(cb, "rows", ps_json_arr(m->cal_n, PS_BINS));
      cJSON_AddItemToObject(cb, "mean_predicted", ps_json_arr(m->cal_pred, PS_BINS));
      cJSON_AddItemToObject(cb, "observed_rate", ps_json_arr(m->cal_obs, PS_BINS));
      /* the curves at fixed depths: ROC (fpr, tpr), precision-recall, gains */
      cJSON *cv = cJSON_AddObjectToObject(o, "curves");
      double fpr[PS_CURVE], tpr[PS_CURVE], prec[PS_CURVE], depth[PS_CURVE], neg = m->n - m->pos;
      for (int j = 0; j < PS_CURVE; j++) {
        double r = m->curve_rows[j], tp = m->curve_pos[j];
        depth[j] = m->n > 0 ? r / m->n : NAN;
        tpr[j] = m->pos > 0 ? tp / m->pos : NAN;
        fpr[j] = neg > 0 ? (r - tp) / neg : NAN;
        prec[j] = r > 0 ? tp / r : NAN;
      }
      cJSON_AddItemToObject(cv, "rows", ps_json_arr(m->curve_rows, PS_CURVE));
      cJSON_AddItemToObject(cv, "positives", ps_json_arr(m->curve_pos, PS_CURVE));
      cJSON_AddItemToObject(cv, "min_score", ps_json_arr(m->curve_score, PS_CURVE));
      cJSON_AddItemToObject(cv, "depth", ps_json_arr(depth, PS_CURVE));
      cJSON_AddItemToObject(cv, "fpr", ps_json_arr(fpr, PS_CURVE));
      cJSON_AddItemToObject(cv, "tpr", ps_json_arr(tpr, PS_CURVE));
      cJSON_AddItemToObject(cv, "precision", ps_json_arr(prec, PS_CURVE));
      const double *hc = hcur + (size_t)h * PS_PSI_FINE, *hb = has_base[h] ? hbase + (size_t)h * PS_PSI_FINE : NULL;
      cJSON *hist = hist_json(hc, hb);
      cJSON_AddStringToObject(hist, "rows_from", "every row of each scores file, as the gate counts them");
      cJSON_AddItemToObject(o, "score_histogram", hist);
      if (hb) {
        int edges[PS_PSI_BINS + 2], nb = 0;
        double ex[PS_PSI_BINS + 1], ac[PS_PSI_BINS + 1], ed[PS_PSI_BINS + 2];
        double v = psi_value(hb, hc, edges, ex, ac, &nb);
        for (int b = 0; b <= nb; b++) ed[b] = fine_edge(edges[b]);
        cJSON *ps = cJSON_AddObjectToObject(o, "psi");
        cJSON_AddItemToObject(ps, "value", ps_json_num(v));
        cJSON_AddItemToObject(ps, "logit_edges", ps_json_arr(ed, nb + 1));
        cJSON_AddItemToObject(ps, "baseline_share", ps_json_arr(ex, nb));
        cJSON_AddItemToObject(ps, "share", ps_json_arr(ac, nb));
        cJSON_AddNumberToObject(ps, "baseline_not_probabilities", (double)base_bad[h]);
      }
    }
    char *s = cJSON_PrintBuffered(root, 1 << 16, 1);
    if (json) ps_out("%s", s);
    if (opts->json_text) *opts->json_text = s;
    else free(s);
    cJSON_Delete(root);
  }
  if (ps_rank == 0 && !json) {
    for (int h = 0; h < k; h++) {
      ps_metrics_t *m = &mt[h];
      ps_out("== %s  (%s split: %.0f rows, %.0f positives, rate %.4f)", targets[h], split, m->n, m->pos,
             m->n > 0 ? m->pos / m->n : 0);
      ps_out("ROC-AUC %.6f  PR-AUC %.6f  log-loss %.6f  Brier %.6f", m->auc, m->pr_auc, m->logloss, m->brier);
      if (has_base[h])
        ps_out("PSI of scores vs baseline %.4f (every row of %s and of %s, as the gate)",
               psi_value(hbase + (size_t)h * PS_PSI_FINE, hcur + (size_t)h * PS_PSI_FINE, NULL, NULL, NULL, NULL),
               scores, bscores);
      else if (bscores)
        ps_out("PSI: the baseline %s has no /scores/%s", bscores, targets[h]);
      ps_out("  decile  %10s %10s %8s %6s %8s %10s", "rows", "positives", "rate", "lift", "cum.gain", "min score");
      for (int b = 0; b < PS_BINS; b++)
        ps_out("  %6d  %10.0f %10.1f %8.4f %6.2f %7.1f%% %10.6f", b + 1, m->lift_rows[b], m->lift_pos[b],
               m->lift_rate[b], m->lift[b], 100 * m->lift_gain[b], m->lift_min_score[b]);
      ps_out("  calibration bin  %10s %10s %10s", "rows", "predicted", "observed");
      for (int b = 0; b < PS_BINS; b++)
        if (m->cal_n[b] > 0)
          ps_out("  [%.1f, %.1f)       %10.0f %10.4f %10.4f", b / 10.0, (b + 1) / 10.0, m->cal_n[b], m->cal_pred[b],
                 m->cal_obs[b]);
    }
  }
  cJSON_Delete(model);
  free(mt);
  free(hcur);
  free(hbase);
  free(has_base);
  free(base_bad);
  ps_free_strv(targets);
  h5_close(sf);
  data_close(&d);
  return 0;
}
