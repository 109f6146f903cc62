/* auto.c: --model-type auto -- per head, the best of logreg, gbdt (early
 * stopped) and their blend (the mean of the two logits), by the mean
 * validation log-loss over the folds of auto_cv.c: log-loss because the
 * probabilities themselves are used (offers multiply them by money), and
 * it varies less than the AUC on small folds. Ties keep the simpler
 * candidate. With K >= 2 folds they run once per point of the trees'
 * learning-rate grid (auto_grid.h) and the rate whose winners have the
 * least summed loss is kept, and the choice is refitted on every row at
 * it (gbdt: each head's mean best iteration over the folds times K/(K-1), as
 * LightGBM's cv users do: the refit sees K/(K-1) times the rows); with the
 * single --holdout split the fits on its training rows are the model.
 * One kind for every head: that kind's model file; else a "blend" model
 * file (blend_scorer.c: both kinds' datasets and /blend/logreg_weight).
 * Outputs checked and MODEL.lock taken before any work; each fit has its
 * own checkpoint, removed once the fit is done, so a stop resumes within
 * the fit it stopped and the folds before it are fitted again (the same
 * bits). The choice and every fold's scores are printed and in the
 * manifest. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "comm/comm.h"
#include "core/util.h"
#include "io/manifest.h"
#include "io/output.h"
#include "models/auto_calibrate.h"
#include "models/auto_cv.h"
#include "models/auto_grid.h"
#include "models/train_job.h"

/* One pass over the folds at one grid point: the scores and the choice. */
typedef struct {
  auto_scores_t s;
  int *wins;
  double *mean;
  int64_t *refit_trees;
} auto_round_t;

typedef struct {
  const train_opts_t *o;
  train_opts_t og; /* o at the grid point being fitted (auto_grid.h), then at the chosen one */
  int g, grid;     /* that grid point, the grid's size */
  double grid_loss[AUTO_GRID_MAX]; /* [grid point] the heads' winners' mean fold log-loss, summed */
  train_input_t in;
  char *base; /* checkpoints: BASE.f<j>.<kind> (folds), BASE.<kind> (single split, refit) */
  auto_scores_t s;
  int *wins;             /* [head] AUTO_* */
  double *mean;          /* [head][candidate] mean fold log-loss */
  int64_t *refit_trees;  /* [head] */
  void *fit[2];          /* the model's fits */
} auto_job_t;

static char *ckpt_name(const char *base, int folds, int g, int j, int c) {
  if (folds < 2 || j < 0) return ps_sprintf("%s.%s", base, AUTO_KINDS[c]->name);
  if (g > 0) return ps_sprintf("%s.g%d.f%d.%s", base, g, j, AUTO_KINDS[c]->name);
  return ps_sprintf("%s.f%d.%s", base, j, AUTO_KINDS[c]->name);
}

/* Every output (model, manifest, each fit's checkpoint) checked before any work. */
static void check_outputs(const train_opts_t *o, const char *base) {
  int kmax = o->cv_folds ? o->cv_folds : AUTO_DEFAULT_FOLDS, n = 0, G = AUTO_GRID_MAX;
  ps_path_t in_paths[] = {{.role = "--data", .path = o->cm.data}};
  ps_path_t *outs = ps_calloc((size_t)(2 * G * kmax + 4), sizeof(ps_path_t));
  char **names = ps_calloc((size_t)(2 * G * kmax + 4), sizeof(char *));
  outs[n++] = (ps_path_t){.role = "--model", .path = o->cm.model};
  names[0] = ps_sprintf("%s.manifest.json", o->cm.model);
  outs[n++] = (ps_path_t){.role = "the manifest", .path = names[0]};
  for (int g = 0; g < G; g++)
    for (int j = g > 0 ? 0 : -1; j < (kmax >= 2 ? kmax : 0); j++)
      for (int c = 0; c < 2; c++) {
        names[n - 1] = ckpt_name(base, kmax, g, j, c);
        outs[n] = (ps_path_t){.role = "--checkpoint", .path = names[n - 1]};
        n++;
      }
  out_check_paths(in_paths, 1, outs, n);
  for (int i = 0; i < n - 1; i++) free(names[i]);
  free(names);
  free(outs);
}

