/* inspect.c: the inspect job (see inspect.h). */
#include "stats/inspect.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/partition.h"
#include "core/progress.h"
#include "core/signals.h"
#include "core/util.h"
#include "io/data.h"
#include "io/pipeline.h"
#include "stats/colstats.h"
#include "stats/json_num.h"

int inspect_run(const inspect_opts_t *opts) {
  const char *path = opts->path;
  int json = opts->json;

  ps_data_t d;
  data_open(path, &d);
  int64_t f = d.f, row0, n;
  ps_partition(d.n, ps_size, ps_rank, &row0, &n);

  ps_colstat_t *st = ps_malloc(sizeof(ps_colstat_t) * (size_t)(f > 0 ? f : 1));
  ps_colacc_t *sa = stats_tree_begin(f, n > 0 ? row0 : 0); /* the same numbers for any rank count */
  ps_pipe_col_t in = {d.features, PS_F32, f};
  int64_t br = opts->block_rows > 0 ? opts->block_rows : h5_block_rows(4 * f, d.chunk_rows);
  ps_pipe_spec_t spec = {"inspect", row0, n, br, 1, 0, &in, NULL, 1};
  ps_pipe_t *pipe = pipe_open(&spec);
  ps_progress_t prog;
  ps_progress_init(&prog, "inspect", (double)d.n, 4.0 * (double)f);
  ps_block_t b;
  pipe_start(pipe, 0);
  while (pipe_next(pipe, &b)) {
    stats_tree_add(sa, b.in[0], b.rows, NULL);
    ps_progress_update(&prog, (double)(b.first + b.rows) * (double)ps_size);
  }
  int stopped = pipe_check(pipe, NULL) == PS_PIPE_STOPPED;
  pipe_close(pipe);
  stats_tree_end(sa, st);
  if (stopped) {
    int sig = comm_agree_stop();
    ps_out("inspect: stopped by %s before the end; nothing was written", ps_signal_name(sig));
    free(st);
    data_close(&d);
    return PS_EXIT_STOPPED;
  }

  /* Labels: positives, negatives and anything else. */
  int nt = 0;
  char **targets = data_targets(&d, &nt);
  int64_t *lc = ps_calloc((size_t)(3 * (nt > 0 ? nt : 1)), sizeof(int64_t));
  double *lab = ps_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  for (int t = 0; t < nt; t++) {
    data_read_labels_raw(&d, targets[t], row0, n, lab);
    for (int64_t i = 0; i < n; i++) {
      if (lab[i] == 1.0) lc[3 * t]++;
      else if (lab[i] == 0.0) lc[3 * t + 1]++;
      else lc[3 * t + 2]++;
    }
  }
  free(lab);
  comm_allreduce_sum_i64(lc, (size_t)(3 * (nt > 0 ? nt : 1)));

  double tot_nan = 0, tot_inf = 0;
  int cols_nonfinite = 0;
  for (int64_t j = 0; j < f; j++) {
    tot_nan += st[j].nan;
    tot_inf += st[j].inf;
    cols_nonfinite += (st[j].nan + st[j].inf) > 0;
  }
  if (ps_rank == 0) {
    if (json) {
      cJSON *root = cJSON_CreateObject();
      cJSON_AddStringToObject(root, "file", path);
      cJSON_AddNumberToObject(root, "schema_version", d.schema_version);
      cJSON_AddNumberToObject(root, "rows", (double)d.n);
      cJSON_AddNumberToObject(root, "features", (double)f);
      cJSON_AddNumberToObject(root, "chunk_rows", (double)d.chunk_rows);
      cJSON_AddNumberToObject(root, "nan", tot_nan);
      cJSON_AddNumberToObject(root, "inf", tot_inf);
      cJSON *cols = cJSON_AddArrayToObject(root, "columns");
      for (int64_t j = 0; j < f; j++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", d.feature_names[j]);
        cJSON_AddNumberToObject(o, "count", st[j].count);
        cJSON_AddNumberToObject(o, "nan", st[j].nan);
        cJSON_AddNumberToObject(o, "inf", st[j].inf);
        cJSON_AddItemToObject(o, "min", ps_json_num(st[j].count > 0 ? st[j].min : NAN));
        cJSON_AddItemToObject(o, "max", ps_json_num(st[j].count > 0 ? st[j].max : NAN));
        cJSON_AddItemToObject(o, "mean", ps_json_num(stats_mean(&st[j])));
        cJSON_AddItemToObject(o, "std", ps_json_num(stats_std(&st[j])));
        cJSON_AddItemToArray(cols, o);
      }
      cJSON *labs = cJSON_AddObjectToObject(root, "labels");
      for (int t = 0; t < nt; t++) {
        cJSON *o = cJSON_AddObjectToObject(labs, targets[t]);
        cJSON_AddNumberToObject(o, "positives", (double)lc[3 * t]);
        cJSON_AddNumberToObject(o, "negatives", (double)lc[3 * t + 1]);
        cJSON_AddNumberToObject(o, "invalid", (double)lc[3 * t + 2]);
        cJSON_AddNumberToObject(o, "rate", d.n > 0 ? (double)lc[3 * t] / (double)d.n : 0.0);
      }
      char *s = cJSON_PrintBuffered(root, 1 << 16, 1);
      ps_out("%s", s);
      free(s);
      cJSON_Delete(root);
    } else {
      ps_out("file:      %s (schema_version %d)", path, d.schema_version);
      if (d.chunk_rows > 0)
        ps_out("shape:     %lld rows x %lld features, float32, chunks of %lld rows (%.2f MiB)", (long long)d.n,
               (long long)f, (long long)d.chunk_rows, (double)d.chunk_rows * (double)f * 4.0 / 1048576.0);
      else
        ps_out("shape:     %lld rows x %lld features, contiguous", (long long)d.n, (long long)f);
      ps_out("non-finite: %.0f NaN, %.0f Inf in %d column%s", tot_nan, tot_inf, cols_nonfinite,
             cols_nonfinite == 1 ? "" : "s");
      for (int t = 0; t < nt; t++)
        ps_out("label %-20s positives %lld (%.4f%%)%s", targets[t], (long long)lc[3 * t],
               d.n > 0 ? 100.0 * (double)lc[3 * t] / (double)d.n : 0.0,
               lc[3 * t + 2] ? "  WARNING: values not in {0,1}" : "");
      ps_out("%5s  %-28s %12s %9s %6s %14s %14s %14s %14s", "#", "name", "count", "nan", "inf", "min", "max",
             "mean", "std");
      for (int64_t j = 0; j < f; j++)
        ps_out("%5lld  %-28s %12.0f %9.0f %6.0f %14.6g %14.6g %14.6g %14.6g", (long long)j, d.feature_names[j],
               st[j].count, st[j].nan, st[j].inf, st[j].count > 0 ? st[j].min : NAN,
               st[j].count > 0 ? st[j].max : NAN, stats_mean(&st[j]), stats_std(&st[j]));
    }
  }
  ps_free_strv(targets);
  free(lc);
  free(st);
  data_close(&d);
  return 0;
}
