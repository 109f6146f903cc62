/* train.c: training multi-head logistic regression end to end (train.h's
 * logreg_train): inputs checked, rows loaded and prepared (trainset.c),
 * every head fitted in the same passes (fit.c) with checkpoints
 * (checkpoint.c), metrics on both splits, the model file and the manifest. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "comm/comm.h"
#include "core/fingerprint.h"
#include "core/parse.h"
#include "core/util.h"
#include "io/data.h"
#include "io/manifest.h"
#include "models/logreg/backend.h"
#include "models/logreg/checkpoint.h"
#include "models/logreg/fit.h"
#include "models/logreg/model.h"
#include "models/logreg/trainset.h"
#include "models/train.h"
#include "models/train_job.h"
#include "stats/metrics.h"

#define NEWTON_AUTO_MAX 32 /* --solver auto: Newton up to this many model columns */
#define NEWTON_MAX 4096    /* beyond this the Hessian (c^2 per head) is refused */

typedef struct {
  ps_backend_t *b;
  ps_trainset_t *ts;
  const double *w_pos, *w_neg;
  int dev_resident;
  double *loss, *grad, *hess; /* one grid block's sums (exact passes) */
} train_ctx_t;

/* Exact passes (the CPU backend): the training rows X, Y of grid blocks
 * [g0, g1) (ts->grid_ntr rows each), each grid block summed alone by the
 * backend and its sums added exactly (fit.h). A grid block's rows are the
 * same on every rank count, and so are its sums: the total does not depend
 * on where the ranks' rows begin and end. */
static void add_grid_blocks(train_ctx_t *t, const uint8_t *hmask, const float *X,
                            const uint8_t *Y, int64_t g0, int64_t g1, int64_t *acc) {
  ps_trainset_t *ts = t->ts;
  int64_t c = ts->c;
  int k = ts->k;
  for (int64_t g = g0; g < g1 && g < ts->n_grid; g++) {
    int64_t m = ts->grid_ntr[g];
    if (m == 0) continue;
    t->b->eval_block(t->b, X, Y, m, t->loss, t->grad, hmask ? t->hess : NULL);
    fit_sums_add(acc, c, k, hmask, t->loss, t->grad, hmask ? t->hess : NULL);
    X += (size_t)m * (size_t)c;
    Y += (size_t)m * (size_t)k;
  }
}

/* eval_begin .. eval_end around grid blocks (the sums of eval_end are not used). */
static void exact_begin(train_ctx_t *t, const double *theta, const uint8_t *hmask) {
  int64_t c1 = t->ts->c + 1;
  if (hmask && !t->hess) t->hess = ps_malloc(sizeof(double) * (size_t)t->ts->k * (size_t)(c1 * c1));
  t->b->eval_begin(t->b, theta, t->ts->c, t->ts->k, t->w_pos, t->w_neg, hmask);
}

static void exact_end(train_ctx_t *t, const uint8_t *hmask) {
  t->b->eval_end(t->b, t->loss, t->grad, hmask ? t->hess : NULL);
}

static void pass_exact_resident(void *ctx, const double *theta, const uint8_t *hmask, int64_t *acc) {
  train_ctx_t *t = ctx;
  exact_begin(t, theta, hmask);
  add_grid_blocks(t, hmask, t->ts->Xtr, t->ts->Ytr, 0, t->ts->n_grid, acc);
  exact_end(t, hmask);
}

static void pass_exact_streamed(void *ctx, const double *theta, const uint8_t *hmask, int64_t *acc) {
  train_ctx_t *t = ctx;
  const float *Xtr, *Xva;
  const uint8_t *Ytr, *Yva;
  int64_t ntr, nva;
  exact_begin(t, theta, hmask);
  trainset_rewind(t->ts);
  while (trainset_next(t->ts, &Xtr, &Ytr, &ntr, &Xva, &Yva, &nva))
    add_grid_blocks(t, hmask, Xtr, Ytr, t->ts->blk_g0, t->ts->blk_g1, acc);
  exact_end(t, hmask);
}

