/* train_job.c: the training driver (see train_job.h): one model of a kind,
 * and the steps every job shares (outputs, fingerprint, parameters). */
#define _POSIX_C_SOURCE 200809L
#include "models/train_job.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include "comm/comm.h"
#include "core/fingerprint.h"
#include "core/parse.h"
#include "core/signals.h"
#include "core/util.h"
#include "io/manifest.h"
#include "io/output.h"
#include "models/calibration.h"
#include "models/calibration_fit.h"
#include "models/device.h"

/* Is table line l in the common section or in kind's? */
static int in_section(const ps_option_t *l, const train_kind_t *kind) {
  if (!l->name || l->ptr) return 0;
  size_t off = l->off, cm = offsetof(train_opts_t, cm), lr = offsetof(train_opts_t, lr),
         gb = offsetof(train_opts_t, gb);
  if (off >= cm && off < cm + sizeof(train_common_t)) return 1;
  if (kind == &logreg_kind) return off >= lr && off < lr + sizeof(logreg_opts_t);
  return off >= gb && off < gb + sizeof(gbdt_opts_t);
}

char *train_job_fingerprint(const train_opts_t *o, const train_kind_t *kind, const train_input_t *in,
                            const char *extra) {
  ps_fp_t fp;
  fp_init(&fp);
  fp_str(&fp, "model_type", kind->name);
  fp_str(&fp, "version", PROPSCORE_VERSION);
  fp_file(&fp, "data", o->cm.data);
  for (int h = 0; h < in->k; h++) fp_str(&fp, "target", in->targets[h]);
  for (const ps_option_t *l = train_cmd.opts; l->name || l->help; l++) {
    if (!l->fp || !in_section(l, kind)) continue;
    ps_option_t one[2] = {*l, {0}};
    opts_fingerprint(one, o, &fp);
  }
  if (extra) fp_str(&fp, "fit", extra);
  return fp.s;
}

void train_job_params(const train_opts_t *o, const train_kind_t *kind) {
  manifest_param_str("model_type", kind->name);
  for (const ps_option_t *l = train_cmd.opts; l->name || l->help; l++) {
    if (!l->manifest || !in_section(l, kind)) continue;
    ps_option_t one[2] = {*l, {0}};
    manifest_params(one, o);
  }
}

char **train_job_targets(const train_common_t *cm, ps_data_t *d, int *k) {
  data_open(cm->data, d);
  *k = 0;
  char **targets = cm->targets ? ps_split(cm->targets, ',', k) : data_targets(d, k);
  if (*k == 0 && cm->targets) ps_die_all(PS_EXIT_USAGE, "--targets: no target names given");
  if (*k == 0)
    ps_die_all(PS_EXIT_ERROR,
               "%s: no /labels/<target> datasets: nothing to train (add labels, see to_hdf5.py --label)", cm->data);
  data_check_targets(d, targets, *k);
  return targets;
}

int64_t train_job_mem_limit(const train_common_t *cm) {
  int64_t limit = cm->host_mem_limit;
  if (limit == 0) limit = (int64_t)(0.6 * (double)ps_mem_available() / comm_local_size());
  return limit;
}

void train_job_stopped(int sig, const char *ckpt, double t_fit) {
  ps_out("train: stopped by %s after a checkpoint (%s): run the same command again to resume", ps_signal_name(sig),
         ckpt);
  manifest_phase("fit", t_fit);
  manifest_finish(PS_EXIT_STOPPED, "stopped by a signal; checkpoint written");
}

void train_job_manifest_metrics(cJSON *jo, const ps_metrics_t *train, const ps_metrics_t *valid) {
  cJSON_AddNumberToObject(jo, "train_auc", train->auc);
  cJSON_AddNumberToObject(jo, "train_log_loss", train->logloss);
  if (valid) {
    cJSON_AddNumberToObject(jo, "valid_auc", valid->auc);
    cJSON_AddNumberToObject(jo, "valid_log_loss", valid->logloss);
  }
}

/* The device in the manifest before any work (the fit's backend makes the
 * same collective choice); --x-dtype is checked first, as the backend does. */
