/* evaluate.c: the eval job (see evaluate.h). */
#include "stats/evaluate.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/partition.h"
#include "core/rng.h"
#include "core/signals.h"
#include "core/util.h"
#include "io/data.h"
#include "io/h5.h"
#include "stats/metrics.h"
#include "stats/json_num.h"

int eval_run(const eval_opts_t *opts) {
  const char *data = opts->data, *scores = opts->scores, *split = opts->split, *targets_s = opts->targets;
  double holdout = opts->holdout;
  int64_t salt = opts->split_salt;
  int json = opts->json;
  ps_data_t d;
  data_open(data, &d);
  ps_h5_t sf = h5_open(scores, 1);
  char *kind = h5_get_attr_str(sf, "kind");
  if (!kind || strcmp(kind, "scores"))
    ps_die_all(PS_EXIT_ERROR, "%s: not a propscore scores file (kind = %s)", scores, kind ? kind : "missing");
  free(kind);
  double h_file = 0;
  int64_t salt_file = 0;
  h5_get_attr_f64(sf, "holdout", &h_file);
  h5_get_attr_i64(sf, "split_salt", &salt_file);
  if (holdout < 0) holdout = h_file;
  if (salt < 0) salt = salt_file;
  if (!split) split = holdout > 0 ? "valid" : "all";
  if (strcmp(split, "all") && !(holdout > 0))
    ps_die_all(PS_EXIT_USAGE, "--split %s: the scores file records no holdout; give --holdout", split);

  int64_t sdims[1];
  ps_h5_t sid = h5_dset_open(sf, scores, "/customer_id", 1, PS_KIND_INT, "int64", sdims);
  int64_t sn = sdims[0];
  if (sn != d.n)
    ps_die_all(PS_EXIT_ERROR, "%s: has %lld rows but data %s has %lld", scores, (long long)sn, data, (long long)d.n);

  int k = 0;
  char **targets = targets_s ? ps_split(targets_s, ',', &k) : h5_list_datasets(sf, "/scores", &k);
  if (k == 0) ps_die_all(PS_EXIT_ERROR, "%s: no /scores/<target> datasets", scores);

  int64_t row0, n;
  ps_partition(d.n, ps_size, ps_rank, &row0, &n);
  size_t nn = (size_t)(n > 0 ? n : 1);
  int64_t *ids = ps_malloc(sizeof(int64_t) * nn), *sids = ps_malloc(sizeof(int64_t) * nn);
  data_read_ids(&d, row0, n, ids);
  h5_read_range(sid, PS_I64, row0, n, 0, sids);
  h5_close(sid);
  data_check_same_ids(ids, sids, row0, n, scores, "data", data, "scores from other data?");
  char msg[1024] = {0};
  int bad = 0;
  uint8_t *keep = ps_malloc(nn);
  for (int64_t i = 0; i < n; i++) {
    int va = holdout > 0 && ps_id_unit(ids[i], (uint64_t)salt) < holdout;
    keep[i] = !strcmp(split, "all") || (!strcmp(split, "valid") ? va : !va);
  }
  free(ids);
  free(sids);

  ps_metrics_t *mt = ps_calloc((size_t)k, sizeof(ps_metrics_t));
  float *p = ps_malloc(sizeof(float) * nn);
  uint8_t *y = ps_malloc(nn);
  for (int h = 0; h < k; h++) {
    ps_fault_tick("head");
    if (comm_agree_stop()) {
      ps_out("eval: stopped by a signal before the end; nothing was written");
      return PS_EXIT_STOPPED;
    }
    char name[600];
    snprintf(name, sizeof name, "/scores/%s", targets[h]);
    int64_t pdims[1];
    ps_h5_t ds = h5_dset_open(sf, scores, name, 1, PS_KIND_FLOAT, "float32", pdims);
    if (pdims[0] != d.n)
      ps_die_all(PS_EXIT_ERROR, "%s: %s has %lld rows but data %s has %lld", scores, name, (long long)pdims[0], data,
                 (long long)d.n);
    h5_read_range(ds, PS_F32, row0, n, 0, p);
    h5_close(ds);
    bad = 0;
    for (int64_t i = 0; i < n && !bad; i++)
      if (!(p[i] >= 0.0f && p[i] <= 1.0f)) {
        bad = 1;
        snprintf(msg, sizeof msg, "%s: %s row %lld: score %g is not a probability", scores, name,
                 (long long)(row0 + i), p[i]);
      }
    ps_check_all(bad, msg);
    data_read_labels(&d, targets[h], row0, n, 1, 0, y);
    metrics_compute(p, y, keep, n, &mt[h]);
  }
  free(p);
  free(y);
  free(keep);

  if (ps_rank == 0 && json) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "data", data);
    cJSON_AddStringToObject(root, "scores", scores);
    cJSON_AddStringToObject(root, "split", split);
    cJSON *ts = cJSON_AddObjectToObject(root, "targets");
    for (int h = 0; h < k; h++) {
      ps_metrics_t *m = &mt[h];
      cJSON *o = cJSON_AddObjectToObject(ts, targets[h]);
      cJSON_AddNumberToObject(o, "rows", m->n);
      cJSON_AddNumberToObject(o, "positives", m->pos);
      cJSON_AddItemToObject(o, "roc_auc", ps_json_num(m->auc));
      cJSON_AddItemToObject(o, "pr_auc", ps_json_num(m->pr_auc));
      cJSON_AddItemToObject(o, "log_loss", ps_json_num(m->logloss));
      cJSON_AddItemToObject(o, "brier", ps_json_num(m->brier));
      cJSON *l = cJSON_AddObjectToObject(o, "lift");
      cJSON_AddItemToObject(l, "rows", ps_json_arr(m->lift_rows, PS_BINS));
      cJSON_AddItemToObject(l, "positives", ps_json_arr(m->lift_pos, PS_BINS));
      cJSON_AddItemToObject(l, "rate", ps_json_arr(m->lift_rate, PS_BINS));
      cJSON_AddItemToObject(l, "lift", ps_json_arr(m->lift, PS_BINS));
      cJSON_AddItemToObject(l, "cumulative_gain", ps_json_arr(m->lift_gain, PS_BINS));
      cJSON_AddItemToObject(l, "min_score", ps_json_arr(m->lift_min_score, PS_BINS));
      cJSON *cb = cJSON_AddObjectToObject(o, "calibration");
      cJSON_AddItemToObject(cb, "rows", ps_json_arr(m->cal_n, PS_BINS));
      cJSON_AddItemToObject(cb, "mean_predicted", ps_json_arr(m->cal_pred, PS_BINS));
      cJSON_AddItemToObject(cb, "observed_rate", ps_json_arr(m->cal_obs, PS_BINS));
    }
    char *s = cJSON_PrintBuffered(root, 1 << 16, 1);
    ps_out("%s", s);
    free(s);
    cJSON_Delete(root);
  } else if (ps_rank == 0) {
    for (int h = 0; h < k; h++) {
      ps_metrics_t *m = &mt[h];
      ps_out("== %s  (%s split: %.0f rows, %.0f positives, rate %.4f)", targets[h], split, m->n, m->pos,
             m->n > 0 ? m->pos / m->n : 0);
      ps_out("ROC-AUC %.6f  PR-AUC %.6f  log-loss %.6f  Brier %.6f", m->auc, m->pr_auc, m->logloss, m->brier);
      ps_out("  decile  %10s %10s %8s %6s %8s %10s", "rows", "positives", "rate", "lift", "cum.gain", "min score");
      for (int b = 0; b < PS_BINS; b++)
        ps_out("  %6d  %10.0f %10.1f %8.4f %6.2f %7.1f%% %10.6f", b + 1, m->lift_rows[b], m->lift_pos[b],
               m->lift_rate[b], m->lift[b], 100 * m->lift_gain[b], m->lift_min_score[b]);
      ps_out("  calibration bin  %10s %10s %10s", "rows", "predicted", "observed");
      for (int b = 0; b < PS_BINS; b++)
        if (m->cal_n[b] > 0)
          ps_out("  [%.1f, %.1f)       %10.0f %10.4f %10.4f", b / 10.0, (b + 1) / 10.0, m->cal_n[b], m->cal_pred[b],
                 m->cal_obs[b]);
    }
  }
  free(mt);
  ps_free_strv(targets);
  h5_close(sf);
  data_close(&d);
  return 0;
}