/* One pass over resident rows (on the device or in host memory). */
static void pass_resident(void *ctx, const double *theta, double *loss, double *grad, double *hess,
                          const uint8_t *hmask) {
  train_ctx_t *t = ctx;
  t->b->eval(t->b, theta, loss, grad, hess, hmask);
}

/* Rows that stream from the file: every pass reads them again. */
static void pass_streamed(void *ctx, const double *theta, double *loss, double *grad, double *hess,
                          const uint8_t *hmask) {
  train_ctx_t *t = ctx;
  const float *Xtr, *Xva;
  const uint8_t *Ytr, *Yva;
  int64_t ntr, nva;
  t->b->eval_begin(t->b, theta, t->ts->c, t->ts->k, t->w_pos, t->w_neg, hess ? hmask : NULL);
  trainset_rewind(t->ts);
  while (trainset_next(t->ts, &Xtr, &Ytr, &ntr, &Xva, &Yva, &nva)) t->b->eval_rows(t->b, Xtr, Ytr, ntr);
  t->b->eval_end(t->b, loss, grad, hess);
}

/* Host-resident rows that do not fit the GPU: blocks of them every pass. */
static void pass_host_blocks(void *ctx, const double *theta, double *loss, double *grad, double *hess,
                             const uint8_t *hmask) {
  train_ctx_t *t = ctx;
  ps_trainset_t *ts = t->ts;
  const int64_t br = (int64_t)1 << 20;
  t->b->eval_begin(t->b, theta, ts->c, ts->k, t->w_pos, t->w_neg, hess ? hmask : NULL);
  for (int64_t i = 0; i < ts->n_tr; i += br)
    t->b->eval_rows(t->b, ts->Xtr + (size_t)i * (size_t)ts->c, ts->Ytr + (size_t)i * (size_t)ts->k,
                    ts->n_tr - i < br ? ts->n_tr - i : br);
  t->b->eval_end(t->b, loss, grad, hess);
}

/* Probabilities of every training and validation row (head-major). */
static void predict_splits(train_ctx_t *t, const double *theta, float *Ptr, float *Pva) {
  ps_trainset_t *ts = t->ts;
  int k = ts->k;
  if (!ts->streamed) {
    if (t->dev_resident) t->b->predict_train(t->b, theta, Ptr); /* the rows already there */
    else t->b->predict_std(t->b, theta, k, ts->Xtr, ts->n_tr, ts->c, Ptr);
    t->b->predict_std(t->b, theta, k, ts->Xva, ts->n_va, ts->c, Pva);
    return;
  }
  const float *Xtr, *Xva;
  const uint8_t *Ytr, *Yva;
  int64_t ntr, nva, otr = 0, ova = 0;
  float *tmp = ps_malloc(sizeof(float) * (size_t)k * (size_t)ts->block_rows);
  trainset_rewind(ts);
  while (trainset_next(ts, &Xtr, &Ytr, &ntr, &Xva, &Yva, &nva)) {
    t->b->predict_std(t->b, theta, k, Xtr, ntr, ts->c, tmp);
    for (int h = 0; h < k; h++)
      memcpy(Ptr + (size_t)h * (size_t)ts->n_tr + (size_t)otr, tmp + (size_t)h * (size_t)ntr,
             sizeof(float) * (size_t)ntr);
    t->b->predict_std(t->b, theta, k, Xva, nva, ts->c, tmp);
    for (int h = 0; h < k; h++)
      memcpy(Pva + (size_t)h * (size_t)ts->n_va + (size_t)ova, tmp + (size_t)h * (size_t)nva,
             sizeof(float) * (size_t)nva);
    otr += ntr;
    ova += nva;
  }
  free(tmp);
}

