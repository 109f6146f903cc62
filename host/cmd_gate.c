/* cmd_gate.c: `propscore gate` -- the quality gate of the monthly refresh:
 * a new model may replace the published one only if no head's validation
 * metrics got worse past a limit and, given both score files, the score
 * distribution did not shift past a PSI limit. Distinct exit code when refused. */
#include <cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "comm.h"
#include "h5io.h"
#include "partition.h"
#include "util.h"

#define PS_EXIT_GATE 3
#define NBINS 4000   /* fine histogram on the logit scale, [-20, 20] */
#define PSI_BINS 10  /* PSI over the baseline's deciles */

static const char *USAGE =
    "usage: propscore gate --model NEW.h5 [--baseline OLD.h5] [--scores NEW_SCORES.h5\n"
    "                      --baseline-scores OLD_SCORES.h5] [limits] [--json]\n"
    "\n"
    "Refuse to publish a model whose validation metrics fell, or whose scores moved,\n"
    "past the limits. Exit 0: publish; 3: refused (one line says why); 1/2: errors.\n"
    "Without --baseline (the first model) only the model's own sanity is checked.\n"
    "  --max-auc-drop X       largest allowed fall of validation ROC-AUC per head (default 0.01)\n"
    "  --max-logloss-rise X   largest allowed relative rise of validation log-loss (default 0.05)\n"
    "  --min-auc X            smallest validation ROC-AUC a head may have (default 0.55)\n"
    "  --max-psi X            largest population stability index of a head's scores\n"
    "                         against the baseline's, over its deciles (default 0.1)\n";

typedef struct {
  int k;
  char **targets;
  double *auc, *loss;
} gate_model_t;

static void read_model_metrics(const char *path, gate_model_t *m) {
  hid_t fid = h5io_open(path, 0);
  char *kind = h5io_get_attr_str(fid, "kind");
  if (!kind || strcmp(kind, "model"))
    ps_die_all(PS_EXIT_ERROR, "%s: not a propscore model file (kind = %s)", path, kind ? kind : "missing");
  free(kind);
  int64_t k = 0;
  m->targets = h5io_read_strings(fid, path, "/targets", &k);
  m->k = (int)k;
  m->auc = ps_malloc(sizeof(double) * (size_t)(k + 1));
  m->loss = ps_malloc(sizeof(double) * (size_t)(k + 1));
  for (int h = 0; h < m->k; h++) {
    char g[600];
    snprintf(g, sizeof g, "/metrics/%s", m->targets[h]);
    hid_t gid = H5Gopen2(fid, g, H5P_DEFAULT);
    if (gid < 0) ps_die_all(PS_EXIT_ERROR, "%s: group %s not found", path, g);
    if (!h5io_get_attr_f64(gid, "valid_auc", &m->auc[h]) || !h5io_get_attr_f64(gid, "valid_loss", &m->loss[h]))
      ps_die_all(PS_EXIT_ERROR, "%s: %s has no validation metrics (trained with --holdout 0?)", path, g);
    H5Gclose(gid);
  }
  h5io_close(fid);
}

/* Histogram of a head's scores on the logit scale, summed over ranks. */
static void histogram(const char *path, const char *target, double *hist) {
  hid_t fid = h5io_open(path, 1);
  char name[600];
  snprintf(name, sizeof name, "/scores/%s", target);
  if (!h5io_exists(fid, name)) ps_die_all(PS_EXIT_ERROR, "%s: dataset %s not found", path, name);
  hid_t d = H5Dopen2(fid, name, H5P_DEFAULT);
  hid_t sp = H5Dget_space(d);
  int64_t n_all = (int64_t)H5Sget_simple_extent_npoints(sp), row0, n;
  H5Sclose(sp);
  ps_partition(n_all, ps_size, ps_rank, &row0, &n);
  float *p = ps_malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  h5io_read_range(d, H5T_NATIVE_FLOAT, row0, n, 0, p);
  int64_t *cnt = ps_calloc(NBINS, sizeof(int64_t));
  for (int64_t i = 0; i < n; i++) {
    double q = fmin(fmax((double)p[i], 1e-9), 1 - 1e-9), z = log(q / (1 - q));
    int b = (int)((z + 20.0) / 40.0 * NBINS);
    cnt[b < 0 ? 0 : b >= NBINS ? NBINS - 1 : b]++;
  }
  comm_allreduce_sum_i64(cnt, NBINS);
  for (int b = 0; b < NBINS; b++) hist[b] = (double)cnt[b];
  free(cnt);
  free(p);
  H5Dclose(d);
  h5io_close(fid);
}

