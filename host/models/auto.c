/* auto.c: --model-type auto -- both kinds trained on the same split (same
 * holdout, salt and targets), each to a candidate file with its own
 * manifest; the one with the lower validation log-loss (summed over the
 * heads) becomes the model, by an atomic rename; the other is removed.
 * Both results are printed and kept in the model's manifest. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "comm/comm.h"
#include "core/util.h"
#include "io/h5.h"
#include "io/manifest.h"
#include "io/output.h"
#include "models/train.h"

/* Sum of the heads' validation log-loss recorded in a model file. */
static double valid_loss(const char *path) {
  ps_h5_t fid = h5_open(path, 0);
  int64_t k = 0;
  char **targets = h5_read_strings(fid, path, "/targets", &k);
  double sum = 0;
  for (int h = 0; h < k; h++) {
    char *name = ps_sprintf("/metrics/%s", targets[h]);
    ps_h5_t g = h5_group_open(fid, path, name);
    double v = NAN;
    h5_get_attr_f64(g, "valid_loss", &v);
    sum += v;
    h5_close(g);
    free(name);
  }
  ps_free_strv(targets);
  h5_close(fid);
  return sum;
}

int auto_train(const train_common_t *cm, const logreg_opts_t *lr, const gbdt_opts_t *gb) {
  if (!(cm->holdout > 0)) ps_die_all(PS_EXIT_USAGE, "--model-type auto compares validation log-loss: give --holdout > 0");
  char *cand[2] = {ps_sprintf("%s.candidate-logreg.h5", cm->model), ps_sprintf("%s.candidate-gbdt.h5", cm->model)};
  char *man[2] = {ps_sprintf("%s.manifest.json", cand[0]), ps_sprintf("%s.manifest.json", cand[1])};
  const char *kind[2] = {"logreg", "gbdt"};
  double loss[2];
  for (int i = 0; i < 2; i++) {
    train_common_t c = *cm;
    c.model = cand[i];
    c.checkpoint = NULL; /* each candidate keeps its own checkpoint */
    if (i) manifest_restart();
    ps_log("train: --model-type auto: training the %s candidate", kind[i]);
    int rc = i == 0 ? logreg_train(&c, lr) : gbdt_train(&c, gb);
    if (rc != 0) return rc;
    loss[i] = valid_loss(cand[i]);
    ps_tmp_register(cand[i]); /* a later failure removes it: a failed run leaves no candidate */
    ps_tmp_register(man[i]);
  }
  int win = loss[1] < loss[0];
  manifest_restart();
  manifest_set_output(cm->model);
  ps_path_t in[] = {{"--data", cm->data}};
  ps_path_t outs[] = {{"--model", cm->model}};
  out_check_paths(in, 1, outs, 1);
  int64_t bad = 0;
  if (ps_rank == 0) {
    bad = rename(cand[win], cm->model) != 0;
    for (int i = 0; i < 2; i++) unlink(man[i]);
    unlink(cand[!win]);
  }
  comm_bcast(&bad, sizeof bad, 0);
  if (bad) ps_die_all(PS_EXIT_ERROR, "cannot rename %s to %s", cand[win], cm->model);
  for (int i = 0; i < 2; i++) {
    ps_tmp_forget(cand[i]);
    ps_tmp_forget(man[i]);
    free(man[i]);
  }
  ps_out("train: --model-type auto: validation log-loss (sum over heads) logreg %.6f, gbdt %.6f: kept %s in %s",
         loss[0], loss[1], kind[win], cm->model);
  manifest_input("data", cm->data, 0);
  manifest_output("model", cm->model);
  manifest_param_str("model_type", "auto");
  manifest_param_str("chosen", kind[win]);
  cJSON *mj = manifest_metrics();
  if (mj) {
    cJSON_AddNumberToObject(mj, "logreg_valid_log_loss_sum", loss[0]);
    cJSON_AddNumberToObject(mj, "gbdt_valid_log_loss_sum", loss[1]);
  }
  manifest_finish(0, NULL);
  free(cand[0]);
  free(cand[1]);
  return 0;
}