int logreg_train(const train_common_t *cm, const logreg_opts_t *o) {
  static const char *const solvers[] = {"auto", "lbfgs", "newton", NULL};
  int solver = ps_parse_choice("--solver", o->solver, solvers);
  char *ckpt, *manifest;
  train_job_outputs(cm, &ckpt, &manifest);
  ps_backend_t *b = logreg_backend_create(cm->device, o->x_dtype);
  manifest_device(b->name);
  double t0 = ps_now();

  ps_data_t d;
  int k;
  char **targets = train_job_targets(cm, &d, &k);
  double *l2 = ps_malloc(sizeof(double) * (size_t)k), *pw = ps_malloc(sizeof(double) * (size_t)k);
  int *bal = ps_calloc((size_t)k, sizeof(int));
  ps_parse_per_target("--l2", o->l2, k, l2, NULL, 0.0, 1e6);
  ps_parse_per_target("--pos-weight", o->pos_weight, k, pw, bal, 1e-6, 1e6); /* checked before any work */

  ps_trainset_t ts;
  double t_load = ps_now();
  int64_t mem_limit = train_job_mem_limit(cm);
  if (mem_limit <= 0) mem_limit = (int64_t)4 << 30;
  trainset_load(&d, targets, k, cm->holdout, cm->split_salt, o->missing_indicators, cm->reject_nonfinite, mem_limit,
                &ts);
  t_load = ps_now() - t_load;
  int64_t cols = ts.c, c1 = cols + 1;
  int newton = solver == 2 || (solver == 0 && cols <= NEWTON_AUTO_MAX);
  if (newton && cols > NEWTON_MAX)
    ps_die_all(PS_EXIT_USAGE, "--solver newton: %lld columns need a %lld x %lld Hessian per head; above %d use lbfgs",
               (long long)cols, (long long)c1, (long long)c1, NEWTON_MAX);

  /* Class weights and the start point: bias at the weighted base rate. */
  double *w_pos = ps_malloc(sizeof(double) * (size_t)k), *w_neg = ps_malloc(sizeof(double) * (size_t)k);
  double *wsum = ps_malloc(sizeof(double) * (size_t)k);
  double *theta = ps_calloc((size_t)(k * c1), sizeof(double));
  labels_class_weights(&ts.lab, o->pos_weight, w_pos, w_neg, pw);
  for (int h = 0; h < k; h++) {
    double np = ts.n_pos[h], nn = ts.g_tr - np;
    wsum[h] = w_pos[h] * np + w_neg[h] * nn;
    theta[h * c1 + cols] = log(w_pos[h] * np / (w_neg[h] * nn));
    ps_log("train: head %-16s %.0f positives of %.0f training rows (%.3f%%), positive weight %g", targets[h], np,
           ts.g_tr, 100.0 * np / ts.g_tr, pw[h]);
  }
  ps_log("train: %lld model columns (%lld input%s), %.0f train + %.0f validation rows, %d rank%s, solver %s, "
         "device %s",
         (long long)cols, (long long)ts.f, o->missing_indicators ? " + missing indicators" : "", ts.g_tr, ts.g_va,
         ps_size, ps_size == 1 ? "" : "s", newton ? "newton" : "lbfgs", b->name);

  train_ctx_t tc = {b, &ts, w_pos, w_neg, 0, NULL, NULL, NULL};
  tc.loss = ps_malloc(sizeof(double) * (size_t)k);
  tc.grad = ps_malloc(sizeof(double) * (size_t)k * (size_t)c1);
  /* rows on the device if they fit there (the same decision on every rank) */
  int64_t gpu_limit = cm->gpu_mem_limit ? cm->gpu_mem_limit : b->device_memory;
  double dev_need = (double)ts.n_tr * (double)cols * (!strcmp(o->x_dtype, "bf16") ? 2.0 : 4.0);
  comm_allreduce_max_f64(&dev_need, 1);
  tc.dev_resident = !ts.streamed && (b->device_memory == 0 || dev_need <= (double)gpu_limit);
  if (tc.dev_resident) b->set_train(b, ts.Xtr, ts.Ytr, ts.n_tr, cols, k, w_pos, w_neg);
  fit_pass_t pass = {ts.streamed ? pass_streamed : tc.dev_resident ? pass_resident : pass_host_blocks, &tc, NULL};
  /* the CPU backend sums grid block by grid block: the same model for any rank count */
  if (b->eval_block && !(getenv("PS_NOEXACT") && *getenv("PS_NOEXACT"))) pass.fn_exact = ts.streamed ? pass_exact_streamed : pass_exact_resident;
  if (!ts.streamed && !tc.dev_resident)
    ps_log("train: rows exceed --gpu-mem-limit %.0f MiB: they go up to the GPU in blocks every pass",
           (double)gpu_limit / 1048576.0);
  fit_opts_t fo = {newton ? PS_OPT_NEWTON : PS_OPT_LBFGS, o->lbfgs_m, o->max_iter, o->tol, o->ftol, l2, wsum,
                   ts.cols.dead, targets};
  fit_trace_t *traces = ps_calloc((size_t)k, sizeof(fit_trace_t));
  /* What this run is: a checkpoint of any other run is refused on resume. */
  ps_fp_t fp;
  fp_init(&fp);
  fp_str(&fp, "model_type", "logreg");
  fp_file(&fp, "data", cm->data);
  fp_int(&fp, "ranks", ps_size);
  fp_str(&fp, "device", b->name);
  fp_str(&fp, "x_dtype", o->x_dtype);
  fp_str(&fp, "solver", newton ? "newton" : "lbfgs");
  for (int h = 0; h < k; h++) fp_str(&fp, "target", targets[h]);
  fp_str(&fp, "l2", o->l2);
  fp_str(&fp, "pos_weight", o->pos_weight);
  fp_num(&fp, "holdout", cm->holdout);
  fp_int(&fp, "salt", cm->split_salt);
  fp_num(&fp, "tol", o->tol);
  fp_num(&fp, "ftol", o->ftol);
  fp_int(&fp, "m", o->lbfgs_m);
  fp_int(&fp, "max_iter", o->max_iter);
  fp_int(&fp, "missing", o->missing_indicators);
  fp_int(&fp, "reject_nonfinite", cm->reject_nonfinite);
  ckpt_ctx_t cc = {ckpt, fp.s};
  fit_ckpt_t ck = {ckpt_save, ckpt_load, &cc, cm->checkpoint_every, ckpt};
  double t_fit = ps_now();
  int rc = fit_heads(pass, cols, k, &fo, theta, traces, &ck);
  t_fit = ps_now() - t_fit;
  if (rc == PS_EXIT_STOPPED) {
    train_job_stopped(comm_agree_stop(), ckpt, t_fit);
  } else {
    double t_metrics = ps_now();
    /* Metrics on both splits (unweighted log-loss, as scikit-learn's log_loss). */
    ps_metrics_t *mtr = ps_calloc((size_t)k, sizeof(ps_metrics_t)), *mva = ps_calloc((size_t)k, sizeof(ps_metrics_t));
    /* The predictions, then the metrics' keys in their place; in the
     * resident matrix's unused tail when it has room (memory already
     * touched: fresh pages can cost more than this whole phase). */
    size_t ntr = (size_t)k * (size_t)(ts.n_tr + 1), nva = (size_t)k * (size_t)(ts.n_va + 1);
    int spare = ts.spare_floats >= ntr + nva;
    float *Ptr = spare ? ts.spare : ps_malloc(sizeof(float) * ntr);
    float *Pva = spare ? ts.spare + ntr : ps_malloc(sizeof(float) * nva);
    if (spare) metrics_lend(ts.spare + ntr + nva, sizeof(float) * (ts.spare_floats - ntr - nva));
    predict_splits(&tc, theta, Ptr, Pva);
    for (int h = 0; h < k; h++) {
      uint8_t *y = labels_head(ts.Ytr, ts.n_tr, k, h);
      metrics_compute_in(Ptr + (size_t)h * (size_t)ts.n_tr, y, NULL, ts.n_tr, &mtr[h]);
      free(y);
      if (ts.g_va > 0) {
        y = labels_head(ts.Yva, ts.n_va, k, h);
        metrics_compute_in(Pva + (size_t)h * (size_t)ts.n_va, y, NULL, ts.n_va, &mva[h]);
        free(y);
      }
    }
    metrics_release();
    if (!spare) {
      free(Ptr);
      free(Pva);
    }
    t_metrics = ps_now() - t_metrics;
    ps_log("train: phases: load+prepare %.2f s, fit %.2f s, metrics %.2f s", t_load, t_fit, t_metrics);

    ps_model_t mdl = {ts.f,        cols,          k,
                      d.feature_names, targets,   ts.cols.src,
                      ts.cols.kind, ts.cols.mean, ts.cols.scale,
                      theta,       cm->holdout,   cm->split_salt};
    ps_train_report_t rep = {newton ? "newton" : "lbfgs", o->pos_weight, cm->data, b->name, o->tol, o->ftol,
                             o->max_iter, o->missing_indicators, ps_size, l2, pw, ts.n_pos, ts.g_tr, ts.g_va,
                             traces, mtr, ts.g_va > 0 ? mva : NULL};
    if (ps_rank == 0) {
      logreg_model_write(cm->model, &mdl, &rep);
      unlink(ckpt); /* the model is complete: the checkpoint has served */
    }
    comm_barrier();

    manifest_input("data", cm->data, 0);
    manifest_output("model", cm->model);
    manifest_param_str("model_type", "logreg");
    manifest_param_str("solver", newton ? "newton" : "lbfgs");
    manifest_param_str("l2", o->l2);
    manifest_param_str("pos_weight", o->pos_weight);
    manifest_param_num("holdout", cm->holdout);
    manifest_param_num("split_salt", (double)cm->split_salt);
    manifest_param_num("tol", o->tol);
    manifest_param_num("ftol", o->ftol);
    manifest_param_num("max_iter", o->max_iter);
    manifest_param_num("missing_indicators", o->missing_indicators);
    manifest_param_str("nonfinite", cm->reject_nonfinite ? "reject" : "impute");
    manifest_param_num("host_mem_limit", (double)mem_limit);
    manifest_param_str("rows", ts.streamed ? "streamed" : "resident");
    manifest_param_num("gpu_mem_limit", (double)gpu_limit);
    manifest_phase("load_prepare", t_load);
    manifest_phase("fit", t_fit);
    manifest_phase("metrics", t_metrics);
    cJSON *mj = manifest_metrics();
    for (int h = 0; mj && h < k; h++) {
      cJSON *jo = cJSON_AddObjectToObject(mj, targets[h]);
      cJSON_AddNumberToObject(jo, "iterations", traces[h].rows - 1);
      cJSON_AddStringToObject(jo, "stop", traces[h].stop);
      train_job_manifest_metrics(jo, &mtr[h], ts.g_va > 0 ? &mva[h] : NULL);
    }
    for (int h = 0; h < k; h++) {
      if (ts.g_va > 0)
        ps_out("train: %-16s %3d iterations (%s)  train AUC %.4f log-loss %.5f | valid AUC %.4f log-loss %.5f",
               targets[h], traces[h].rows - 1, traces[h].stop, mtr[h].auc, mtr[h].logloss, mva[h].auc, mva[h].logloss);
      else
        ps_out("train: %-16s %3d iterations (%s)  train AUC %.4f log-loss %.5f", targets[h], traces[h].rows - 1,
               traces[h].stop, mtr[h].auc, mtr[h].logloss);
    }
    ps_out("train: wrote %s (%lld columns x %d heads) in %.2f s", cm->model, (long long)cols, k, ps_now() - t0);
    int failed = 0;
    for (int h = 0; h < k; h++) failed |= traces[h].status == PS_LSFAIL && traces[h].rows <= 1;
    manifest_finish(failed ? PS_EXIT_ERROR : 0, failed ? "a head made no progress" : NULL);
    rc = failed ? PS_EXIT_ERROR : 0;
    free(mtr);
    free(mva);
  }
  for (int h = 0; h < k; h++) free(traces[h].data);
  free(tc.loss); free(tc.grad); free(tc.hess);
  free(traces); free(theta); free(w_pos); free(w_neg); free(wsum); free(l2); free(pw); free(bal);
  free(ckpt);
  free(manifest);
  fp_free(&fp);
  ps_free_strv(targets);
  trainset_free(&ts);
  data_close(&d);
  b->destroy(b);
  return rc;
}
