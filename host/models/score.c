/* score.c: the score job (see score.h). The pipeline's thread reads block
 * b+1 and writes block b-1 while block b is scored; a stop signal is agreed
 * at a block boundary, the finished blocks stay in <out>.partial-<run id>
 * with <partial>.progress ("fingerprint\nblocks done\n"), and the same
 * command resumes after them; any other job gets its own partial. */
#define _POSIX_C_SOURCE 200809L
#include "models/score.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "comm/comm.h"
#include "core/fingerprint.h"
#include "core/partition.h"
#include "core/progress.h"
#include "core/signals.h"
#include "core/util.h"
#include "io/data.h"
#include "io/h5.h"
#include "io/manifest.h"
#include "io/output.h"
#include "io/pipeline.h"
#include "models/scorer_registry.h"

static const char *const NONFINITE[] = {"impute", "reject", NULL};
#define F(field) offsetof(score_opts_t, field)
static const ps_option_t SCORE_OPTS[] = {
    {.name = "data", .type = OPT_STR, .off = F(data), .arg = "FILE", .help = "feature file", .flags = OPT_REQUIRED, .short_name = 'd'},
    {.name = "model", .type = OPT_STR, .off = F(model), .arg = "FILE", .help = "model file (any kind)", .flags = OPT_REQUIRED, .short_name = 'm'},
    {.name = "out", .type = OPT_STR, .off = F(out), .arg = "FILE", .help = "scores file", .flags = OPT_REQUIRED, .short_name = 'o'},
    {.name = "block-rows", .type = OPT_I64, .off = F(block_rows), .min = 1, .max = (int64_t)1 << 30, .arg = "N",
     .help = "rows per rank per block (default: about 64 MiB of features);\nmemory per rank is about 2 N x (4 x features + 16 + 4 x heads) bytes",
     .short_name = 'b'},
    {.name = "nonfinite", .type = OPT_CHOICE, .off = F(reject_nonfinite), .choices = NONFINITE, .def = "impute", .arg = "P",
     .help = "impute|reject NaN/Inf features (default impute: by the training mean)", .fp = "reject_nonfinite",
     .manifest = "nonfinite", .short_name = 'N'},
    {.name = "device", .type = OPT_STR, .off = F(device), .def = "auto", .arg = "D",
     .help = "cpu|cuda|auto (default auto: cuda when every rank sees a GPU)", .short_name = 'D'},
    {.name = "quiet", .type = OPT_FLAG, .ptr = &ps_quiet, .help = "no progress log", .short_name = 'q'},
    {0}};
#undef F

const ps_cmd_spec_t score_cmd = {
    .name = "score",
    .opts = SCORE_OPTS,
    .usage = "usage: propscore score --data FILE.h5 --model MODEL.h5 --out SCORES.h5 [options]\n"
             "\n"
             "Write /customer_id and /scores/<target> (float32 probabilities) for every row.\n",
    .epilog = "The output is written to SCORES.h5.partial-<run id> and renamed when complete; while\n"
              "it runs, SCORES.h5.lock keeps a second run off the same output. On SIGTERM or SIGUSR1\n"
              "the finished blocks are kept (exit 75); the same command resumes after them.\n"};

/* Blocks done by a stopped run of this very job (-1: none). */
static int64_t read_progress(const char *path, const char *fp) {
  int64_t done = -1;
  if (ps_rank == 0) {
    FILE *f = fopen(path, "r");
    if (f) {
      size_t cap = strlen(fp) + 64;
      char *line = ps_malloc(cap);
      long long b = -1;
      if (fgets(line, (int)cap, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!strcmp(line, fp) && fscanf(f, "%lld", &b) == 1 && b >= 0) done = b;
      }
      free(line);
      fclose(f);
    }
  }
  comm_bcast(&done, sizeof done, 0);
  return done;
}