/* Fits kind c on in (its mask) with checkpoint ckpt, removed once done;
 * NULL when stopped or failed (*rc; the manifest finished). */
static void *fit_kind(const train_opts_t *o, int c, const train_input_t *in, const char *ckpt, const char *extra,
                      int *rc) {
  char *fp = train_job_fingerprint(o, AUTO_KINDS[c], in, extra);
  train_hooks_t hk = {.ckpt = ckpt, .fp = fp, .every = o->cm.checkpoint_every};
  void *fit = train_job_fit(AUTO_KINDS[c], o, in, &hk, rc);
  free(fp);
  if (fit && ps_rank == 0) unlink(ckpt);
  return fit;
}

/* Fold j: both kinds fitted on its mask and scored; kept (single split) or freed. */
static int run_fold(auto_job_t *a, int j) {
  int K = a->s.folds, rc = 0;
  train_input_t in = a->in;
  uint8_t *mask = auto_cv_fold_mask(a->o, &a->in, K, j);
  in.keep = mask;
  char *extra = ps_sprintf("auto fold %d of %d", j, K);
  void *fit[2] = {NULL, NULL};
  for (int c = 0; c < 2 && rc == 0; c++) {
    char *ck = ckpt_name(a->base, K, a->g, j, c);
    ps_log("train: --model-type auto: fold %d of %d: the %s candidate%s", j + 1, K, AUTO_KINDS[c]->name,
           a->grid > 1 && c == AUTO_GBDT ? (a->g ? " (half learning rate)" : " (learning rate as given)") : "");
    fit[c] = fit_kind(&a->og, c, &in, ck, K >= 2 ? extra : NULL, &rc);
    free(ck);
  }
  if (rc == 0) auto_cv_score_fold(&a->in, mask, fit, j, &a->s);
  for (int c = 0; c < 2; c++) {
    if (K == 1 && rc == 0) a->fit[c] = fit[c];
    else if (fit[c]) AUTO_KINDS[c]->free(fit[c]);
  }
  free(extra);
  free(mask);
  return rc;
}

/* Per head: the candidate of least mean fold log-loss, and gbdt's refit trees. */
static void choose(auto_job_t *a) {
  int K = a->s.folds, k = a->in.k;
  for (int h = 0; h < k; h++) {
    double *mean = a->mean + (size_t)h * AUTO_NCAND, trees = 0;
    for (int c = 0; c < AUTO_NCAND; c++) {
      mean[c] = 0;
      for (int j = 0; j < K; j++) mean[c] += a->s.loss[((size_t)j * (size_t)k + (size_t)h) * AUTO_NCAND + (size_t)c];
      mean[c] /= K;
    }
    for (int j = 0; j < K; j++) trees += (double)a->s.trees[(size_t)j * (size_t)k + (size_t)h];
    trees /= K;
    if (K >= 2) trees *= (double)K / (K - 1);
    a->refit_trees[h] = (int64_t)floor(trees + 0.5) > 1 ? (int64_t)floor(trees + 0.5) : 1;
    int w = 0;
    for (int c = 1; c < AUTO_NCAND; c++)
      if (mean[c] < mean[w]) w = c; /* NaN never wins; ties keep the simpler */
    a->wins[h] = w;
  }
}

/* Which kinds the model needs: bit c set for kind c. */
static int needed(const auto_job_t *a) {
  int need = 0;
  for (int h = 0; h < a->in.k; h++) need |= a->wins[h] == AUTO_BLEND ? 3 : 1 << a->wins[h];
  return need;
}

/* K >= 2: the needed kinds fitted on every row (no validation split). */
static int refit(auto_job_t *a) {
  train_opts_t o = a->og;
  o.cm.holdout = 0;
  o.gb.head_trees = a->refit_trees;
  o.gb.trees = 1;
  char extra[64 * 24] = "auto refit, trees";
  for (int h = 0; h < a->in.k; h++) {
    if (a->refit_trees[h] > o.gb.trees) o.gb.trees = (int)a->refit_trees[h];
    size_t len = strlen(extra);
    if (len + 24 < sizeof extra) snprintf(extra + len, sizeof extra - len, " %lld", (long long)a->refit_trees[h]);
  }
  int rc = 0, need = needed(a);
  for (int c = 0; c < 2 && rc == 0; c++) {
    if (!(need >> c & 1)) continue;
    char *ck = ckpt_name(a->base, 1, 0, -1, c);
    ps_log("train: --model-type auto: refitting %s on every row", AUTO_KINDS[c]->name);
    a->fit[c] = fit_kind(&o, c, &a->in, ck, extra, &rc);
    free(ck);
  }
  return rc;
}