static void record_device(const train_opts_t *o) {
  static const char *const dtypes[] = {"f32", "bf16", NULL};
  if (o->kind == PS_KIND_LOGREG) ps_parse_choice("--x-dtype", o->lr.x_dtype, dtypes);
  manifest_device(device_choose(o->cm.device) ? "cuda" : "cpu");
}

void train_job_calibrate(const train_opts_t *o, const ps_output_t *out, const train_input_t *in) {
  if (!o->cm.calibrate) return;
  comm_barrier(); /* the model is written */
  calib_fit_t c = {.model = out_tmp(out), .d = in->d, .targets = in->targets, .k = in->k, .keep = in->keep,
                   .holdout = o->cm.holdout, .salt = o->cm.split_salt, .kind = o->cm.calibrate};
  calibration_fit_model(&c);
  manifest_param_str("calibrate", PS_CALIB_NAMES[o->cm.calibrate]);
}

/* The model written through out (taken before any work) and made final;
 * the checkpoint has served. */
static void commit_model(const train_kind_t *kind, const void *fit, const train_opts_t *o, ps_output_t *out,
                         const char *ckpt, const train_input_t *in) {
  out_create(out);
  if (ps_rank == 0) kind->write(fit, o, out);
  train_job_calibrate(o, out, in);
  out_commit(out);
  if (ps_rank == 0) unlink(ckpt);
  comm_barrier();
}

double train_job_valid_loss(int k, double g_va, const ps_metrics_t *mva) {
  double sum = 0;
  for (int h = 0; h < k; h++) sum += g_va > 0 ? mva[h].logloss : NAN;
  return sum;
}

void *train_job_fit(const train_kind_t *kind, const train_opts_t *o, const train_input_t *in, train_hooks_t *hk,
                    int *rc) {
  void *fit = kind->fit(o, in, hk, rc);
  if (!fit) {
    train_job_stopped(hk->sig, hk->ckpt, hk->t_fit);
  } else if (*rc != 0) {
    manifest_finish(*rc, "a head made no progress");
    kind->free(fit);
    fit = NULL;
  }
  return fit;
}

int train_job_run(train_opts_t *o) {
  const train_common_t *cm = &o->cm;
  const train_kind_t *kind = o->kind == PS_KIND_GBDT ? &gbdt_kind : &logreg_kind;
  double t0 = ps_now();
  char *ckpt = cm->checkpoint ? ps_strdup(cm->checkpoint) : ps_sprintf("%s.ckpt", cm->model);
  char *man = ps_sprintf("%s.manifest.json", cm->model);
  ps_path_t in_paths[] = {{.role = "--data", .path = cm->data}};
  ps_path_t outs[] = {{.role = "--model", .path = cm->model}, {.role = "--checkpoint", .path = ckpt},
                      {.role = "the manifest", .path = man}};
  out_check_paths(in_paths, 1, outs, 3);
  manifest_set_output(cm->model);
  ps_output_t *out = out_lock(cm->model, 1); /* MODEL.lock: one job at a time on a model */
  record_device(o);
  ps_data_t d;
  train_input_t in = {.d = &d};
  in.targets = train_job_targets(cm, &d, &in.k);
  char *fp = train_job_fingerprint(o, kind, &in, NULL);
  train_hooks_t hk = {.ckpt = ckpt, .fp = fp, .every = cm->checkpoint_every};
  int rc = 0;
  void *fit = kind->fit(o, &in, &hk, &rc);
  if (!fit) {
    out_abort(out);
    train_job_stopped(hk.sig, ckpt, hk.t_fit);
  } else {
    commit_model(kind, fit, o, out, ckpt, &in);
    manifest_input("data", cm->data, 0);
    manifest_output("model", cm->model);
    kind->manifest(fit, o);
    kind->print(fit, o, cm->model, t0);
    manifest_finish(rc, rc ? "a head made no progress" : NULL);
    kind->free(fit);
  }
  free(fp);
  free(ckpt);
  free(man);
  ps_free_strv(in.targets);
  data_close(&d);
  return rc;
}
