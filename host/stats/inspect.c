/* inspect.c: the inspect job (see inspect.h). */
#include "stats/inspect.h"

#include <cJSON.h>
#include <math.h>
#include <stddef.h>
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

static const ps_option_t INSPECT_OPTS[] = {
    {.name = "json", .type = OPT_FLAG, .off = offsetof(inspect_opts_t, json), .short_name = 'j',
     .help = "one JSON document on stdout instead of the table"},
    {.name = "block-rows", .type = OPT_I64, .off = offsetof(inspect_opts_t, block_rows), .min = 1,
     .max = (int64_t)1 << 30, .arg = "N", .short_name = 'b',
     .help = "rows a rank reads at a time (default: about 64 MiB of features)"},
    {.name = "quiet", .type = OPT_FLAG, .ptr = &ps_quiet, .short_name = 'q', .help = "no progress log"},
    {0}};

const ps_cmd_spec_t inspect_cmd = {
    .name = "inspect",
    .opts = INSPECT_OPTS,
    .operand = "FILE.h5",
    .operand_off = offsetof(inspect_opts_t, path),
    .usage = "usage: propscore inspect FILE.h5 [--json] [--quiet]\n"
             "\n"
             "Print the shape and chunking of a feature file, per-feature count (finite\n"
             "values), NaN and Inf counts, min, max, mean and std (population, over the\n"
             "finite values), and the positive rate of every /labels/<target>.\n"};

/* Column statistics of this rank's rows, summed in a tree that gives the
 * same numbers for any rank count; 1 if a stop signal ended the pass. */
static int inspect_columns(const inspect_opts_t *opts, ps_data_t *d, int64_t row0, int64_t n, ps_colstat_t *st) {
  int64_t f = d->f;
  ps_colacc_t *sa = stats_tree_begin(f, n > 0 ? row0 : 0);
  ps_pipe_col_t in = data_features_col(d);
  int64_t br = opts->block_rows > 0 ? opts->block_rows : h5_block_rows(4 * f, d->chunk_rows);
  ps_pipe_spec_t spec = {.what = "inspect", .row0 = row0, .n = n, .block_rows = br, .nin = 1, .in = &in, .agree_stop = 1};
  ps_pipe_t *pipe = pipe_open(&spec);
  ps_progress_t prog;
  ps_progress_init(&prog, "inspect", (double)d->n, 4.0 * (double)f);
  ps_block_t b;
  pipe_start(pipe, 0);
  while (pipe_next(pipe, &b)) {
    stats_tree_add(sa, b.in[0], b.rows, NULL);
    ps_progress_update(&prog, (double)(b.first + b.rows) * (double)ps_size);
  }
  int stopped = pipe_check(pipe, NULL) == PS_PIPE_STOPPED;
  pipe_close(pipe);
  stats_tree_end(sa, st);
  return stopped;
}

/* Per target: positives, negatives and anything else, [3 * nt], summed over ranks. */
static int64_t *inspect_labels(ps_data_t *d, char **targets, int nt, int64_t row0, int64_t n) {
  int64_t *lc = ps_calloc((size_t)(3 * (nt > 0 ? nt : 1)), sizeof(int64_t));
  double *lab = ps_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  for (int t = 0; t < nt; t++) {
    data_read_labels_raw(d, targets[t], row0, n, lab);
    for (int64_t i = 0; i < n; i++) {
      if (lab[i] == 1.0) lc[3 * t]++;
      else if (lab[i] == 0.0) lc[3 * t + 1]++;
      else lc[3 * t + 2]++;
    }
  }
  free(lab);
  comm_allreduce_sum_i64(lc, (size_t)(3 * (nt > 0 ? nt : 1)));
  return lc;
}

/* What inspect found, for the two printers. */
typedef struct {
  const char *path;
  const ps_data_t *d;
  const ps_colstat_t *st;
  char **targets;
  int nt;
  const int64_t *lc;
  double nan, inf;
  int cols_nonfinite;
} inspect_result_t;

static void inspect_json(const inspect_result_t *r) {
  const ps_data_t *d = r->d;
  const ps_colstat_t *st = r->st;
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "file", r->path);
  cJSON_AddNumberToObject(root, "schema_version", d->schema_version);
  cJSON_AddNumberToObject(root, "rows", (double)d->n);
  cJSON_AddNumberToObject(root, "features", (double)d->f);
  cJSON_AddNumberToObject(root, "chunk_rows", (double)d->chunk_rows);
  cJSON_AddStringToObject(root, "layout", d->csr ? "csr" : "dense");
  if (d->csr) {
    cJSON_AddNumberToObject(root, "nnz", (double)d->sp.nnz);
    cJSON_AddNumberToObject(root, "density", d->n > 0 ? (double)d->sp.nnz / ((double)d->n * (double)d->f) : 0.0);
  }
  cJSON_AddNumberToObject(root, "nan", r->nan);
  cJSON_AddNumberToObject(root, "inf", r->inf);
  cJSON *cols = cJSON_AddArrayToObject(root, "columns");
  for (int64_t j = 0; j < d->f; j++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", d->feature_names[j]);
    cJSON_AddNumberToObject(o, "count", st[j].count);
    cJSON_AddNumberToObject(o, "nan", st[j].nan);
    cJSON_AddNumberToObject(o, "inf", st[j].inf);
    cJSON_AddItemToObject(o, "min", ps_json_num(st[j].count > 0 ? st[j].min : NAN));
    cJSON_AddItemToObject(o, "max", ps_json_num(st[j].count > 0 ? st[j].max : NAN));
    cJSON_AddItemToObject(o, "mean", ps_json_num(stats_mean(&st[j])));
    cJSON_AddItemToObject(o, "std", ps_json_num(stats_std(&st[j])));
    if (data_categories(d, j) > 0) /* a categorical column: its category names, code order */
      cJSON_AddItemToObject(o, "categories", cJSON_CreateStringArray((const char *const *)d->cat_names +
                                                                     d->cat_name_off[j], (int)data_categories(d, j)));
    cJSON_AddItemToArray(cols, o);
  }
  cJSON *labs = cJSON_AddObjectToObject(root, "labels");
  for (int t = 0; t < r->nt; t++) {
    const int64_t *c = r->lc + 3 * t;
    cJSON *o = cJSON_AddObjectToObject(labs, r->targets[t]);
    cJSON_AddNumberToObject(o, "positives", (double)c[0]);
    cJSON_AddNumberToObject(o, "negatives", (double)c[1]);
    cJSON_AddNumberToObject(o, "invalid", (double)c[2]);
    cJSON_AddNumberToObject(o, "rate", d->n > 0 ? (double)c[0] / (double)d->n : 0.0);
  }
  char *s = cJSON_PrintBuffered(root, 1 << 16, 1);
  ps_out("%s", s);
  free(s);
  cJSON_Delete(root);
}

