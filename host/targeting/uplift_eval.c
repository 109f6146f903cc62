/* uplift_eval.c: eval --uplift (see uplift_eval.h). */
#include "targeting/uplift_eval.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"
#include "io/data.h"
#include "io/h5.h"
#include "io/scores_file.h"
#include "stats/evaluate.h"
#include "stats/json_num.h"

/* Dies unless the split holds treated and control rows: the Qini curve and
 * the deciles compare the two groups (scikit-uplift refuses a treatment
 * flag that is not both 0 and 1). Collective. */
static void check_groups(const uplift_eval_opts_t *o, const char *split, const uint8_t *tr, const uint8_t *keep,
                         int64_t n) {
  int64_t c[2] = {0, 0}; /* control, treated */
  for (int64_t i = 0; i < n; i++)
    if (keep[i]) c[tr[i] != 0]++;
  comm_allreduce_sum_i64(c, 2);
  if (c[0] > 0 && c[1] > 0) return;
  ps_die_all(PS_EXIT_ERROR,
             "%s: the %s split has %lld treated and %lld control rows (/labels/%s = 1, 0): uplift metrics compare "
             "the two groups and need both",
             o->data, split, (long long)c[1], (long long)c[0], o->treatment);
}

/* Rank 0: the JSON document. */
static void uplift_json(const uplift_eval_opts_t *o, const char *split, char **targets, int k,
                        const ps_uplift_metrics_t *mt) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "data", o->data);
  cJSON_AddStringToObject(root, "scores", o->scores);
  cJSON_AddStringToObject(root, "split", split);
  cJSON_AddStringToObject(root, "treatment", o->treatment);
  cJSON *ts = cJSON_AddObjectToObject(root, "targets");
  for (int h = 0; h < k; h++) {
    const ps_uplift_metrics_t *m = &mt[h];
    cJSON *t = cJSON_AddObjectToObject(ts, targets[h]);
    cJSON_AddNumberToObject(t, "rows", m->n);
    cJSON_AddNumberToObject(t, "treated", m->n_t);
    cJSON_AddNumberToObject(t, "control", m->n_c);
    cJSON_AddNumberToObject(t, "treated_responders", m->y_t);
    cJSON_AddNumberToObject(t, "control_responders", m->y_c);
    cJSON_AddItemToObject(t, "qini_coefficient", ps_json_num(m->qini));
    cJSON_AddItemToObject(t, "auuc", ps_json_num(m->auuc));
    cJSON_AddItemToObject(t, "qini_area", ps_json_num(m->qini_area));
    cJSON_AddItemToObject(t, "uplift_area", ps_json_num(m->auuc_area));
    cJSON *dc = cJSON_AddObjectToObject(t, "deciles");
    cJSON_AddItemToObject(dc, "n_treatment", ps_json_arr(m->bin_n_t, PS_UPLIFT_BINS));
    cJSON_AddItemToObject(dc, "n_control", ps_json_arr(m->bin_n_c, PS_UPLIFT_BINS));
    cJSON_AddItemToObject(dc, "rate_treatment", ps_json_arr(m->bin_rate_t, PS_UPLIFT_BINS));
    cJSON_AddItemToObject(dc, "rate_control", ps_json_arr(m->bin_rate_c, PS_UPLIFT_BINS));
    cJSON_AddItemToObject(dc, "uplift", ps_json_arr(m->bin_uplift, PS_UPLIFT_BINS));
    cJSON_AddItemToObject(dc, "uplift_se", ps_json_arr(m->bin_se, PS_UPLIFT_BINS));
    cJSON_AddItemToObject(dc, "depth_rows", ps_json_arr(m->depth_rows, PS_UPLIFT_BINS));
    cJSON_AddItemToObject(dc, "incremental_conversions", ps_json_arr(m->depth_incremental, PS_UPLIFT_BINS));
    cJSON_AddItemToObject(dc, "uplift_curve", ps_json_arr(m->depth_uplift_curve, PS_UPLIFT_BINS));
  }
  char *s = cJSON_PrintBuffered(root, 1 << 16, 1);
  ps_out("%s", s);
  free(s);
  cJSON_Delete(root);
}

