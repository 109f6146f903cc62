/* gate.c: the gate job (see gate.h). */
#include "models/gate.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/partition.h"
#include "core/util.h"
#include "io/h5.h"
#include "models/scorer_registry.h"
#include "stats/psi.h"

typedef struct {
  int k;
  char **targets;
  double *auc, *loss;
} gate_model_t;

static void read_model_metrics(const char *path, gate_model_t *m) {
  scorer_close(scorer_open(path, "cpu")); /* the model itself: its kind, and every number finite */
  ps_h5_t fid = h5_open(path, 0);
  int64_t k = 0;
  m->targets = h5_read_strings(fid, path, "/targets", &k);
  m->k = (int)k;
  m->auc = ps_malloc(sizeof(double) * (size_t)(k + 1));
  m->loss = ps_malloc(sizeof(double) * (size_t)(k + 1));
  for (int h = 0; h < m->k; h++) {
    char g[600];
    snprintf(g, sizeof g, "/metrics/%s", m->targets[h]);
    ps_h5_t gid = h5_group_open(fid, path, g);
    if (!h5_get_attr_f64(gid, "valid_auc", &m->auc[h]) || !h5_get_attr_f64(gid, "valid_loss", &m->loss[h]))
      ps_die_all(PS_EXIT_ERROR, "%s: %s has no validation metrics (trained with --holdout 0?)", path, g);
    if (!isfinite(m->auc[h]) || !isfinite(m->loss[h]))
      ps_die_all(PS_EXIT_ERROR, "%s: %s validation metrics are not finite (AUC %g, log-loss %g)", path, g, m->auc[h],
                 m->loss[h]);
    h5_close(gid);
  }
  h5_close(fid);
}

/* Histogram of a head's scores on the logit scale (stats/psi.h), summed
 * over ranks; the count of scores that are not probabilities. */
static int64_t histogram(const char *path, const char *target, double *hist) {
  ps_h5_t fid = h5_open(path, 1);
  char name[600];
  snprintf(name, sizeof name, "/scores/%s", target);
  int64_t dims[1];
  ps_h5_t d = h5_dset_open(fid, path, name, 1, PS_KIND_FLOAT, "float32", dims);
  int64_t n_all = dims[0], row0, n;
  ps_partition(n_all, ps_size, ps_rank, &row0, &n);
  float *p = ps_malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  h5_read_range(d, PS_F32, row0, n, 0, p);
  int64_t bad = psi_hist_all(p, n, hist);
  free(p);
  h5_close(d);
  h5_close(fid);
  return bad;
}

int gate_run(const gate_opts_t *opts) {
  const char *model = opts->model, *baseline = opts->baseline, *scores = opts->scores;
  const char *bscores = opts->baseline_scores;
  double max_drop = opts->max_auc_drop, max_rise = opts->max_logloss_rise, min_auc = opts->min_auc;
  double max_psi = opts->max_psi;
  int json = opts->json;
  gate_model_t nm = {0}, om = {0};
  read_model_metrics(model, &nm);
  if (baseline) read_model_metrics(baseline, &om);
  char reason[1024] = "";
  cJSON *root = cJSON_CreateObject(), *heads = cJSON_AddObjectToObject(root, "heads");
  double *hb = ps_malloc(sizeof(double) * PS_PSI_FINE), *hc = ps_malloc(sizeof(double) * PS_PSI_FINE);
  for (int h = 0; h < om.k; h++) { /* every published head must still be there */
    int found = 0;
    for (int j = 0; j < nm.k; j++) found |= !strcmp(om.targets[h], nm.targets[j]);
    if (!found && !reason[0]) snprintf(reason, sizeof reason, "head %s of the baseline is missing", om.targets[h]);
  }
  for (int h = 0; h < nm.k; h++) {
    const char *t = nm.targets[h];
    cJSON *o = cJSON_AddObjectToObject(heads, t);
    cJSON_AddNumberToObject(o, "valid_auc", nm.auc[h]);
    cJSON_AddNumberToObject(o, "valid_log_loss", nm.loss[h]);
    if (!(nm.auc[h] >= min_auc) && !reason[0])
      snprintf(reason, sizeof reason, "%s validation AUC %.4f is below --min-auc %.4f", t, nm.auc[h], min_auc);
    int j = -1;
    for (int q = 0; q < om.k; q++)
      if (!strcmp(om.targets[q], t)) j = q;
    double p = NAN;
    if (j >= 0) {
      double drop = om.auc[j] - nm.auc[h], rise = (nm.loss[h] - om.loss[j]) / om.loss[j];
      cJSON_AddNumberToObject(o, "baseline_valid_auc", om.auc[j]);
      cJSON_AddNumberToObject(o, "auc_drop", drop);
      cJSON_AddNumberToObject(o, "log_loss_rise", rise);
      if (drop > max_drop && !reason[0])
        snprintf(reason, sizeof reason, "%s validation AUC fell %.4f (%.4f -> %.4f), more than --max-auc-drop %g", t,
                 drop, om.auc[j], nm.auc[h], max_drop);
      if (rise > max_rise && !reason[0])
        snprintf(reason, sizeof reason, "%s validation log-loss rose %.1f%%, more than --max-logloss-rise %g", t,
                 100 * rise, max_rise);
      if (scores) {
        histogram(bscores, t, hb);
        int64_t nonprob = histogram(scores, t, hc);
        if (nonprob > 0 && !reason[0])
          snprintf(reason, sizeof reason, "%s: %lld scores of %s are not probabilities (NaN or outside [0, 1])", scores,
                   (long long)nonprob, t);
        p = psi_value(hb, hc, NULL, NULL, NULL, NULL);
        cJSON_AddNumberToObject(o, "psi", p);
        if (p > max_psi && !reason[0])
          snprintf(reason, sizeof reason, "%s score distribution shifted: PSI %.4f, more than --max-psi %g", t, p,
                   max_psi);
      }
    }
    if (!json)
      ps_out("gate: %-16s valid AUC %.4f%s  log-loss %.5f%s", t, nm.auc[h],
             j >= 0 ? "" : " (new head)", nm.loss[h], isnan(p) ? "" : "");
    if (!json && j >= 0)
      ps_out("gate: %-16s   baseline AUC %.4f (change %+.4f), log-loss change %+.2f%%%s", "", om.auc[j],
             nm.auc[h] - om.auc[j], 100 * (nm.loss[h] - om.loss[j]) / om.loss[j], "");
    if (!json && !isnan(p)) ps_out("gate: %-16s   PSI of scores vs baseline %.4f", "", p);
  }
  cJSON_AddBoolToObject(root, "publish", !reason[0]);
  if (reason[0]) cJSON_AddStringToObject(root, "reason", reason);
  if (json && ps_rank == 0) {
    char *s = cJSON_Print(root);
    ps_out("%s", s);
    free(s);
  }
  cJSON_Delete(root);
  free(hb);
  free(hc);
  if (reason[0]) {
    if (ps_rank == 0) fprintf(stderr, "propscore: gate: refused: %s\n", reason);
    return PS_EXIT_GATE;
  }
  if (!json) ps_out("gate: pass%s", baseline ? "" : " (no baseline: first model)");
  return 0;
}
