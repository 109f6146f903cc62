/* uplift_train.c: train --uplift (see uplift_train.h). */
#define _POSIX_C_SOURCE 200809L
#include "models/uplift_train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "comm/comm.h"
#include "core/rng.h"
#include "core/util.h"
#include "io/data.h"
#include "io/manifest.h"
#include "io/output.h"
#include "models/labels.h"
#include "models/train_job.h"
#include "models/uplift_scorer.h"

enum { TREATED = 0, CONTROL = 1, MAIN = 2 };
static const char *const GROUP[2] = {"treated", "control"};

/* The outcomes are --targets, and the treatment flag is a 0/1 label, not one of them. */
static void check_treatment(const train_opts_t *o) {
  ps_data_t d;
  data_open(o->cm.data, &d);
  char *tt[1] = {(char *)o->treatment};
  data_check_targets(&d, tt, 1);
  int k = 0;
  char **targets = o->cm.targets ? ps_split(o->cm.targets, ',', &k) : NULL;
  if (!targets) ps_die_all(PS_EXIT_USAGE, "train --uplift: give the outcome(s) with --targets");
  for (int h = 0; h < k; h++)
    if (!strcmp(targets[h], o->treatment))
      ps_die_all(PS_EXIT_USAGE, "train --uplift: the treatment flag '%s' cannot also be a target", o->treatment);
  ps_free_strv(targets);
  data_close(&d);
}

/* A run id shared by the three files (rank 0's clock and pid). */
static char *new_run_id(void) {
  uint64_t id = ps_mix64((uint64_t)(ps_now() * 1e9) ^ ps_mix64((uint64_t)getpid()));
  comm_bcast(&id, sizeof id, 0);
  return ps_sprintf("%016llx", (unsigned long long)id);
}

/* Group g's fit on its rows; NULL when stopped or failed (*rc; the manifest finished). */
static void *fit_group(const train_opts_t *o, const train_kind_t *kind, const train_input_t *all, int g,
                       const char *sub, int *rc) {
  uint8_t *keep = labels_group_mask(all->d, o->treatment, g == TREATED);
  train_input_t in = *all;
  in.keep = keep;
  char *fp = train_job_fingerprint(o, kind, &in, GROUP[g]), *ckpt = ps_sprintf("%s.ckpt", sub);
  train_hooks_t hk = {.ckpt = ckpt, .fp = fp, .every = o->cm.checkpoint_every};
  ps_log("train --uplift: the %s model (rows with /labels/%s = %d) into %s", GROUP[g], o->treatment, g == TREATED,
         sub);
  void *fit = train_job_fit(kind, o, &in, &hk, rc);
  free(keep);
  free(fp);
  free(ckpt);
  return fit;
}

/* All three files to their temporaries, then renamed: the set is replaced together. */
static void commit_set(const train_opts_t *o, const train_kind_t *kind, void *const *fit, char *const *path,
                       ps_output_t *const *out) {
  char *run_id = new_run_id();
  for (int i = TREATED; i <= MAIN; i++) out_create(out[i]);
  for (int g = TREATED; g <= CONTROL; g++) {
    if (ps_rank == 0) kind->write(fit[g], o, out[g]);
    comm_barrier();
    uplift_model_mark_part(out_tmp(out[g]), run_id);
  }
  uplift_model_t m = {.base_model_type = kind->name, .treatment = o->treatment, .treated = path[TREATED],
                      .control = path[CONTROL], .holdout = o->cm.holdout, .split_salt = o->cm.split_salt,
                      .run_id = run_id};
  if (ps_rank == 0) uplift_model_write(out[MAIN], &m);
  for (int i = TREATED; i <= MAIN; i++) out_commit(out[i]);
  for (int g = TREATED; g <= CONTROL && ps_rank == 0; g++) {
    char *ckpt = ps_sprintf("%s.ckpt", path[g]);
    unlink(ckpt);
    free(ckpt);
  }
  comm_barrier();
  free(run_id);
}

static void record(const train_opts_t *o, const train_kind_t *kind, char *const *path) {
  manifest_input("data", o->cm.data, 0);
  manifest_output("model", o->cm.model);
  manifest_output("treated_model", path[TREATED]);
  manifest_output("control_model", path[CONTROL]);
  manifest_param_str("model_type", "uplift");
  manifest_param_str("base_model_type", kind->name);
  manifest_param_str("treatment", o->treatment);
  manifest_finish(0, NULL);
  ps_out("train --uplift: wrote %s (two-model: %s, %s)", o->cm.model, path[TREATED], path[CONTROL]);
}

int uplift_train(const train_opts_t *o) {
  const train_kind_t *kind = o->kind == PS_KIND_GBDT ? &gbdt_kind : &logreg_kind;
  check_treatment(o);
  const char *model = o->cm.model;
  size_t len = strlen(model);
  int stem = (int)(len > 3 && !strcmp(model + len - 3, ".h5") ? len - 3 : len);
  char *path[3] = {ps_sprintf("%.*s.treated.h5", stem, model), ps_sprintf("%.*s.control.h5", stem, model),
                   ps_strdup(model)};
  char *ckpt[2] = {ps_sprintf("%s.ckpt", path[TREATED]), ps_sprintf("%s.ckpt", path[CONTROL])};
  char *man = ps_sprintf("%s.manifest.json", model);
  ps_path_t in_paths[] = {{.role = "--data", .path = o->cm.data}};
  ps_path_t outs[] = {{.role = "--model", .path = model}, {.role = "the treated model", .path = path[TREATED]},
                      {.role = "the control model", .path = path[CONTROL]},
                      {.role = "a checkpoint", .path = ckpt[TREATED]}, {.role = "a checkpoint", .path = ckpt[CONTROL]},
                      {.role = "the manifest", .path = man}};
  out_check_paths(in_paths, 1, outs, 6);
  manifest_set_output(model);
  ps_output_t *out[3];
  for (int i = TREATED; i <= MAIN; i++) out[i] = out_lock(path[i], 1); /* each part's lock, before any work */
  ps_data_t d;
  train_input_t all = {.d = &d};
  all.targets = train_job_targets(&o->cm, &d, &all.k);
  void *fit[2] = {NULL, NULL};
  int rc = 0;
  for (int g = TREATED; g <= CONTROL && rc == 0; g++) {
    fit[g] = fit_group(o, kind, &all, g, path[g], &rc);
    if (fit[g]) kind->print(fit[g], o, NULL, 0);
  }
  if (rc == 0) {
    commit_set(o, kind, fit, path, out);
    record(o, kind, path);
  } else {
    for (int i = TREATED; i <= MAIN; i++) out_abort(out[i]);
  }
  for (int g = TREATED; g <= CONTROL; g++) {
    if (fit[g]) kind->free(fit[g]);
    free(ckpt[g]);
  }
  for (int i = TREATED; i <= MAIN; i++) free(path[i]);
  free(man);
  ps_free_strv(all.targets);
  data_close(&d);
  return rc;
}
