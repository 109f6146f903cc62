/* cmd_inspect.c: `propscore inspect` -- shape, chunking, per-feature
 * statistics (computed distributed) and label positive rates of a feature
 * file, as a table or JSON. */
#include <cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "comm.h"
#include "h5io.h"
#include "partition.h"
#include "stats.h"
#include "util.h"

static const char *USAGE =
    "usage: propscore inspect FILE.h5 [--json]\n"
    "\n"
    "Print the shape and chunking of a feature file, per-feature count (finite\n"
    "values), NaN and Inf counts, min, max, mean and std (population, over the\n"
    "finite values), and the positive rate of every /labels/<target>.\n"
    "  --json   one JSON document on stdout instead of the table\n";

static cJSON *num_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

int cmd_inspect(int argc, char **argv) {
  int json = 0;
  static struct option opts[] = {{"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
    if (c == 'j') json = 1;
    else if (c == 'h') { ps_out("%s", USAGE); return 0; }
    else ps_die_all(PS_EXIT_USAGE, "inspect: bad option (see propscore inspect --help)");
  }
  if (optind != argc - 1) ps_die_all(PS_EXIT_USAGE, "inspect: give exactly one FILE.h5 (see propscore inspect --help)");
  const char *path = argv[optind];

  ps_data_t d;
  h5io_open_data(path, &d);
  int64_t f = d.f, row0, n;
  ps_partition(d.n, ps_size, ps_rank, &row0, &n);

  ps_colstat_t *st = ps_malloc(sizeof(ps_colstat_t) * (size_t)f);
  stats_init(st, f);
  int64_t br = h5io_block_rows(4 * f, d.chunk_rows), nb = h5io_common_blocks(n, br);
  float *x = ps_malloc(sizeof(float) * (size_t)br * (size_t)f);
  ps_progress_t prog;
  ps_progress_init(&prog, "inspect", (double)d.n, 4.0 * (double)f);
  for (int64_t b = 0; b < nb; b++) {
    int64_t r0 = b * br, m = n - r0 > br ? br : n - r0;
    if (m < 0) m = 0;
    h5io_xfer_rows(d.features, H5T_NATIVE_FLOAT, row0 + r0, m, f, x, 0);
    stats_add_block(st, x, m, f, NULL);
    ps_progress_update(&prog, (double)(r0 + m) * (double)ps_size);
  }
  free(x);
  stats_allreduce(st, f);

  /* Labels: positives, negatives and anything else. */
  int nt = 0;
  char **targets = h5io_list_group(d.fid, "/labels", &nt);
  int64_t *lc = ps_calloc((size_t)(3 * (nt > 0 ? nt : 1)), sizeof(int64_t));
  double *lab = ps_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  for (int t = 0; t < nt; t++) {
    h5io_read_labels(&d, targets[t], row0, n, lab);
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
        cJSON_AddItemToObject(o, "min", num_or_null(st[j].count > 0 ? st[j].min : NAN));
        cJSON_AddItemToObject(o, "max", num_or_null(st[j].count > 0 ? st[j].max : NAN));
        cJSON_AddItemToObject(o, "mean", num_or_null(stats_mean(&st[j])));
        cJSON_AddItemToObject(o, "std", num_or_null(stats_std(&st[j])));
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
               100.0 * (double)lc[3 * t] / (double)d.n, lc[3 * t + 2] ? "  WARNING: values not in {0,1}" : "");
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
  h5io_close_data(&d);
  return 0;
}