/* One line a categorical column: its index, categories and first names. */
static void inspect_categories(const ps_data_t *d) {
  for (int64_t j = 0; j < d->f; j++) {
    int64_t C = data_categories(d, j);
    if (C == 0) continue;
    char buf[512] = "";
    size_t at = 0;
    for (int64_t c = 0; c < C && c < 8 && at < sizeof buf; c++)
      at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%d=%s", c ? ", " : "", (int)c,
                             d->cat_names[d->cat_name_off[j] + c]);
    ps_out("categorical %-20s column %lld, %lld categories (codes 0..%lld): %s%s", d->feature_names[j], (long long)j,
           (long long)C, (long long)(C - 1), buf, C > 8 ? ", ..." : "");
  }
}

static void inspect_table(const inspect_result_t *r) {
  const ps_data_t *d = r->d;
  const ps_colstat_t *st = r->st;
  int64_t f = d->f;
  ps_out("file:      %s (schema_version %d)", r->path, d->schema_version);
  if (d->csr)
    ps_out("shape:     %lld rows x %lld features, CSR (/features_csr): %lld stored values, density %.4f%%",
           (long long)d->n, (long long)f, (long long)d->sp.nnz,
           d->n > 0 ? 100.0 * (double)d->sp.nnz / ((double)d->n * (double)f) : 0.0);
  else if (d->chunk_rows > 0)
    ps_out("shape:     %lld rows x %lld features, float32, chunks of %lld rows (%.2f MiB)", (long long)d->n,
           (long long)f, (long long)d->chunk_rows, (double)d->chunk_rows * (double)f * 4.0 / 1048576.0);
  else
    ps_out("shape:     %lld rows x %lld features, contiguous", (long long)d->n, (long long)f);
  ps_out("non-finite: %.0f NaN, %.0f Inf in %d column%s", r->nan, r->inf, r->cols_nonfinite,
         r->cols_nonfinite == 1 ? "" : "s");
  for (int t = 0; t < r->nt; t++)
    ps_out("label %-20s positives %lld (%.4f%%)%s", r->targets[t], (long long)r->lc[3 * t],
           d->n > 0 ? 100.0 * (double)r->lc[3 * t] / (double)d->n : 0.0,
           r->lc[3 * t + 2] ? "  WARNING: values not in {0,1}" : "");
  inspect_categories(d);
  ps_out("%5s  %-28s %12s %9s %6s %14s %14s %14s %14s", "#", "name", "count", "nan", "inf", "min", "max", "mean",
         "std");
  for (int64_t j = 0; j < f; j++)
    ps_out("%5lld  %-28s %12.0f %9.0f %6.0f %14.6g %14.6g %14.6g %14.6g", (long long)j, d->feature_names[j],
           st[j].count, st[j].nan, st[j].inf, st[j].count > 0 ? st[j].min : NAN, st[j].count > 0 ? st[j].max : NAN,
           stats_mean(&st[j]), stats_std(&st[j]));
}

int inspect_run(const inspect_opts_t *opts) {
  ps_data_t d;
  data_open(opts->path, &d);
  int64_t f = d.f, row0, n;
  ps_partition(d.n, ps_size, ps_rank, &row0, &n);
  ps_colstat_t *st = ps_malloc(sizeof(ps_colstat_t) * (size_t)(f > 0 ? f : 1));
  if (inspect_columns(opts, &d, row0, n, st)) {
    int sig = comm_agree_stop();
    ps_out("inspect: stopped by %s before the end; nothing was written", ps_signal_name(sig));
    free(st);
    data_close(&d);
    return PS_EXIT_STOPPED;
  }
  inspect_result_t r = {.path = opts->path, .d = &d, .st = st};
  r.targets = data_targets(&d, &r.nt);
  int64_t *lc = inspect_labels(&d, r.targets, r.nt, row0, n);
  r.lc = lc;
  for (int64_t j = 0; j < f; j++) {
    r.nan += st[j].nan;
    r.inf += st[j].inf;
    r.cols_nonfinite += (st[j].nan + st[j].inf) > 0;
  }
  if (ps_rank == 0) (opts->json ? inspect_json : inspect_table)(&r);
  ps_free_strv(r.targets);
  free(lc);
  free(st);
  data_close(&d);
  return 0;
}
