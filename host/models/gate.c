/* gate.c: the gate job (see gate.h): its option table, the models' heads and
 * validation metrics, the score histograms, the verdict. */
#include "models/gate.h"

#include <cJSON.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/partition.h"
#include "core/util.h"
#include "io/h5.h"
#include "io/scores_file.h"
#include "models/scorer.h"
#include "models/scorer_registry.h"
#include "stats/psi.h"

#define F(field) offsetof(gate_opts_t, field)
static const ps_option_t GATE_OPTS[] = {
    {.name = "model", .type = OPT_STR, .off = F(model), .arg = "NEW.h5", .help = "the new model (any kind)",
     .flags = OPT_REQUIRED, .short_name = 'm'},
    {.name = "baseline", .type = OPT_STR, .off = F(baseline), .arg = "OLD.h5",
     .help = "the published model (of the same kind)", .short_name = 'b'},
    {.name = "scores", .type = OPT_STR, .off = F(scores), .arg = "FILE", .help = "the new model's scores",
     .short_name = 's'},
    {.name = "baseline-scores", .type = OPT_STR, .off = F(baseline_scores), .arg = "FILE",
     .help = "the published model's scores", .short_name = 'B'},
    {.name = "json", .type = OPT_FLAG, .off = F(json), .help = "the verdict and numbers as one JSON document",
     .short_name = 'j'},
    {.help = "limits:"},
    {.name = "max-auc-drop", .type = OPT_DOUBLE, .off = F(max_auc_drop), .def = "0.01", .lo = 0, .hi = 1, .arg = "X",
     .help = "largest allowed fall of validation ROC-AUC per head", .short_name = 'a'},
    {.name = "max-logloss-rise", .type = OPT_DOUBLE, .off = F(max_logloss_rise), .def = "0.05", .lo = 0, .hi = 100,
     .arg = "X", .help = "largest allowed relative rise of validation log-loss", .short_name = 'l'},
    {.name = "min-auc", .type = OPT_DOUBLE, .off = F(min_auc), .def = "0.55", .lo = 0, .hi = 1, .arg = "X",
     .help = "smallest validation ROC-AUC a head may have", .short_name = 'A'},
    {.name = "max-psi", .type = OPT_DOUBLE, .off = F(max_psi), .def = "0.1", .lo = 0, .hi = 100, .arg = "X",
     .help = "largest population stability index of a head's scores\nagainst the baseline's, over its deciles",
     .short_name = 'p'},
    {0}};
#undef F

const ps_cmd_spec_t gate_cmd = {
    .name = "gate",
    .opts = GATE_OPTS,
    .usage = "usage: propscore gate --model NEW.h5 [--baseline OLD.h5] [--scores NEW_SCORES.h5\n"
             "                      --baseline-scores OLD_SCORES.h5] [limits] [--json]\n"
             "\n"
             "Refuse to publish a model whose numbers are not sound, whose validation metrics\n"
             "fell, or whose scores moved, past the limits. Exit 0: publish; 3: refused (one\n"
             "line says why); 1/2: errors. Without --baseline (the first model) only the\n"
             "model's own sanity is checked.\n",
    .epilog = "\nAn uplift model (train --uplift) is gated by its treated and control models:\n"
              "heads '<target> (treated)' and '<target> (control)', each against the same head\n"
              "of an uplift baseline; the PSI compares /scores/<target>, which an uplift\n"
              "model's scores file holds as P(y | treated), on the treated heads.\n"};

typedef struct {
  int k;
  char **names;   /* the heads as the gate reports them: "<target>", or "<target> (treated)" */
  char **targets; /* the scores datasets of the PSI: /scores/<target>; NULL: none (control heads) */
  double *auc, *loss;
  int uplift;
} gate_model_t;

/* Appends the heads of the (non-uplift) model file `path`, named
 * "<target><suffix>"; psi: their /scores/<target> are its scores. */
static void read_heads(const char *path, const char *suffix, int psi, gate_model_t *m) {
  ps_h5_t fid = h5_open(path, 0);
  int64_t k = 0;
  char **targets = h5_read_strings(fid, path, "/targets", &k);
  size_t total = (size_t)m->k + (size_t)k + 1;
  m->names = realloc(m->names, sizeof(char *) * total);
  m->targets = realloc(m->targets, sizeof(char *) * total);
  m->auc = realloc(m->auc, sizeof(double) * total);
  m->loss = realloc(m->loss, sizeof(double) * total);
  if (!m->names || !m->targets || !m->auc || !m->loss) ps_die_local("out of memory");
  for (int64_t t = 0; t < k; t++, m->k++) {
    char g[600];
    snprintf(g, sizeof g, "/metrics/%s", targets[t]);
    ps_h5_t gid = h5_group_open(fid, path, g);
    double *auc = &m->auc[m->k], *loss = &m->loss[m->k];
    if (!h5_get_attr_f64(gid, "valid_auc", auc) || !h5_get_attr_f64(gid, "valid_loss", loss))
      ps_die_all(PS_EXIT_ERROR, "%s: %s has no validation metrics (trained with --holdout 0?)", path, g);
    if (!isfinite(*auc) || !isfinite(*loss))
      ps_die_all(PS_EXIT_ERROR, "%s: %s validation metrics are not finite (AUC %g, log-loss %g)", path, g, *auc,
                 *loss);
    h5_close(gid);
    m->names[m->k] = ps_sprintf("%s%s", targets[t], suffix);
    m->targets[m->k] = psi ? ps_strdup(targets[t]) : NULL;
  }
  ps_free_strv(targets);
  h5_close(fid);
}

