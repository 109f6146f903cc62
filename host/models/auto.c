/* auto.c: --model-type auto -- both kinds fitted in memory on the same
 * loaded data and split (same holdout, salt and targets); the one with the
 * lower validation log-loss (summed over the heads) is the model, written
 * once. No candidate files: the outputs are checked and MODEL.lock taken
 * before any work. Both results are printed and kept in the manifest. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <unistd.h>

#include "comm/comm.h"
#include "core/util.h"
#include "io/manifest.h"
#include "io/output.h"
#include "models/train_job.h"

static const train_kind_t *const KINDS[2] = {&logreg_kind, &gbdt_kind};

/* Fits kind i on `in` with its own checkpoint (CKPT.<kind>); NULL when
 * stopped or failed (*rc; the manifest finished). */
static void *fit_candidate(const train_opts_t *o, int i, const train_input_t *in, const char *ckpt, int *rc) {
  const train_kind_t *kind = KINDS[i];
  char *fp = train_job_fingerprint(o, kind, in, NULL);
  train_hooks_t hk = {.ckpt = ckpt, .fp = fp, .every = o->cm.checkpoint_every};
  ps_log("train: --model-type auto: training the %s candidate", kind->name);
  void *fit = train_job_fit(kind, o, in, &hk, rc);
  free(fp);
  return fit;
}

/* The winner written and committed, the candidates' checkpoints removed. */
static void commit(const train_opts_t *o, void *const *fit, int win, ps_output_t *out, char *const *ckpt,
                   const train_input_t *in) {
  out_create(out);
  if (ps_rank == 0) KINDS[win]->write(fit[win], o, out);
  train_job_calibrate(o, out, in);
  out_commit(out);
  if (ps_rank == 0)
    for (int i = 0; i < 2; i++) unlink(ckpt[i]);
  comm_barrier();
}

static void record(const train_opts_t *o, const double *loss, int win) {
  ps_out("train: --model-type auto: validation log-loss (sum over heads) logreg %.6f, gbdt %.6f: kept %s in %s",
         loss[0], loss[1], KINDS[win]->name, o->cm.model);
  manifest_input("data", o->cm.data, 0);
  manifest_output("model", o->cm.model);
  manifest_param_str("model_type", "auto");
  manifest_param_str("chosen", KINDS[win]->name);
  cJSON *mj = manifest_metrics();
  if (mj) {
    cJSON_AddNumberToObject(mj, "logreg_valid_log_loss_sum", loss[0]);
    cJSON_AddNumberToObject(mj, "gbdt_valid_log_loss_sum", loss[1]);
  }
  manifest_finish(0, NULL);
}

int auto_train(const train_opts_t *o) {
  const train_common_t *cm = &o->cm;
  if (!(cm->holdout > 0)) ps_die_all(PS_EXIT_USAGE, "--model-type auto compares validation log-loss: give --holdout > 0");
  char *base = cm->checkpoint ? ps_strdup(cm->checkpoint) : ps_sprintf("%s.ckpt", cm->model);
  char *ckpt[2] = {ps_sprintf("%s.logreg", base), ps_sprintf("%s.gbdt", base)};
  char *man = ps_sprintf("%s.manifest.json", cm->model);
  ps_path_t in_paths[] = {{.role = "--data", .path = cm->data}};
  ps_path_t outs[] = {{.role = "--model", .path = cm->model}, {.role = "--checkpoint", .path = ckpt[0]},
                      {.role = "--checkpoint", .path = ckpt[1]}, {.role = "the manifest", .path = man}};
  out_check_paths(in_paths, 1, outs, 4);
  manifest_set_output(cm->model);
  ps_output_t *out = out_lock(cm->model, 1); /* MODEL.lock: one job at a time on a model */
  ps_data_t d;
  train_input_t in = {.d = &d};
  in.targets = train_job_targets(cm, &d, &in.k);
  void *fit[2] = {NULL, NULL};
  double loss[2];
  int rc = 0;
  for (int i = 0; i < 2 && rc == 0; i++) {
    fit[i] = fit_candidate(o, i, &in, ckpt[i], &rc);
    if (fit[i]) loss[i] = KINDS[i]->valid_loss(fit[i]);
    if (fit[i]) KINDS[i]->print(fit[i], o, NULL, 0);
  }
  if (rc == 0) {
    int win = loss[1] < loss[0];
    commit(o, fit, win, out, ckpt, &in);
    record(o, loss, win);
  } else {
    out_abort(out);
  }
  for (int i = 0; i < 2; i++) {
    if (fit[i]) KINDS[i]->free(fit[i]);
    free(ckpt[i]);
  }
  free(base);
  free(man);
  ps_free_strv(in.targets);
  data_close(&d);
  return rc;
}