int score_run(const score_opts_t *o) {
  manifest_set_output(o->out);
  char *manifest = ps_sprintf("%s.manifest.json", o->out);
  ps_path_t in[] = {{"--data", o->data}, {"--model", o->model}};
  ps_path_t outs[] = {{"--out", o->out}, {"the manifest", manifest}};
  out_check_paths(in, 2, outs, 2);
  ps_scorer_t *sc = scorer_open(o->model, o->device);
  manifest_device(sc->device);
  double t0 = ps_now();
  ps_data_t d;
  data_open(o->data, &d);
  scorer_check_data(sc, o->model, &d);
  manifest_input("data", o->data, 0);
  manifest_input("model", o->model, 1);
  int k = sc->k;
  int64_t f = d.f, n_all = d.n, row0, n;
  ps_partition(n_all, ps_size, ps_rank, &row0, &n);
  int64_t *ids = ps_malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
  data_read_ids(&d, row0, n, ids);
  data_check_unique_ids(&d, ids, row0, n);
  free(ids);
  int64_t br = o->block_rows > 0 ? o->block_rows : h5_block_rows(4 * f, d.chunk_rows);

  /* what this job is: the partial of a stopped run of it is resumable */
  ps_fp_t fp;
  fp_init(&fp);
  fp_str(&fp, "job", "score");
  fp_str(&fp, "version", PROPSCORE_VERSION);
  fp_file(&fp, "data", o->data);
  fp_file(&fp, "model", o->model);
  fp_int(&fp, "ranks", ps_size);
  fp_int(&fp, "block_rows", br);
  opts_fingerprint(SCORE_OPTS, o, &fp);
  int exists = 0;
  ps_output_t *out = out_begin_partial(o->out, fp_hash(fp.s), &exists);
  char *partial = ps_strdup(out_tmp(out));
  char *progress = ps_sprintf("%s.progress", partial);
  int64_t start = exists ? read_progress(progress, fp.s) : -1;
  if (exists && start < 0) ps_log("score: %s holds no finished blocks of this job: starting over", partial);
  if (start < 0) start = 0;
  if (ps_rank == 0) ps_tmp_register(progress);

  ps_h5_t fid, did, gs, gu = -1;
  int U = sc->uplift ? 1 : 0; /* an uplift model: also /uplift/<target> = P(y|treated) - P(y|control) */
  ps_h5_t *ds = ps_malloc(sizeof(ps_h5_t) * (size_t)k), *du = ps_malloc(sizeof(ps_h5_t) * (size_t)k);
  double t_meta = ps_now(); /* metadata (create, attributes) timed apart from data, as h5bench does */
  if (start > 0) {
    ps_log("score: resuming %s after %lld blocks", partial, (long long)start);
    fid = h5_open_rw(partial);
    int64_t dims[1];
    did = h5_dset_open(fid, partial, "/customer_id", 1, PS_KIND_INT, "int64", dims);
    gs = h5_group_open(fid, partial, "/scores");
    for (int h = 0; h < k; h++) ds[h] = h5_dset_open(gs, partial, sc->targets[h], 1, PS_KIND_FLOAT, "float32", dims);
    if (U) {
      gu = h5_group_open(fid, partial, "/uplift");
      for (int h = 0; h < k; h++) du[h] = h5_dset_open(gu, partial, sc->targets[h], 1, PS_KIND_FLOAT, "float32", dims);
    }
  } else {
    fid = h5_create(partial, 1);
    char ts[64];
    ps_timestamp(ts, sizeof ts);
    h5_attr_i64(fid, "schema_version", PS_SCHEMA_VERSION);
    h5_attr_str(fid, "kind", "scores");
    h5_attr_str(fid, "model", o->model);
    h5_attr_str(fid, "data", o->data);
    h5_attr_str(fid, "created", ts);
    h5_attr_f64(fid, "holdout", sc->holdout);
    h5_attr_i64(fid, "split_salt", sc->split_salt);
    int64_t dims[1] = {n_all}, chunk[1] = {n_all < (1 << 20) ? n_all : (1 << 20)};
    if (chunk[0] < 1) chunk[0] = 1;
    did = h5_dset_create(fid, "/customer_id", PS_I64, 1, dims, chunk);
    gs = h5_group_create(fid, "/scores");
    for (int h = 0; h < k; h++) ds[h] = h5_dset_create(gs, sc->targets[h], PS_F32, 1, dims, chunk);
    if (U) {
      h5_attr_str(gs, "uplift_model", "scores are P(y | treated)");
      gu = h5_group_create(fid, "/uplift");
      for (int h = 0; h < k; h++) du[h] = h5_dset_create(gu, sc->targets[h], PS_F32, 1, dims, chunk);
    }
  }
  t_meta = ps_now() - t_meta;

  ps_pipe_col_t pin[2] = {{d.features, PS_F32, f}, {d.ids, PS_I64, 0}};
  ps_pipe_col_t *pout = ps_malloc(sizeof(ps_pipe_col_t) * (size_t)(2 * k + 1));
  pout[0] = (ps_pipe_col_t){did, PS_I64, 0};
  for (int h = 0; h < k; h++) pout[1 + h] = (ps_pipe_col_t){ds[h], PS_F32, 0};
  for (int h = 0; h < k && U; h++) pout[1 + k + h] = (ps_pipe_col_t){du[h], PS_F32, 0};
  ps_pipe_spec_t spec = {"score", row0, n, br, 2, (1 + U) * k + 1, pin, pout, 1};
  ps_pipe_t *pipe = pipe_open(&spec);
  int64_t nb = pipe_blocks(pipe);
  float *P = ps_malloc(sizeof(float) * (size_t)br * (size_t)k * (size_t)(1 + U));
  ps_progress_t prog;
  ps_progress_init(&prog, "score", (double)n_all, 4.0 * (double)f);
  double t_comp = 0;
  char msg[1024];
  pipe_start(pipe, start);
  ps_block_t b;
  while (pipe_next(pipe, &b)) {
    const float *X = b.in[0];
    int64_t r = -1, c = -1;
    if (o->reject_nonfinite && data_first_nonfinite(X, b.rows, f, &r, &c)) {
      data_nonfinite_message(&d, row0 + b.first + r, c, X[(size_t)r * (size_t)f + (size_t)c], msg, sizeof msg);
      pipe_fail(pipe, row0 + b.first + r, "%s", msg);
    }
    double tc = ps_now();
    sc->predict(sc, X, b.rows, P);
    for (int h = 0; h < k; h++) memcpy(b.out[1 + h], P + (size_t)h * (size_t)b.rows, sizeof(float) * (size_t)b.rows);
    for (int h = 0; h < k && U; h++) {
      const float *pt = P + (size_t)h * (size_t)b.rows, *pc = P + (size_t)(k + h) * (size_t)b.rows;
      float *w = b.out[1 + k + h];
      for (int64_t i = 0; i < b.rows; i++) w[i] = (float)((double)pt[i] - (double)pc[i]);
    }
    memcpy(b.out[0], b.in[1], sizeof(int64_t) * (size_t)b.rows);
    t_comp += ps_now() - tc;
    ps_progress_update(&prog, (double)(b.first + b.rows) * (double)ps_size);
  }
  int64_t stop_at = nb;
  int stopped = pipe_check(pipe, &stop_at) == PS_PIPE_STOPPED;
  double t_read = pipe_read_seconds(pipe), t_write = pipe_write_seconds(pipe);
  pipe_close(pipe);
  free(P);
  free(pout);
  for (int h = 0; h < k; h++) h5_close(ds[h]);
  for (int h = 0; h < k && U; h++) h5_close(du[h]);
  h5_close(did);
  h5_close(gs);
  h5_close(gu);
  free(du);
  double tc0 = ps_now();
  h5_close(fid);
  comm_barrier();
  free(ds);
  if (stopped) {
    int sig = comm_agree_stop();
    if (ps_rank == 0) {
      char *text = ps_sprintf("%s\n%lld\n", fp.s, (long long)stop_at);
      if (out_write_small(progress, text, 0600) != 0) ps_die_local("cannot write %s", progress);
      free(text);
      ps_tmp_forget(progress);
    }
    out_keep(out);
    ps_log("score: stop signal after %lld of %lld blocks; run the same command again to resume", (long long)stop_at,
           (long long)nb);
    manifest_phase("read", t_read);
    manifest_phase("compute", t_comp);
    manifest_phase("write", t_write);
    manifest_finish(PS_EXIT_STOPPED, "stopped by a signal; finished blocks kept for resume");
    ps_out("score: stopped by %s; %s kept for resume", ps_signal_name(sig), partial);
  } else {
    out_commit(out);
    if (ps_rank == 0) {
      unlink(progress);
      ps_tmp_forget(progress);
    }
    t_write += ps_now() - tc0;
    double el = ps_now() - t0;
    ps_log("score: rank 0 time: metadata %.3f s, read %.2f s, compute %.2f s, write %.2f s (%.2f GB/s of scores)",
           t_meta, t_read, t_comp, t_write, (double)n_all * (8.0 + 4.0 * k) / 1e9 / (t_write > 0 ? t_write : 1e-9));
    ps_out("score: wrote %s: %lld customers x %d head%s in %.2f s (%.0f rows/s, %.2f GB/s of features, %d rank%s)",
           o->out, (long long)n_all, k, k == 1 ? "" : "s", el, (double)n_all / el,
           (double)n_all * (double)f * 4.0 / 1e9 / el, ps_size, ps_size == 1 ? "" : "s");
    manifest_output("scores", o->out);
    manifest_param_num("block_rows", (double)br);
    manifest_params(SCORE_OPTS, o);
    manifest_phase("metadata", t_meta);
    manifest_phase("read", t_read);
    manifest_phase("compute", t_comp);
    manifest_phase("write", t_write);
    cJSON *mj = manifest_metrics();
    if (mj) cJSON_AddNumberToObject(mj, "rows", (double)n_all);
    manifest_finish(0, NULL);
  }
  free(progress);
  free(partial);
  free(manifest);
  fp_free(&fp);
  data_close(&d);
  scorer_close(sc);
  return stopped ? PS_EXIT_STOPPED : 0;
}