/* PSI of `cur` against `base` over the baseline's deciles (fine-bin edges). */
static double psi(const double *base, const double *cur) {
  double tb = 0, tc = 0;
  for (int b = 0; b < NBINS; b++) { tb += base[b]; tc += cur[b]; }
  double out = 0, eb = 0, ec = 0, acc = 0;
  int d = 1;
  for (int b = 0; b < NBINS; b++) {
    eb += base[b];
    ec += cur[b];
    acc += base[b];
    if (acc >= d * tb / PSI_BINS || b == NBINS - 1) {
      double pe = fmax(eb / tb, 1e-6), pa = fmax(ec / tc, 1e-6);
      out += (pa - pe) * log(pa / pe);
      eb = ec = 0;
      while (d <= PSI_BINS && acc >= d * tb / PSI_BINS) d++;
    }
  }
  return out;
}

int cmd_gate(int argc, char **argv) {
  const char *model = NULL, *baseline = NULL, *scores = NULL, *bscores = NULL;
  double max_drop = 0.01, max_rise = 0.05, min_auc = 0.55, max_psi = 0.1;
  int json = 0;
  static struct option opts[] = {{"model", 1, 0, 'm'},          {"baseline", 1, 0, 'b'},
                                 {"scores", 1, 0, 's'},         {"baseline-scores", 1, 0, 'B'},
                                 {"max-auc-drop", 1, 0, 'a'},   {"max-logloss-rise", 1, 0, 'l'},
                                 {"min-auc", 1, 0, 'A'},        {"max-psi", 1, 0, 'p'},
                                 {"json", 0, 0, 'j'},           {"help", 0, 0, 'h'},
                                 {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "m:b:s:B:a:l:A:p:jh", opts, NULL)) != -1) {
    switch (c) {
      case 'm': model = optarg; break;
      case 'b': baseline = optarg; break;
      case 's': scores = optarg; break;
      case 'B': bscores = optarg; break;
      case 'a': max_drop = ps_parse_double("--max-auc-drop", optarg, 0, 1); break;
      case 'l': max_rise = ps_parse_double("--max-logloss-rise", optarg, 0, 100); break;
      case 'A': min_auc = ps_parse_double("--min-auc", optarg, 0, 1); break;
      case 'p': max_psi = ps_parse_double("--max-psi", optarg, 0, 100); break;
      case 'j': json = 1; break;
      case 'h': ps_out("%s", USAGE); return 0;
      default: ps_die_all(PS_EXIT_USAGE, "gate: bad option (see propscore gate --help)");
    }
  }
  if (optind != argc) ps_die_all(PS_EXIT_USAGE, "gate: unexpected argument '%s'", argv[optind]);
  if (!model) ps_die_all(PS_EXIT_USAGE, "gate: --model is required (see propscore gate --help)");
  if ((scores != NULL) != (bscores != NULL))
    ps_die_all(PS_EXIT_USAGE, "gate: give both --scores and --baseline-scores, or neither");
  if (scores && !baseline) ps_die_all(PS_EXIT_USAGE, "gate: --scores needs --baseline");

  gate_model_t nm = {0}, om = {0};
  read_model_metrics(model, &nm);
  if (baseline) read_model_metrics(baseline, &om);
  char reason[1024] = "";
  cJSON *root = cJSON_CreateObject(), *heads = cJSON_AddObjectToObject(root, "heads");
  double *hb = ps_malloc(sizeof(double) * NBINS), *hc = ps_malloc(sizeof(double) * NBINS);
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
        histogram(scores, t, hc);
        p = psi(hb, hc);
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