/* A path an uplift model names, relative to the model's directory. */
static char *beside(const char *model, const char *name) {
  const char *slash = strrchr(model, '/');
  if (name[0] == '/' || !slash) return ps_strdup(name);
  return ps_sprintf("%.*s/%s", (int)(slash - model), model, name);
}

static void read_model_metrics(const char *path, gate_model_t *m) {
  scorer_close(scorer_open(path, "cpu")); /* the model itself: its kind, and every number finite */
  ps_h5_t fid = h5_open(path, 0);
  char *type = h5_get_attr_str(fid, "model_type");
  m->uplift = type && !strcmp(type, "uplift");
  if (!m->uplift) {
    h5_close(fid);
    read_heads(path, "", 1, m);
  } else { /* scorer_open found both parts: each one's heads */
    char *tn = h5_get_attr_str(fid, "treated_model"), *cn = h5_get_attr_str(fid, "control_model");
    h5_close(fid);
    char *tp = beside(path, tn), *cp = beside(path, cn);
    read_heads(tp, " (treated)", 1, m);
    read_heads(cp, " (control)", 0, m);
    free(tn);
    free(cn);
    free(tp);
    free(cp);
  }
  free(type);
}

static void free_model(gate_model_t *m) {
  for (int h = 0; h < m->k; h++) {
    free(m->names[h]);
    free(m->targets[h]);
  }
  free(m->names);
  free(m->targets);
  free(m->auc);
  free(m->loss);
}

/* Histogram of a head's scores on the logit scale (stats/psi.h), summed
 * over ranks; the count of scores that are not probabilities. checked: such
 * a score is an error naming file, dataset and row instead. */
static int64_t histogram(const char *path, const char *target, int checked, double *hist) {
  ps_h5_t fid = scores_open(path, "scores");
  char name[600];
  snprintf(name, sizeof name, "/scores/%s", target);
  int64_t N = h5_count(fid, "/customer_id"), row0, n;
  if (N < 0) ps_die_all(PS_EXIT_ERROR, "%s: no /customer_id (not a scores file?)", path);
  ps_partition(N, ps_size, ps_rank, &row0, &n);
  float *p = ps_malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  if (checked) {
    scores_read_head(fid, path, name, N, row0, n, &PS_SCORE_PROBABILITY, PS_F32, p);
  } else { /* the new scores: the gate counts what is not a probability, and refuses */
    int64_t dims[1];
    ps_h5_t d = h5_dset_open(fid, path, name, 1, PS_KIND_FLOAT, "float32", dims);
    if (dims[0] != N)
      ps_die_all(PS_EXIT_ERROR, "%s: %s has %lld rows but /customer_id has %lld", path, name, (long long)dims[0],
                 (long long)N);
    h5_read_range(d, PS_F32, row0, n, 0, p);
    h5_close(d);
  }
  int64_t bad = psi_hist_all(p, n, hist);
  free(p);
  h5_close(fid);
  return bad;
}

typedef struct {
  const gate_opts_t *o;
  gate_model_t nm, om;
  double *hb, *hc; /* PS_PSI_FINE each */
  char reason[1024]; /* the first reason to refuse ("": publish) */
  cJSON *heads;
} gate_t;

#define REFUSE(g, ...) \
  do { \
    if (!(g)->reason[0]) snprintf((g)->reason, sizeof (g)->reason, __VA_ARGS__); \
  } while (0)

/* The PSI of head h's scores against the baseline's (NAN: not compared). */
static double head_psi(gate_t *g, int h, cJSON *o) {
  const char *t = g->nm.targets[h], *scores = g->o->scores;
  if (!scores || !t) return NAN;
  histogram(g->o->baseline_scores, t, 1, g->hb); /* the published scores: each a probability, or an error */
  int64_t nonprob = histogram(scores, t, 0, g->hc);
  if (nonprob > 0) REFUSE(g, "%s: %lld scores of %s are not probabilities (NaN or outside [0, 1])", scores,
                          (long long)nonprob, t);
  double p = psi_value(g->hb, g->hc, NULL, NULL, NULL, NULL);
  cJSON_AddNumberToObject(o, "psi", p);
  if (p > g->o->max_psi) REFUSE(g, "%s score distribution shifted: PSI %.4f, more than --max-psi %g", t, p,
                                g->o->max_psi);
  return p;
}