/* The blend's parts beside the logreg model in fid: the trees and the weights. */
static void add_blend(const auto_job_t *a, ps_h5_t fid) {
  int k = a->in.k;
  h5_attr_str(fid, "model_type", "blend");
  AUTO_KINDS[AUTO_GBDT]->add_trees(a->fit[AUTO_GBDT], fid);
  double *w = ps_malloc(sizeof(double) * (size_t)k);
  for (int h = 0; h < k; h++) w[h] = a->wins[h] == AUTO_BLEND ? AUTO_BLEND_WEIGHT : a->wins[h] == AUTO_LOGREG;
  ps_h5_t g = h5_group_create(fid, "/blend");
  int64_t dk[1] = {k};
  h5_write_small(g, "logreg_weight", PS_F64, 1, dk, w);
  h5_close(g);
  free(w);
}

/* Each head's /metrics/<target> valid_loss and valid_auc: its chosen
 * candidate's means over the folds (what gate compares), with the choice. */
static void add_cv_metrics(const auto_job_t *a, ps_h5_t fid, const char *path) {
  int K = a->s.folds, k = a->in.k;
  for (int h = 0; h < k; h++) {
    int c = a->wins[h];
    double auc = 0;
    for (int j = 0; j < K; j++) auc += a->s.auc[((size_t)j * (size_t)k + (size_t)h) * AUTO_NCAND + (size_t)c];
    char *name = ps_sprintf("/metrics/%s", a->in.targets[h]);
    ps_h5_t g = h5_group_open(fid, path, name);
    h5_attr_f64(g, "valid_loss", a->mean[(size_t)h * AUTO_NCAND + (size_t)c]);
    h5_attr_f64(g, "valid_auc", auc / K);
    h5_attr_str(g, "auto_chosen", AUTO_CAND_NAMES[c]);
    h5_attr_i64(g, "auto_cv_folds", K);
    h5_close(g);
    free(name);
  }
}

/* The model through out: one kind's file, or both kinds' in a blend file. */
static const char *write_model(const auto_job_t *a, ps_output_t *out) {
  int need = needed(a);
  out_create(out);
  const char *type = need == 3 ? "blend" : AUTO_KINDS[need >> 1]->name;
  int first = need == 2 ? AUTO_GBDT : AUTO_LOGREG;
  if (ps_rank == 0) AUTO_KINDS[first]->write(a->fit[first], &a->og, out);
  comm_barrier(); /* every rank: the file reopened collectively, as train_job_calibrate does */
  ps_h5_t fid = h5_open_rw(out_tmp(out));
  if (need == 3) add_blend(a, fid);
  add_cv_metrics(a, fid, out_tmp(out));
  h5_close(fid);
  comm_barrier();
  auto_calibrate(a->o, out, &a->in, a->s.oof, a->wins); /* K >= 2: on the out-of-fold scores */
  out_commit(out);
  return type;
}

/* The trees' learning rate kept, and each grid point's summed loss (auto_grid.h). */
static void report_grid(const auto_job_t *a, cJSON *ja) {
  double lr[AUTO_GRID_MAX];
  char line[256] = "";
  for (int g = 0; g < a->grid; g++) {
    lr[g] = auto_grid_opts(a->o, g).gb.learning_rate;
    size_t len = strlen(line);
    snprintf(line + len, sizeof line - len, "%s %g: %.6f", g ? "," : "", lr[g], a->grid_loss[g]);
  }
  if (a->grid > 1)
    ps_out("train: auto's gbdt learning rate by the winners' validation log-loss (sum over heads)%s: kept %g", line,
           a->og.gb.learning_rate);
  if (!ja) return;
  cJSON_AddNumberToObject(ja, "learning_rate", a->og.gb.learning_rate);
  cJSON_AddItemToObject(ja, "grid_learning_rates", cJSON_CreateDoubleArray(lr, a->grid));
  cJSON_AddItemToObject(ja, "grid_log_loss", cJSON_CreateDoubleArray(a->grid_loss, a->grid));
}

