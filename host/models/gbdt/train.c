/* train.c: gradient-boosted trees as a kind of the training job
 * (train_job.h's gbdt_kind): the fit (fit.c), the model file, the
 * manifest's parameters, phases and metrics, and the heads' results. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "io/manifest.h"
#include "models/gbdt/fit.h"
#include "models/train_job.h"

static void *fit(const train_opts_t *o, const train_input_t *in, train_hooks_t *hk, int *rc) {
  return gbdt_fit(&o->cm, &o->gb, in, hk, rc);
}

static double valid_loss(const void *p) {
  const gbdt_fit_t *r = p;
  return train_job_valid_loss(r->mdl.k, r->g_va, r->mva);
}

static void write(const void *p, const train_opts_t *to, ps_output_t *out) {
  const gbdt_fit_t *r = p;
  const gbdt_opts_t *o = &to->gb;
  ps_gbdt_report_t rep = {
      .input_path = to->cm.data, .pos_weight = to->cm.pos_weight, .trees = o->trees, .num_leaves = o->num_leaves,
      .max_depth = o->max_depth, .min_data = o->min_data, .max_bin = o->max_bin, .bagging_freq = o->bagging_freq,
      .early_stopping = o->early_stopping, .seed = (int64_t)o->seed, .learning_rate = o->learning_rate,
      .min_hess = o->min_hess, .l2 = o->l2, .min_gain = o->min_gain, .feature_fraction = o->feature_fraction,
      .bagging_fraction = o->bagging_fraction, .n_train = r->g_tr, .n_valid = r->g_va, .n_pos = r->n_pos,
      .pos_ratio = r->ratio, .best_iteration = r->st.best, .trace = (const double *const *)r->st.trace,
      .trace_rows = r->st.trace_rows, .train = r->mtr, .valid = r->g_va > 0 ? r->mva : NULL};
  gbdt_model_write(out, &r->mdl, &rep);
}

/* The categorical splits' options (LightGBM's names), for data with categories. */
static void cat_manifest(const gbdt_opts_t *o) {
  manifest_param_num("cat_smooth", o->cat_smooth);
  manifest_param_num("cat_l2", o->cat_l2);
  manifest_param_num("max_cat_to_onehot", o->max_cat_onehot);
  manifest_param_num("min_data_per_group", (double)o->min_data_per_group);
  manifest_param_num("max_cat_threshold", o->max_cat_threshold);
}

static void manifest(const void *p, const train_opts_t *o) {
  const gbdt_fit_t *r = p;
  train_job_params(o, &gbdt_kind);
  char bits[16] = "exact"; /* the bits used (--grad-bits auto resolved) */
  if (r->grad_bits) snprintf(bits, sizeof bits, "%d", r->grad_bits);
  manifest_param_str("grad_bits", bits);
  if (r->mdl.bins.cat) cat_manifest(&o->gb); /* only with categorical features: as before otherwise */
  manifest_phase("load_bin", r->t_load);
  manifest_phase("fit", r->t_fit);
  manifest_phase("fit_histograms", r->tm.hist);
  manifest_phase("fit_allreduce", r->tm.allreduce);
  manifest_phase("fit_split_search", r->tm.split);
  manifest_phase("fit_partition", r->tm.partition);
  manifest_phase("metrics", r->t_metrics);
  cJSON *mj = manifest_metrics();
  for (int h = 0; mj && h < r->mdl.k; h++) {
    cJSON *jo = cJSON_AddObjectToObject(mj, r->mdl.targets[h]);
    cJSON_AddNumberToObject(jo, "trees", r->mdl.forest[h].ntrees);
    train_job_manifest_metrics(jo, &r->mtr[h], r->g_va > 0 ? &r->mva[h] : NULL);
  }
}

/* The features that matter most to head h, by total split gain. */
static void log_top_features(const gbdt_fit_t *r, int h) {
  int64_t f = r->mdl.f;
  char top[512] = "";
  const double *gain = r->mdl.imp_gain + (size_t)h * (size_t)f;
  uint8_t *shown = ps_calloc((size_t)f, 1);
  for (int q = 0; q < 5; q++) {
    int64_t best = -1;
    for (int64_t j = 0; j < f; j++)
      if (!shown[j] && gain[j] > 0 && (best < 0 || gain[j] > gain[best])) best = j;
    if (best < 0) break;
    shown[best] = 1;
    size_t len = strlen(top);
    snprintf(top + len, sizeof top - len, "%s%s", q ? ", " : "", r->mdl.feature_names[best]);
  }
  free(shown);
  ps_log("train: %-16s top features by gain: %s", r->mdl.targets[h], top[0] ? top : "(none)");
}

static void print(const void *p, const train_opts_t *o, const char *wrote, double t0) {
  (void)o;
  const gbdt_fit_t *r = p;
  ps_log("train: phases: load+bin %.2f s, fit %.2f s (gradients %.2f, histograms %.2f, allreduce %.2f, split "
         "search %.2f, partition %.2f, scores %.2f), metrics %.2f s",
         r->t_load, r->t_fit, r->t_grad, r->tm.hist, r->tm.allreduce, r->tm.split, r->tm.partition, r->t_update,
         r->t_metrics);
  double gb = r->tm.hist_rows * (double)r->hist_cols / 1e9; /* one byte a bin */
  ps_log("train: the histogram passes read %.2f GB of bins on rank 0 (%lld columns a row), %.2f GB/s", gb,
         (long long)r->hist_cols, r->tm.hist > 0 ? gb / r->tm.hist : 0.0);
  for (int h = 0; h < r->mdl.k; h++) {
    const ps_metrics_t *tr = &r->mtr[h], *va = &r->mva[h];
    if (r->g_va > 0)
      ps_out("train: %-16s %3d trees  train AUC %.4f log-loss %.5f | valid AUC %.4f log-loss %.5f", r->mdl.targets[h],
             r->mdl.forest[h].ntrees, tr->auc, tr->logloss, va->auc, va->logloss);
    else
      ps_out("train: %-16s %3d trees  train AUC %.4f log-loss %.5f", r->mdl.targets[h], r->mdl.forest[h].ntrees,
             tr->auc, tr->logloss);
    log_top_features(r, h);
  }
  if (wrote)
    ps_out("train: wrote %s (%d head%s, gradient-boosted trees) in %.2f s", wrote, r->mdl.k, r->mdl.k == 1 ? "" : "s",
           ps_now() - t0);
}

static void free_fit(void *p) { gbdt_fit_free(p); }

static void logits(const void *p, const float *X, int64_t n, double *Z) {
  gbdt_model_logits(&((const gbdt_fit_t *)p)->mdl, X, n, Z);
}

static int64_t trees(const void *p, int h) { return ((const gbdt_fit_t *)p)->mdl.forest[h].ntrees; }

static void add_trees(const void *p, ps_h5_t fid) {
  const gbdt_fit_t *r = p;
  gbdt_model_write_trees(fid, &r->mdl, r->mdl.k);
}

const train_kind_t gbdt_kind = {
    .name = "gbdt",
    .fit = fit,
    .valid_loss = valid_loss,
    .write = write,
    .manifest = manifest,
    .print = print,
    .free = free_fit,
    .logits = logits,
    .trees = trees,
    .add_trees = add_trees,
};