/* Head h of the new model: its numbers against the limits and the
 * baseline's same head, into the JSON, and the lines for people. */
static void check_head(gate_t *g, int h) {
  const gate_opts_t *o = g->o;
  const gate_model_t *nm = &g->nm, *om = &g->om;
  const char *t = nm->names[h];
  cJSON *js = cJSON_AddObjectToObject(g->heads, t);
  cJSON_AddNumberToObject(js, "valid_auc", nm->auc[h]);
  cJSON_AddNumberToObject(js, "valid_log_loss", nm->loss[h]);
  if (!(nm->auc[h] >= o->min_auc))
    REFUSE(g, "%s validation AUC %.4f is below --min-auc %.4f", t, nm->auc[h], o->min_auc);
  int j = -1;
  for (int q = 0; q < om->k; q++)
    if (!strcmp(om->names[q], t)) j = q;
  double p = NAN;
  if (j >= 0) {
    double drop = om->auc[j] - nm->auc[h], rise = (nm->loss[h] - om->loss[j]) / om->loss[j];
    cJSON_AddNumberToObject(js, "baseline_valid_auc", om->auc[j]);
    cJSON_AddNumberToObject(js, "auc_drop", drop);
    cJSON_AddNumberToObject(js, "log_loss_rise", rise);
    if (drop > o->max_auc_drop)
      REFUSE(g, "%s validation AUC fell %.4f (%.4f -> %.4f), more than --max-auc-drop %g", t, drop, om->auc[j],
             nm->auc[h], o->max_auc_drop);
    if (rise > o->max_logloss_rise)
      REFUSE(g, "%s validation log-loss rose %.1f%%, more than --max-logloss-rise %g", t, 100 * rise,
             o->max_logloss_rise);
    p = head_psi(g, h, js);
  }
  if (o->json) return;
  ps_out("gate: %-16s valid AUC %.4f%s  log-loss %.5f", t, nm->auc[h], j >= 0 ? "" : " (new head)", nm->loss[h]);
  if (j >= 0)
    ps_out("gate: %-16s   baseline AUC %.4f (change %+.4f), log-loss change %+.2f%%", "", om->auc[j],
           nm->auc[h] - om->auc[j], 100 * (nm->loss[h] - om->loss[j]) / om->loss[j]);
  if (!isnan(p)) ps_out("gate: %-16s   PSI of scores vs baseline %.4f", "", p);
}

int gate_run(const gate_opts_t *opts) {
  gate_t g = {.o = opts};
  read_model_metrics(opts->model, &g.nm);
  if (opts->baseline) read_model_metrics(opts->baseline, &g.om);
  if (opts->baseline && g.nm.uplift != g.om.uplift)
    ps_die_all(PS_EXIT_ERROR, "gate: %s is %s but the baseline %s is %s: the gate compares models of one kind",
               opts->model, g.nm.uplift ? "an uplift model" : "not an uplift model", opts->baseline,
               g.om.uplift ? "one" : "not");
  cJSON *root = cJSON_CreateObject();
  g.heads = cJSON_AddObjectToObject(root, "heads");
  g.hb = ps_malloc(sizeof(double) * PS_PSI_FINE);
  g.hc = ps_malloc(sizeof(double) * PS_PSI_FINE);
  for (int h = 0; h < g.om.k; h++) { /* every published head must still be there */
    int found = 0;
    for (int j = 0; j < g.nm.k; j++) found |= !strcmp(g.om.names[h], g.nm.names[j]);
    if (!found) REFUSE(&g, "head %s of the baseline is missing", g.om.names[h]);
  }
  for (int h = 0; h < g.nm.k; h++) check_head(&g, h);
  cJSON_AddBoolToObject(root, "publish", !g.reason[0]);
  if (g.reason[0]) cJSON_AddStringToObject(root, "reason", g.reason);
  if (opts->json && ps_rank == 0) {
    char *s = cJSON_Print(root);
    ps_out("%s", s);
    free(s);
  }
  cJSON_Delete(root);
  free(g.hb);
  free(g.hc);
  free_model(&g.nm);
  free_model(&g.om);
  if (g.reason[0]) {
    if (ps_rank == 0) fprintf(stderr, "propscore: gate: refused: %s\n", g.reason);
    return PS_EXIT_GATE;
  }
  if (!opts->json) ps_out("gate: pass%s", opts->baseline ? "" : " (no baseline: first model)");
  return 0;
}
