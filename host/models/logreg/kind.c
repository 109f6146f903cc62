/* kind.c: logistic regression as a kind of the training job (train_job.h's
 * logreg_kind): the fit (train.c), the model file, the manifest's
 * parameters, phases and metrics, and the heads' results. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "io/manifest.h"
#include "models/logreg/train.h"
#include "models/train_job.h"

static void *fit(const train_opts_t *o, const train_input_t *in, train_hooks_t *hk, int *rc) {
  return logreg_fit(&o->cm, &o->lr, in, hk, rc);
}

static double valid_loss(const void *p) {
  const logreg_fit_t *r = p;
  return train_job_valid_loss(r->mdl.k, r->g_va, r->mva);
}

static void write(const void *p, const train_opts_t *o, ps_output_t *out) {
  const logreg_fit_t *r = p;
  ps_train_report_t rep = {.solver = r->newton ? "newton" : "lbfgs", .class_weight = o->cm.pos_weight,
                           .input_path = o->cm.data, .device = r->device, .tol = o->lr.tol, .ftol = o->lr.ftol,
                           .max_iter = o->lr.max_iter, .missing_indicators = o->lr.missing_indicators,
                           .ranks = ps_size, .l2 = r->l2, .pos_weight = r->pw, .n_pos = r->n_pos, .n_train = r->g_tr,
                           .n_valid = r->g_va, .traces = r->traces, .train = r->mtr,
                           .valid = r->g_va > 0 ? r->mva : NULL, .l1 = r->any_l1 ? r->l1 : NULL,
                           .l1_weights = o->lr.l1_weights, .l1_gamma = o->lr.l1_gamma};
  logreg_model_write(out, &r->mdl, &rep);
}

static void manifest(const void *p, const train_opts_t *o) {
  const logreg_fit_t *r = p;
  train_job_params(o, &logreg_kind);
  manifest_param_str("solver", r->newton ? "newton" : "lbfgs");
  manifest_param_str("nonfinite", o->cm.reject_nonfinite ? "reject" : "impute");
  manifest_param_num("host_mem_limit", (double)r->mem_limit);
  manifest_param_str("rows", r->streamed ? "streamed" : "resident");
  manifest_param_num("gpu_mem_limit", (double)r->gpu_limit);
  if (!strcmp(r->device, "cuda")) manifest_param_str("gpu_sums", o->lr.gpu_sums ? "fast" : "exact"); /* CPU: as before */
  if (r->any_l1) manifest_param_str("l1", o->lr.l1); /* only then: the other models' manifests stay as they were */
  if (o->lr.l1_weights) {
    manifest_param_str("l1_weights", o->lr.l1_weights);
    manifest_param_num("l1_gamma", o->lr.l1_gamma);
    manifest_input("l1_weights", o->lr.l1_weights, 0);
  }
  manifest_phase("load_prepare", r->t_load);
  manifest_phase("fit", r->t_fit);
  manifest_phase("metrics", r->t_metrics);
  cJSON *mj = manifest_metrics();
  for (int h = 0; mj && h < r->mdl.k; h++) {
    cJSON *jo = cJSON_AddObjectToObject(mj, r->mdl.targets[h]);
    cJSON_AddNumberToObject(jo, "iterations", r->traces[h].rows - 1);
    cJSON_AddStringToObject(jo, "stop", r->traces[h].stop);
    if (r->any_l1) cJSON_AddNumberToObject(jo, "nonzero_weights", (double)logreg_model_nonzero(&r->mdl, h));
    train_job_manifest_metrics(jo, &r->mtr[h], r->g_va > 0 ? &r->mva[h] : NULL);
  }
}

static void print(const void *p, const train_opts_t *o, const char *wrote, double t0) {
  (void)o;
  const logreg_fit_t *r = p;
  for (int h = 0; h < r->mdl.k; h++) {
    const fit_trace_t *tr = &r->traces[h];
    if (r->any_l1)
      ps_out("train: %-16s l1 %g%s: %lld of %lld weights not 0", r->mdl.targets[h], r->l1[h],
             r->l1w ? " / |w0|^gamma (--l1-weights)" : "", (long long)logreg_model_nonzero(&r->mdl, h),
             (long long)r->mdl.c);
    if (r->g_va > 0)
      ps_out("train: %-16s %3d iterations (%s)  train AUC %.4f log-loss %.5f | valid AUC %.4f log-loss %.5f",
             r->mdl.targets[h], tr->rows - 1, tr->stop, r->mtr[h].auc, r->mtr[h].logloss, r->mva[h].auc,
             r->mva[h].logloss);
    else
      ps_out("train: %-16s %3d iterations (%s)  train AUC %.4f log-loss %.5f", r->mdl.targets[h], tr->rows - 1,
             tr->stop, r->mtr[h].auc, r->mtr[h].logloss);
  }
  if (wrote)
    ps_out("train: wrote %s (%lld columns x %d heads) in %.2f s", wrote, (long long)r->mdl.c, r->mdl.k,
           ps_now() - t0);
}

static void free_fit(void *p) { logreg_fit_free(p); }

static void logits(const void *p, const float *X, int64_t n, double *Z) {
  logreg_model_logits(&((const logreg_fit_t *)p)->mdl, X, n, Z);
}

const train_kind_t logreg_kind = {
    .name = "logreg",
    .fit = fit,
    .valid_loss = valid_loss,
    .write = write,
    .manifest = manifest,
    .print = print,
    .free = free_fit,
    .logits = logits,
};
