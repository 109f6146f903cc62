/* train_job.c: the training steps every model kind shares (see
 * train_job.h). */
#include "models/train_job.h"

#include "comm/comm.h"
#include "core/signals.h"
#include "core/util.h"
#include "io/manifest.h"
#include "io/output.h"

void train_job_outputs(const train_common_t *cm, char **ckpt, char **manifest) {
  *ckpt = cm->checkpoint ? ps_strdup(cm->checkpoint) : ps_sprintf("%s.ckpt", cm->model);
  *manifest = ps_sprintf("%s.manifest.json", cm->model);
  ps_path_t in[] = {{"--data", cm->data}};
  ps_path_t outs[] = {{"--model", cm->model}, {"--checkpoint", *ckpt}, {"the manifest", *manifest}};
  out_check_paths(in, 1, outs, 3);
  manifest_set_output(cm->model);
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
