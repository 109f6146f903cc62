/* uplift_train.c: train --uplift (see uplift_train.h). */
#include "targeting/uplift_train.h"

#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"
#include "io/data.h"
#include "io/h5.h"
#include "io/manifest.h"
#include "io/output.h"
#include "models/labels.h"

int uplift_train(const train_common_t *cm, const char *treatment, int kind, const logreg_opts_t *lr,
                 const gbdt_opts_t *gb) {
  /* the treatment flag is a 0/1 label, not one of the targets */
  ps_data_t d;
  data_open(cm->data, &d);
  char *tt[1] = {(char *)treatment};
  data_check_targets(&d, tt, 1);
  int k = 0;
  char **targets = cm->targets ? ps_split(cm->targets, ',', &k) : NULL;
  if (!targets) ps_die_all(PS_EXIT_USAGE, "train --uplift: give the outcome(s) with --targets");
  for (int h = 0; h < k; h++)
    if (!strcmp(targets[h], treatment))
      ps_die_all(PS_EXIT_USAGE, "train --uplift: the treatment flag '%s' cannot also be a target", treatment);
  ps_free_strv(targets);
  data_close(&d);

  size_t len = strlen(cm->model);
  int stem = (int)(len > 3 && !strcmp(cm->model + len - 3, ".h5") ? len - 3 : len);
  char *sub[2] = {ps_sprintf("%.*s.treated.h5", stem, cm->model), ps_sprintf("%.*s.control.h5", stem, cm->model)};
  ps_path_t in[] = {{"--data", cm->data}};
  ps_path_t outs[] = {{"--model", cm->model}, {"the treated model", sub[0]}, {"the control model", sub[1]}};
  out_check_paths(in, 1, outs, 3);
  for (int g = 0; g < 2; g++) {
    train_common_t c = *cm;
    c.model = sub[g];
    c.checkpoint = NULL; /* each keeps its own checkpoint */
    if (g) manifest_restart();
    ps_log("train --uplift: the %s model (rows with /labels/%s = %d) into %s", g ? "control" : "treated", treatment,
           !g, sub[g]);
    labels_set_row_filter(treatment, !g);
    int rc = kind == 1 ? gbdt_train(&c, gb) : logreg_train(&c, lr);
    labels_set_row_filter(NULL, 0);
    if (rc != 0) return rc;
  }
  manifest_restart();
  manifest_set_output(cm->model);
  if (ps_rank == 0) {
    const char *base[2];
    for (int g = 0; g < 2; g++) {
      const char *sl = strrchr(sub[g], '/');
      base[g] = sl ? sl + 1 : sub[g];
    }
    ps_output_t *o = out_begin(cm->model, 0);
    ps_h5_t fid = h5_create(out_tmp(o), 0);
    h5_attr_i64(fid, "schema_version", PS_SCHEMA_VERSION);
    h5_attr_str(fid, "kind", "model");
    h5_attr_str(fid, "model_type", "uplift");
    h5_attr_str(fid, "uplift_method", "two-model");
    h5_attr_str(fid, "base_model_type", kind == 1 ? "gbdt" : "logreg");
    h5_attr_str(fid, "treatment", treatment);
    h5_attr_str(fid, "treated_model", base[0]);
    h5_attr_str(fid, "control_model", base[1]);
    h5_attr_f64(fid, "holdout", cm->holdout);
    h5_attr_i64(fid, "split_salt", cm->split_salt);
    h5_close(fid);
    out_commit(o);
  }
  comm_barrier();
  manifest_input("data", cm->data, 0);
  manifest_output("model", cm->model);
  manifest_output("treated_model", sub[0]);
  manifest_output("control_model", sub[1]);
  manifest_param_str("model_type", "uplift");
  manifest_param_str("base_model_type", kind == 1 ? "gbdt" : "logreg");
  manifest_param_str("treatment", treatment);
  manifest_finish(0, NULL);
  ps_out("train --uplift: wrote %s (two-model: %s, %s)", cm->model, sub[0], sub[1]);
  free(sub[0]);
  free(sub[1]);
  return 0;
}