/* Rank 0: the tables for people. */
static void uplift_print(const uplift_eval_opts_t *o, const char *split, char **targets, int k,
                         const ps_uplift_metrics_t *mt) {
  for (int h = 0; h < k; h++) {
    const ps_uplift_metrics_t *m = &mt[h];
    ps_out("== %s uplift by %s  (%s split: %.0f rows; treated %.0f, rate %.4f; control %.0f, rate %.4f)",
           targets[h], o->treatment, split, m->n, m->n_t, m->n_t > 0 ? m->y_t / m->n_t : 0, m->n_c,
           m->n_c > 0 ? m->y_c / m->n_c : 0);
    ps_out("Qini coefficient %.6f  AUUC %.6f  (scikit-uplift qini_auc_score, uplift_auc_score)", m->qini, m->auuc);
    ps_out("  decile %9s %9s %9s %9s %9s %9s %10s %12s", "treated", "control", "rate_t", "rate_c", "uplift", "se",
           "depth", "incremental");
    for (int b = 0; b < PS_UPLIFT_BINS; b++)
      ps_out("  %6d %9.0f %9.0f %9.4f %9.4f %9.4f %9.4f %10.0f %12.1f", b + 1, m->bin_n_t[b], m->bin_n_c[b],
             m->bin_rate_t[b], m->bin_rate_c[b], m->bin_uplift[b], m->bin_se[b], m->depth_rows[b],
             m->depth_incremental[b]);
  }
}

int uplift_eval_run(const uplift_eval_opts_t *o) {
  const char *split = o->split;
  double holdout = o->holdout;
  int64_t salt = o->split_salt;
  ps_data_t d;
  data_open(o->data, &d);
  char *tt[1] = {(char *)o->treatment};
  data_check_targets(&d, tt, 1);
  ps_h5_t sf = scores_open(o->scores, "scores");
  split = scores_split(sf, split, &holdout, &salt);
  eval_check_split(split, o->holdout, o->split_salt);
  int64_t row0, n;
  int64_t *ids = scores_data_ids(sf, o->scores, &d, &row0, &n);
  size_t nn = (size_t)(n > 0 ? n : 1);
  int k = 0;
  char **targets = o->targets ? ps_split(o->targets, ',', &k) : h5_list_datasets(sf, "/uplift", &k);
  if (k == 0) ps_die_all(PS_EXIT_ERROR, "%s: no /uplift/<target> datasets (scores of an uplift model?)", o->scores);
  data_check_targets(&d, targets, k);

  uint8_t *keep = ps_malloc(nn), *tr = ps_malloc(nn), *y = ps_malloc(nn);
  scores_split_keep(ids, n, split, holdout, salt, keep);
  free(ids);
  data_read_labels(&d, o->treatment, row0, n, 1, 0, tr);
  check_groups(o, split, tr, keep, n);
  size_t ucap = nn + nn / 4 + 1024; /* uplift_metrics receives its slice here (unwritten pages cost nothing) */
  double *u = ps_malloc(sizeof(double) * ucap);
  ps_uplift_metrics_t *mt = ps_calloc((size_t)k, sizeof(ps_uplift_metrics_t));
  int rss = getenv("PROPSCORE_REPORT_RSS") != NULL; /* tests: each rank's peak during the metrics */
  long metrics_rss = 0;
  for (int h = 0; h < k; h++) {
    char name[600];
    snprintf(name, sizeof name, "/uplift/%s", targets[h]);
    scores_read_head(sf, o->scores, name, d.n, row0, n, &PS_SCORE_UPLIFT, PS_F64, u);
    data_read_labels(&d, targets[h], row0, n, 1, 0, y);
    if (rss) ps_reset_peak_rss(); /* the metrics' own peak, not the reads' */
    uplift_metrics(u, ucap, y, tr, keep, row0, n, d.n, &mt[h]); /* u is used up: the next target reads its own */
    if (rss && ps_peak_rss_kb() > metrics_rss) metrics_rss = ps_peak_rss_kb();
  }
  if (rss) fprintf(stderr, "propscore: rank %d uplift metrics peak RSS %ld KiB\n", ps_rank, metrics_rss);
  if (ps_rank == 0 && o->json) uplift_json(o, split, targets, k, mt);
  else if (ps_rank == 0) uplift_print(o, split, targets, k, mt);
  free(mt);
  free(u);
  free(keep);
  free(tr);
  free(y);
  ps_free_strv(targets);
  h5_close(sf);
  data_close(&d);
  return 0;
}
