/* model_file.c: the parts every kind's model file writes alike (see
 * model_file.h). */
#define _DEFAULT_SOURCE
#include "models/model_file.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "core/util.h"

ps_h5_t model_file_create(ps_output_t *out, const char *model_type) {
  ps_h5_t fid = h5_create(out_tmp(out), 0);
  char ts[64];
  ps_timestamp(ts, sizeof ts);
  h5_attr_i64(fid, "schema_version", PS_SCHEMA_VERSION);
  h5_attr_str(fid, "kind", "model");
  h5_attr_str(fid, "model_type", model_type);
  h5_attr_str(fid, "propscore_version", PROPSCORE_VERSION);
  h5_attr_str(fid, "created", ts);
  return fid;
}

void model_file_input(ps_h5_t fid, const char *input_path) {
  char real[PATH_MAX];
  struct stat st;
  h5_attr_str(fid, "input_path", realpath(input_path, real) ? real : input_path);
  if (stat(input_path, &st) == 0) {
    h5_attr_i64(fid, "input_size", (int64_t)st.st_size);
    h5_attr_i64(fid, "input_mtime", (int64_t)st.st_mtime);
  }
}

void model_file_metrics(ps_h5_t mh, const ps_metrics_t *train, const ps_metrics_t *valid) {
  h5_attr_f64(mh, "train_loss", train->logloss);
  h5_attr_f64(mh, "train_auc", train->auc);
  if (valid) {
    h5_attr_f64(mh, "valid_loss", valid->logloss);
    h5_attr_f64(mh, "valid_auc", valid->auc);
    h5_attr_f64(mh, "valid_pr_auc", valid->pr_auc);
  }
}