/* Each head's choice and fold scores: printed, and in the manifest's metrics. */
static void report(const auto_job_t *a, const char *type) {
  int K = a->s.folds, k = a->in.k;
  double sum[AUTO_NCAND] = {0, 0, 0};
  cJSON *mj = manifest_metrics(), *ja = mj ? cJSON_AddObjectToObject(mj, "auto") : NULL;
  if (ja) cJSON_AddNumberToObject(ja, "folds", K);
  if (ja) cJSON_AddItemToObject(ja, "fold_rows", cJSON_CreateDoubleArray(a->s.rows, K));
  cJSON *heads = ja ? cJSON_AddObjectToObject(ja, "heads") : NULL;
  for (int h = 0; h < k; h++) {
    const double *mean = a->mean + (size_t)h * AUTO_NCAND;
    cJSON *jh = heads ? cJSON_AddObjectToObject(heads, a->in.targets[h]) : NULL;
    if (jh) cJSON_AddStringToObject(jh, "chosen", AUTO_CAND_NAMES[a->wins[h]]);
    if (jh && K >= 2) cJSON_AddNumberToObject(jh, "refit_trees", (double)a->refit_trees[h]);
    for (int c = 0; c < AUTO_NCAND; c++) {
      double loss[64], auc[64];
      char line[1024] = "";
      for (int j = 0; j < K; j++) {
        size_t at = ((size_t)j * (size_t)k + (size_t)h) * AUTO_NCAND + (size_t)c;
        loss[j] = a->s.loss[at];
        auc[j] = a->s.auc[at];
        size_t len = strlen(line);
        snprintf(line + len, sizeof line - len, " %.4f", auc[j]);
      }
      sum[c] += mean[c];
      ps_out("train: %-16s %-6s mean valid log-loss %.6f  fold AUC%s%s", a->in.targets[h], AUTO_CAND_NAMES[c],
             mean[c], line, a->wins[h] == c ? "  <- chosen" : "");
      if (!jh) continue;
      cJSON *jc = cJSON_AddObjectToObject(jh, AUTO_CAND_NAMES[c]);
      cJSON_AddNumberToObject(jc, "mean_valid_log_loss", mean[c]);
      cJSON_AddItemToObject(jc, "fold_log_loss", cJSON_CreateDoubleArray(loss, K));
      cJSON_AddItemToObject(jc, "fold_auc", cJSON_CreateDoubleArray(auc, K));
    }
  }
  report_grid(a, ja);
  ps_out("train: --model-type auto: validation log-loss (sum over heads, mean of %d fold%s) logreg %.6f, gbdt %.6f, "
         "blend %.6f: kept %s in %s", K, K == 1 ? "" : "s", sum[0], sum[1], sum[2], type, a->o->cm.model);
  manifest_input("data", a->o->cm.data, 0);
  manifest_output("model", a->o->cm.model);
  manifest_param_str("model_type", "auto");
  manifest_param_str("chosen", type);
  manifest_param_num("cv_folds", K);
  for (int c = 0; mj && c < AUTO_NCAND; c++) {
    char *name = ps_sprintf("%s_valid_log_loss_sum", AUTO_CAND_NAMES[c]);
    cJSON_AddNumberToObject(mj, name, sum[c]);
    free(name);
  }
}

static auto_round_t new_round(int K, int k) {
  auto_round_t r = {.s = {.folds = K, .k = k}};
  r.s.loss = ps_calloc((size_t)(K * k * AUTO_NCAND), sizeof(double));
  r.s.auc = ps_calloc((size_t)(K * k * AUTO_NCAND), sizeof(double));
  r.s.trees = ps_calloc((size_t)(K * k), sizeof(int64_t));
  r.s.rows = ps_calloc((size_t)K, sizeof(double));
  r.wins = ps_calloc((size_t)k, sizeof(int));
  r.mean = ps_calloc((size_t)(k * AUTO_NCAND), sizeof(double));
  r.refit_trees = ps_calloc((size_t)k, sizeof(int64_t));
  return r;
}

