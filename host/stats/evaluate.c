/* evaluate.c: the eval job (see evaluate.h). */
#define _GNU_SOURCE
#include "stats/evaluate.h"

#include <cJSON.h>
#include <libgen.h>
#include <math.h>
#include <stddef.h>
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

const char *const EVAL_SPLITS[] = {"valid", "train", "all", NULL};
#define F(field) offsetof(eval_opts_t, field)
#define WITH_REPORT(field, what) \
  {.name = "report-" #field, .type = OPT_STR, .off = F(report_##field), .arg = "FILE", .help = "with --report: " what}
static const ps_option_t EVAL_OPTS[] = {
    {.name = "data", .type = OPT_STR, .off = F(data), .arg = "FILE", .help = "feature file (with the labels)",
     .flags = OPT_REQUIRED, .short_name = 'd'},
    {.name = "scores", .type = OPT_STR, .off = F(scores), .arg = "FILE", .help = "scores file (propscore score)",
     .flags = OPT_REQUIRED, .short_name = 's'},
    {.name = "split", .type = OPT_CHOICE, .off = F(split_i), .choices = EVAL_SPLITS, .arg = "S",
     .help = "valid|train|all (default: valid when the scores came from a\n"
             "model trained with a holdout, else all)", .short_name = 'p'},
    {.name = "holdout", .type = OPT_DOUBLE, .off = F(holdout), .lo = 0.0, .hi = 0.9, .arg = "F",
     .help = "override the validation fraction recorded in the scores file", .short_name = 'H'},
    {.name = "split-salt", .type = OPT_I64, .off = F(split_salt), .min = 0, .max = INT64_MAX, .arg = "N",
     .help = "override the split salt recorded in the scores file", .short_name = 'S'},
    {.name = "targets", .type = OPT_STR, .off = F(targets), .arg = "a,b",
     .help = "targets to evaluate (default: every /scores/<target>)", .short_name = 't'},
    {.name = "json", .type = OPT_FLAG, .off = F(json),
     .help = "one JSON document on stdout (with the curves' points: ROC,\n"
             "precision-recall and gains at 110 depths; score histograms)", .short_name = 'j'},
    {.name = "baseline-scores", .type = OPT_STR, .off = F(baseline_scores), .arg = "OLD.h5",
     .help = "the published model's scores: each head's score\n"
             "histogram against theirs and the PSI the gate computes\n(every row of both files)"},
    {.name = "report", .type = OPT_STR, .off = F(report), .arg = "DIR",
     .help = "also write DIR/index.html, a page for people (no JavaScript,\n"
             "no network): per target ROC, precision-recall, gains and lift,\n"
             "calibration with the Brier score, the score histogram (against\n"
             "the baseline's), GBDT feature importances; PNG charts beside it,\n"
             "their data points in DIR/report.json, this JSON in DIR/eval.json.\n"
             "Drawn by scripts/report.py (python3 + matplotlib; PROPSCORE_PYTHON,\n"
             "PROPSCORE_REPORT_SCRIPT override them). DIR is new, empty or an\n"
             "earlier report, and is replaced whole when the new one is complete;\n"
             "no input may lie in it"},
    WITH_REPORT(gate, "`gate --json` output: the verdict in the header"),
    WITH_REPORT(personas, "`segment --json` output: persona sizes, profiles"),
    WITH_REPORT(uplift, "`eval --uplift --json` output: Qini curves"),
    WITH_REPORT(offers, "an offers file (offers.h5): value by depth"),
    WITH_REPORT(manifest, "the run manifest for the header (default:\n"
                          "SCORES.h5.manifest.json, and the model's beside it)"),
    {.name = "uplift", .type = OPT_FLAG, .off = F(uplift),
     .help = "evaluate /uplift/<target> of the scores file instead: Qini\n"
             "curve and coefficient, AUUC, uplift by decile (treated rate,\n"
             "control rate, difference, its standard error) and incremental\n"
             "conversions at each decile's depth -- scikit-uplift's definitions\n"
             "(qini_auc_score, uplift_auc_score, uplift_by_percentile); the\n"
             "split must hold treated and control rows"},
    {.name = "treatment", .type = OPT_STR, .off = F(treatment), .arg = "FLAG",
     .help = "with --uplift: the 0/1 label /labels/FLAG that says who was treated"},
    {0}};
#undef WITH_REPORT
#undef F

const ps_cmd_spec_t eval_cmd = {
    .name = "eval",
    .opts = EVAL_OPTS,
    .usage = "usage: propscore eval --data FILE.h5 --scores SCORES.h5 [options]\n"
             "\n"
             "Per target: ROC-AUC, PR-AUC (average precision), log-loss, Brier score, the\n"
             "expected calibration error (ECE: over the 10 equal-width probability bins, the\n"
             "rows' share times |observed rate - mean probability|), a decile lift table and\n"
             "that 10-bin calibration table.\n"};

void eval_check_split(const char *split, double holdout, int64_t split_salt) {
  if (strcmp(split, "all")) return;
  if (split_salt >= 0)
    ps_die_all(PS_EXIT_USAGE, "eval: --split-salt chooses validation rows, but the split is all (every row)");
  if (holdout > 0)
    ps_die_all(PS_EXIT_USAGE, "eval: --holdout %g chooses validation rows, but the split is all (every row)", holdout);
}
/* The baseline scores' fine histogram of a head (every row of that file, as
 * the gate; each must be a probability: eval dies naming file, dataset and
 * row); 0 if the baseline has no such head. */
static int baseline_hist(ps_h5_t bf, const char *path, const char *target, double *hist, int64_t *bad) {
  char name[600];
  snprintf(name, sizeof name, "/scores/%s", target);
  if (!h5_exists(bf, name)) return 0;
  int64_t N = h5_count(bf, "/customer_id"), row0, n;
  if (N < 0) ps_die_all(PS_EXIT_ERROR, "%s: no /customer_id (not a scores file?)", path);
  ps_partition(N, ps_size, ps_rank, &row0, &n);
  float *p = ps_malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  scores_read_head(bf, path, name, N, row0, n, &PS_SCORE_PROBABILITY, PS_F32, p);
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
/* The model file the scores file records, else the file of that name beside
 * the scores file; NULL when neither is readable (rank 0 looks). Collective. */
static char *model_path(ps_h5_t sf, const char *scores) {
  char *rec = h5_get_attr_str(sf, "model"), *cand[2] = {NULL, NULL};
  if (rec && rec[0]) {
    char *sd = ps_strdup(scores), *rb = ps_strdup(rec);
    cand[0] = ps_strdup(rec);
    cand[1] = ps_sprintf("%s/%s", dirname(sd), basename(rb));
    free(sd);
    free(rb);
  }
  int64_t found = 0;
  if (ps_rank == 0 && cand[0]) found = access(cand[0], R_OK) == 0 ? 1 : access(cand[1], R_OK) == 0 ? 2 : 0;
  comm_bcast(&found, sizeof found, 0);
  char *path = found ? ps_strdup(cand[found - 1]) : NULL;
  free(cand[0]);
  free(cand[1]);
  free(rec);
  return path;
}

char *eval_model_path(const char *scores) {
  ps_h5_t sf = scores_open(scores, "scores");
  char *path = model_path(sf, scores);
  h5_close(sf);
  return path;
}

/* order[0 .. top) = the columns of the highest gains, highest first, ties by
 * column (a selection over the f columns). */
static void top_by_gain(const double *gain, int64_t f, int top, int64_t *order) {
  for (int64_t j = 0; j < f; j++) order[j] = j;
  for (int t = 0; t < top; t++)
    for (int64_t j = t + 1; j < f; j++)
      if (gain[order[j]] > gain[order[t]] || (gain[order[j]] == gain[order[t]] && order[j] < order[t])) {
        int64_t tmp = order[t];
        order[t] = order[j];
        order[j] = tmp;
      }
}

/* A GBDT model's top features by total split gain, per head, into imp
 * (rank 0's; NULL on the others, which read along). Collective. */
static void importance_json(ps_h5_t mf, const char *path, char **targets, int k, cJSON *imp) {
  int64_t f = 0;
  char **names = h5_read_strings(mf, path, "/feature_names", &f);
  double *gain = ps_malloc(sizeof(double) * (size_t)(f + 1)), *splits = ps_malloc(sizeof(double) * (size_t)(f + 1));
  int64_t *order = ps_malloc(sizeof(int64_t) * (size_t)(f + 1));
  for (int h = 0; h < k; h++) {
    char *gn = ps_sprintf("/importance/%s/gain", targets[h]), *sn = ps_sprintf("/importance/%s/splits", targets[h]);
    if (h5_exists(mf, gn) && h5_exists(mf, sn)) {
      h5_read_small(mf, path, gn, PS_F64, gain, f);
      h5_read_small(mf, path, sn, PS_F64, splits, f);
      double total = 0;
      for (int64_t j = 0; j < f; j++) total += gain[j];
      int top = f < TOP_FEATURES ? (int)f : TOP_FEATURES;
      top_by_gain(gain, f, top, order);
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

/* The model the scores came from, as the scores file records it (or beside
 * the scores file): its kind and, for GBDT, each head's top features by
 * total split gain. Collective; rank 0's, NULL on the others. */
static cJSON *model_json(ps_h5_t sf, const char *scores, char **targets, int k) {
  char *rec = h5_get_attr_str(sf, "model");
  cJSON *o = ps_rank == 0 ? cJSON_CreateObject() : NULL;
  if (o) cJSON_AddStringToObject(o, "path", rec ? rec : "");
  free(rec);
  char *path = model_path(sf, scores);
  if (!path) {
    if (o) cJSON_AddNullToObject(o, "kind");
    return o;
  }
  ps_h5_t mf = h5_open(path, 1);
  char *kind = h5_get_attr_str(mf, "kind"), *type = h5_get_attr_str(mf, "model_type");
  char *created = h5_get_attr_str(mf, "created");
  int is_model = kind && !strcmp(kind, "model");
  if (o) {
    cJSON_AddStringToObject(o, "found_at", path);
    if (is_model) cJSON_AddStringToObject(o, "kind", type ? type : "logreg");
    else cJSON_AddNullToObject(o, "kind");
    if (created) cJSON_AddStringToObject(o, "created", created);
  }
  if (is_model && type && !strcmp(type, "gbdt") && h5_exists(mf, "/feature_names"))
    importance_json(mf, path, targets, k, o ? cJSON_AddObjectToObject(o, "importance") : NULL);
  free(kind);
  free(type);
  free(created);
  h5_close(mf);
  free(path);
  return o;
}

/* An eval run's heads: each one's metrics and fine score histograms (the
 * scores', the baseline's where it has the head). */
typedef struct {
  int k;
  char **targets;
  ps_metrics_t *mt;
  double *hcur, *hbase; /* k x PS_PSI_FINE */
  int *has_base;
  int64_t *base_bad;
} eval_heads_t;

/* Reads each head's scores and labels and computes its metrics on the kept
 * rows and its histograms (every row). 0, or PS_EXIT_STOPPED on a stop
 * signal. Collective. */
static int compute_heads(const eval_opts_t *opts, ps_data_t *d, ps_h5_t sf, const uint8_t *keep, int64_t row0,
                         int64_t n, eval_heads_t *e) {
  const char *bscores = opts->baseline_scores;
  int k = e->k, hist = opts->json || opts->json_text || bscores;
  size_t nn = (size_t)(n > 0 ? n : 1);
  ps_h5_t bf = bscores ? scores_open(bscores, "scores") : 0;
  e->hcur = ps_calloc((size_t)k * PS_PSI_FINE, sizeof(double));
  e->hbase = ps_calloc((size_t)k * PS_PSI_FINE, sizeof(double));
  e->has_base = ps_calloc((size_t)k, sizeof(int));
  e->base_bad = ps_calloc((size_t)k, sizeof(int64_t));
  e->mt = ps_calloc((size_t)k, sizeof(ps_metrics_t));
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
    snprintf(name, sizeof name, "/scores/%s", e->targets[h]);
    scores_read_head(sf, opts->scores, name, d->n, row0, n, &PS_SCORE_PROBABILITY, PS_F32, p);
    data_read_labels(d, e->targets[h], row0, n, 1, 0, y);
    if (hist) {
      psi_hist_all(p, n, e->hcur + (size_t)h * PS_PSI_FINE);
      if (bscores)
        e->has_base[h] = baseline_hist(bf, bscores, e->targets[h], e->hbase + (size_t)h * PS_PSI_FINE, &e->base_bad[h]);
    }
    if (rss) ps_reset_peak_rss(); /* the metrics' own peak, not the reads' (MPI-IO buffers) */
    metrics_compute_in(p, y, keep, n, &e->mt[h]); /* p's scores are used up: the next head reads its own */
    if (rss && ps_peak_rss_kb() > metrics_rss) metrics_rss = ps_peak_rss_kb();
  }
  metrics_release();
  if (bscores) h5_close(bf);
  if (rss) fprintf(stderr, "propscore: rank %d metrics peak RSS %ld KiB\n", ps_rank, metrics_rss);
  free(p);
  free(y);
  return 0;
}

/* A head's curves at fixed depths: ROC (fpr, tpr), precision-recall, gains. */
static cJSON *curves_json(const ps_metrics_t *m) {
  cJSON *cv = cJSON_CreateObject();
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
  return cv;
}

/* The PSI of a head's scores against the baseline's, by the gate's bins. */
static cJSON *psi_json(const double *hb, const double *hc, int64_t base_bad) {
  int edges[PS_PSI_BINS + 2], nb = 0;
  double ex[PS_PSI_BINS + 1], ac[PS_PSI_BINS + 1], ed[PS_PSI_BINS + 2];
  double v = psi_value(hb, hc, edges, ex, ac, &nb);
  for (int b = 0; b <= nb; b++) ed[b] = fine_edge(edges[b]);
  cJSON *ps = cJSON_CreateObject();
  cJSON_AddItemToObject(ps, "value", ps_json_num(v));
  cJSON_AddItemToObject(ps, "logit_edges", ps_json_arr(ed, nb + 1));
  cJSON_AddItemToObject(ps, "baseline_share", ps_json_arr(ex, nb));
  cJSON_AddItemToObject(ps, "share", ps_json_arr(ac, nb));
  cJSON_AddNumberToObject(ps, "baseline_not_probabilities", (double)base_bad); /* 0: eval refuses them */
  return ps;
}

/* Head h of the JSON document: metrics, lift and calibration tables, curves,
 * score histogram and PSI. */
static void target_json(cJSON *ts, const eval_heads_t *e, int h) {
  const ps_metrics_t *m = &e->mt[h];
  cJSON *o = cJSON_AddObjectToObject(ts, e->targets[h]);
  cJSON_AddNumberToObject(o, "rows", m->n);
  cJSON_AddNumberToObject(o, "positives", m->pos);
  cJSON_AddItemToObject(o, "roc_auc", ps_json_num(m->auc));
  cJSON_AddItemToObject(o, "pr_auc", ps_json_num(m->pr_auc));
  cJSON_AddItemToObject(o, "log_loss", ps_json_num(m->logloss));
  cJSON_AddItemToObject(o, "brier", ps_json_num(m->brier));
  cJSON_AddItemToObject(o, "ece", ps_json_num(m->ece));
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
  cJSON_AddItemToObject(o, "curves", curves_json(m));
  const double *hc = e->hcur + (size_t)h * PS_PSI_FINE, *hb = e->has_base[h] ? e->hbase + (size_t)h * PS_PSI_FINE : NULL;
  cJSON *hist = hist_json(hc, hb);
  cJSON_AddStringToObject(hist, "rows_from", "every row of each scores file, as the gate counts them");
  cJSON_AddItemToObject(o, "score_histogram", hist);
  if (hb) cJSON_AddItemToObject(o, "psi", psi_json(hb, hc, e->base_bad[h]));
}

/* Rank 0: the JSON document, printed (--json) and/or handed to json_text;
 * it takes model. */
static void eval_doc(const eval_opts_t *opts, const ps_data_t *d, ps_h5_t sf, const char *split, cJSON *model,
                     const eval_heads_t *e) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "data", opts->data);
  cJSON_AddNumberToObject(root, "data_rows", (double)d->n);
  cJSON_AddStringToObject(root, "scores", opts->scores);
  char *created = h5_get_attr_str(sf, "created");
  if (created) cJSON_AddStringToObject(root, "scores_created", created);
  free(created);
  cJSON_AddStringToObject(root, "split", split);
  if (opts->baseline_scores) cJSON_AddStringToObject(root, "baseline_scores", opts->baseline_scores);
  cJSON_AddItemToObject(root, "model", model);
  cJSON *ts = cJSON_AddObjectToObject(root, "targets");
  for (int h = 0; h < e->k; h++) target_json(ts, e, h);
  char *s = cJSON_PrintBuffered(root, 1 << 16, 1);
  if (opts->json) ps_out("%s", s);
  if (opts->json_text) *opts->json_text = s;
  else free(s);
  cJSON_Delete(root);
}

/* Rank 0: the tables for people. */
static void eval_print(const eval_opts_t *opts, const char *split, const eval_heads_t *e) {
  for (int h = 0; h < e->k; h++) {
    const ps_metrics_t *m = &e->mt[h];
    ps_out("== %s  (%s split: %.0f rows, %.0f positives, rate %.4f)", e->targets[h], split, m->n, m->pos,
           m->n > 0 ? m->pos / m->n : 0);
    ps_out("ROC-AUC %.6f  PR-AUC %.6f  log-loss %.6f  Brier %.6f  ECE %.6f", m->auc, m->pr_auc, m->logloss, m->brier,
           m->ece);
    if (e->has_base[h])
      ps_out("PSI of scores vs baseline %.4f (every row of %s and of %s, as the gate)",
             psi_value(e->hbase + (size_t)h * PS_PSI_FINE, e->hcur + (size_t)h * PS_PSI_FINE, NULL, NULL, NULL, NULL),
             opts->scores, opts->baseline_scores);
    else if (opts->baseline_scores)
      ps_out("PSI: the baseline %s has no /scores/%s", opts->baseline_scores, e->targets[h]);
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

int eval_run(const eval_opts_t *opts) {
  const char *split = opts->split;
  double holdout = opts->holdout;
  int64_t salt = opts->split_salt;
  ps_data_t d;
  data_open(opts->data, &d);
  ps_h5_t sf = scores_open(opts->scores, "scores");
  split = scores_split(sf, split, &holdout, &salt);
  eval_check_split(split, opts->holdout, opts->split_salt);
  int64_t row0, n;
  int64_t *ids = scores_data_ids(sf, opts->scores, &d, &row0, &n);
  eval_heads_t e = {0};
  e.targets = opts->targets ? ps_split(opts->targets, ',', &e.k) : h5_list_datasets(sf, "/scores", &e.k);
  if (e.k == 0 && opts->targets) ps_die_all(PS_EXIT_USAGE, "--targets: no target names given");
  if (e.k == 0) ps_die_all(PS_EXIT_ERROR, "%s: no /scores/<target> datasets", opts->scores);
  uint8_t *keep = ps_malloc((size_t)(n > 0 ? n : 1));
  scores_split_keep(ids, n, split, holdout, salt, keep);
  free(ids);
  int rc = compute_heads(opts, &d, sf, keep, row0, n, &e);
  free(keep);
  if (rc != 0) return rc;
  int want_doc = opts->json || opts->json_text;
  cJSON *model = want_doc ? model_json(sf, opts->scores, e.targets, e.k) : NULL;
  if (ps_rank == 0 && want_doc) eval_doc(opts, &d, sf, split, model, &e);
  else cJSON_Delete(model);
  if (ps_rank == 0 && !opts->json) eval_print(opts, split, &e);
  free(e.mt);
  free(e.hcur);
  free(e.hbase);
  free(e.has_base);
  free(e.base_bad);
  ps_free_strv(e.targets);
  h5_close(sf);
  data_close(&d);
  return 0;
}
