/* cmd_eval.c: `propscore eval` -- exact ROC-AUC, PR-AUC, log-loss, Brier,
 * decile lift and calibration of a scores file against the data's labels,
 * on the validation split, the training split or all rows. */
#include <cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "comm.h"
#include "h5io.h"
#include "metrics.h"
#include "partition.h"
#include "rng.h"
#include "trainset.h"
#include "util.h"

static const char *USAGE =
    "usage: propscore eval --data FILE.h5 --scores SCORES.h5 [options]\n"
    "\n"
    "Per target: ROC-AUC, PR-AUC (average precision), log-loss, Brier score, a\n"
    "decile lift table and a 10-bin calibration table.\n"
    "  --split S        valid|train|all (default: valid when the scores came from a\n"
    "                   model trained with a holdout, else all)\n"
    "  --holdout F      override the validation fraction recorded in the scores file\n"
    "  --split-salt N   override the split salt recorded in the scores file\n"
    "  --targets a,b    targets to evaluate (default: every /scores/<target>)\n"
    "  --json           one JSON document on stdout\n";

static cJSON *num(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }
static cJSON *arr(const double *v, int n) {
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, num(v[i]));
  return a;
}

int cmd_eval(int argc, char **argv) {
  const char *data = NULL, *scores = NULL, *split = NULL, *targets_s = NULL;
  double holdout = -1;
  int64_t salt = -1;
  int json = 0;
  static struct option opts[] = {{"data", 1, 0, 'd'},    {"scores", 1, 0, 's'}, {"split", 1, 0, 'p'},
                                 {"holdout", 1, 0, 'H'}, {"split-salt", 1, 0, 'S'}, {"targets", 1, 0, 't'},
                                 {"json", 0, 0, 'j'},    {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "d:s:p:H:S:t:jh", opts, NULL)) != -1) {
    switch (c) {
      case 'd': data = optarg; break;
      case 's': scores = optarg; break;
      case 'p': split = optarg; break;
      case 'H': holdout = ps_parse_double("--holdout", optarg, 0.0, 0.9); break;
      case 'S': salt = ps_parse_ll("--split-salt", optarg, 0, INT64_MAX); break;
      case 't': targets_s = optarg; break;
      case 'j': json = 1; break;
      case 'h': ps_out("%s", USAGE); return 0;
      default: ps_die_all(PS_EXIT_USAGE, "eval: bad option (see propscore eval --help)");
    }
  }
  if (optind != argc) ps_die_all(PS_EXIT_USAGE, "eval: unexpected argument '%s'", argv[optind]);
  if (!data || !scores) ps_die_all(PS_EXIT_USAGE, "eval: --data and --scores are required (see propscore eval --help)");
  if (split && strcmp(split, "valid") && strcmp(split, "train") && strcmp(split, "all"))
    ps_die_all(PS_EXIT_USAGE, "--split: '%s' is not one of valid, train, all", split);

  ps_data_t d;
  h5io_open_data(data, &d);
  hid_t sf = h5io_open(scores, 1);
  char *kind = h5io_get_attr_str(sf, "kind");
  if (!kind || strcmp(kind, "scores"))
    ps_die_all(PS_EXIT_ERROR, "%s: not a propscore scores file (kind = %s)", scores, kind ? kind : "missing");
  free(kind);
  double h_file = 0;
  int64_t salt_file = 0;
  h5io_get_attr_f64(sf, "holdout", &h_file);
  h5io_get_attr_i64(sf, "split_salt", &salt_file);
  if (holdout < 0) holdout = h_file;
  if (salt < 0) salt = salt_file;
  if (!split) split = holdout > 0 ? "valid" : "all";
  if (strcmp(split, "all") && !(holdout > 0))
    ps_die_all(PS_EXIT_USAGE, "--split %s: the scores file records no holdout; give --holdout", split);

  hid_t sid = H5Dopen2(sf, "/customer_id", H5P_DEFAULT);
  if (sid < 0) ps_die_all(PS_EXIT_ERROR, "%s: dataset /customer_id not found", scores);
  hid_t sp = H5Dget_space(sid);
  int64_t sn = (int64_t)H5Sget_simple_extent_npoints(sp);
  H5Sclose(sp);
  if (sn != d.n)
    ps_die_all(PS_EXIT_ERROR, "%s: has %lld rows but data %s has %lld", scores, (long long)sn, data, (long long)d.n);

  int k = 0;
  char **targets = targets_s ? ps_split(targets_s, ',', &k) : h5io_list_group(sf, "/scores", &k);
  if (k == 0) ps_die_all(PS_EXIT_ERROR, "%s: no /scores/<target> datasets", scores);

  int64_t row0, n;
  ps_partition(d.n, ps_size, ps_rank, &row0, &n);
  size_t nn = (size_t)(n > 0 ? n : 1);
  int64_t *ids = ps_malloc(sizeof(int64_t) * nn), *sids = ps_malloc(sizeof(int64_t) * nn);
  h5io_read_range(d.ids, H5T_NATIVE_INT64, row0, n, 0, ids);
  h5io_read_range(sid, H5T_NATIVE_INT64, row0, n, 0, sids);
  H5Dclose(sid);
  char msg[1024] = {0};
  int bad = 0;
  for (int64_t i = 0; i < n && !bad; i++)
    if (ids[i] != sids[i]) {
      bad = 1;
      /* no customer ids in messages: the row is enough to find it */
      snprintf(msg, sizeof msg, "%s: /customer_id row %lld differs from data %s (scores from other data?)", scores,
               (long long)(row0 + i), data);
    }
  ps_check_all(bad, msg);
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
    char name[600];
    snprintf(name, sizeof name, "/scores/%s", targets[h]);
    if (!h5io_exists(sf, name)) ps_die_all(PS_EXIT_ERROR, "%s: dataset %s not found", scores, name);
    hid_t ds = H5Dopen2(sf, name, H5P_DEFAULT);
    h5io_read_range(ds, H5T_NATIVE_FLOAT, row0, n, 0, p);
    H5Dclose(ds);
    bad = 0;
    for (int64_t i = 0; i < n && !bad; i++)
      if (!(p[i] >= 0.0f && p[i] <= 1.0f)) {
        bad = 1;
        snprintf(msg, sizeof msg, "%s: %s row %lld: score %g is not a probability", scores, name,
                 (long long)(row0 + i), p[i]);
      }
    ps_check_all(bad, msg);
    trainset_read_labels(&d, targets[h], row0, n, 1, 0, y);
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
      cJSON_AddItemToObject(o, "roc_auc", num(m->auc));
      cJSON_AddItemToObject(o, "pr_auc", num(m->pr_auc));
      cJSON_AddItemToObject(o, "log_loss", num(m->logloss));
      cJSON_AddItemToObject(o, "brier", num(m->brier));
      cJSON *l = cJSON_AddObjectToObject(o, "lift");
      cJSON_AddItemToObject(l, "rows", arr(m->lift_rows, PS_BINS));
      cJSON_AddItemToObject(l, "positives", arr(m->lift_pos, PS_BINS));
      cJSON_AddItemToObject(l, "rate", arr(m->lift_rate, PS_BINS));
      cJSON_AddItemToObject(l, "lift", arr(m->lift, PS_BINS));
      cJSON_AddItemToObject(l, "cumulative_gain", arr(m->lift_gain, PS_BINS));
      cJSON_AddItemToObject(l, "min_score", arr(m->lift_min_score, PS_BINS));
      cJSON *cb = cJSON_AddObjectToObject(o, "calibration");
      cJSON_AddItemToObject(cb, "rows", arr(m->cal_n, PS_BINS));
      cJSON_AddItemToObject(cb, "mean_predicted", arr(m->cal_pred, PS_BINS));
      cJSON_AddItemToObject(cb, "observed_rate", arr(m->cal_obs, PS_BINS));
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
  h5io_close(sf);
  h5io_close_data(&d);
  return 0;
}