static void free_round(auto_round_t *r) {
  free(r->s.loss);
  free(r->s.auc);
  free(r->s.trees);
  free(r->s.rows);
  free(r->s.oof);
  free(r->wins);
  free(r->mean);
  free(r->refit_trees);
  *r = (auto_round_t){.s = {.folds = r->s.folds, .k = r->s.k}};
}

/* The job's round moved out (the job's fields emptied) or in. */
static auto_round_t take_round(auto_job_t *a) {
  auto_round_t r = {.s = a->s, .wins = a->wins, .mean = a->mean, .refit_trees = a->refit_trees};
  a->s = (auto_scores_t){.folds = r.s.folds, .k = r.s.k};
  a->wins = NULL;
  a->mean = NULL;
  a->refit_trees = NULL;
  return r;
}

static void put_round(auto_job_t *a, auto_round_t r) {
  a->s = r.s;
  a->wins = r.wins;
  a->mean = r.mean;
  a->refit_trees = r.refit_trees;
}

/* Grid point g: the folds and the choice; its summed loss in a->grid_loss[g]. */
static int run_round(auto_job_t *a, int g) {
  int rc = 0, K = a->s.folds, k = a->in.k;
  a->g = g;
  a->og = auto_grid_opts(a->o, g);
  put_round(a, new_round(K, k));
  a->s.oof = auto_calib_alloc(a->o, &a->in, K, AUTO_NCAND); /* --calibrate: this point's out-of-fold logits */
  for (int j = 0; j < K && rc == 0; j++) rc = run_fold(a, j);
  if (rc) return rc;
  choose(a);
  a->grid_loss[g] = 0;
  for (int h = 0; h < k; h++) a->grid_loss[g] += a->mean[(size_t)h * AUTO_NCAND + (size_t)a->wins[h]];
  return 0;
}

/* The grid's rounds, the choice, the refit: 0, or the status of a stopped or failed fit. */
static int run_all(auto_job_t *a) {
  int rc = 0, K = a->s.folds, best = 0;
  if (K == 1 && !(a->o->cm.holdout > 0))
    ps_die_all(PS_EXIT_USAGE, "--model-type auto with --cv-folds 1 decides on the validation split: give --holdout > 0");
  ps_log("train: --model-type auto: %s", K == 1 ? "choosing on the --holdout split" : "choosing by cross-validation");
  auto_round_t kept = {.s = {.folds = K, .k = a->in.k}};
  for (int g = 0; g < a->grid && rc == 0; g++) {
    rc = run_round(a, g);
    if (rc) break;
    auto_round_t r = take_round(a);
    if (g == 0 || a->grid_loss[g] < a->grid_loss[best]) { /* NaN never wins; ties keep the larger rate */
      free_round(&kept);
      kept = r;
      best = g;
    } else {
      free_round(&r);
    }
  }
  if (rc) {
    free_round(&kept);
    return rc;
  }
  put_round(a, kept);
  a->g = best;
  a->og = auto_grid_opts(a->o, best);
  return K >= 2 ? refit(a) : 0;
}

static void job_free(auto_job_t *a) {
  for (int c = 0; c < 2; c++)
    if (a->fit[c]) AUTO_KINDS[c]->free(a->fit[c]);
  auto_round_t r = take_round(a);
  free_round(&r);
  free(a->base);
  ps_free_strv(a->in.targets);
}

int auto_train(const train_opts_t *o) {
  const train_common_t *cm = &o->cm;
  auto_job_t a = {.o = o, .base = cm->checkpoint ? ps_strdup(cm->checkpoint) : ps_sprintf("%s.ckpt", cm->model)};
  check_outputs(o, a.base);
  manifest_set_output(cm->model);
  ps_output_t *out = out_lock(cm->model, 1); /* MODEL.lock: one job at a time on a model */
  ps_data_t d;
  a.in.d = &d;
  a.in.targets = train_job_targets(cm, &d, &a.in.k);
  int K = auto_cv_folds(o, &a.in);
  a.s = (auto_scores_t){.folds = K, .k = a.in.k};
  a.grid = auto_grid_size(K);
  int rc = run_all(&a);
  if (rc == 0) {
    const char *type = write_model(&a, out);
    report(&a, type);
    manifest_finish(0, NULL);
  } else {
    out_abort(out);
  }
  job_free(&a);
  data_close(&d);
  return rc;
}
