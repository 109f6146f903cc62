/* score.c: the score job (see score.h). The pipeline's thread reads block
 * b+1 and writes block b-1 while block b is scored; a stop signal is agreed
 * at a block boundary, the finished blocks stay in <out>.partial-<run id>
 * with <partial>.progress ("fingerprint\nblocks done\n"), and the same
 * command resumes after them; any other job gets its own partial. */
#define _POSIX_C_SOURCE 200809L
#include "models/score.h"

#include <math.h>
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
#include "models/score_explain.h"
#include "models/scorer.h"
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
    {.name = "explain", .type = OPT_INT, .off = F(explain), .min = 1, .max = 32767, .arg = "N",
     .help = "also write each customer's N strongest reasons per head: the features of largest\n|contribution| to the log-odds and their signed values (/explain; trees: TreeSHAP);\nmemory per rank: about (block rows) x (8 x features + 12 x N x heads) bytes more"},
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

/* One score job in flight: its inputs, partial output and timings. */
typedef struct {
  const score_opts_t *o;
  ps_scorer_t *sc;
  ps_data_t d;
  int k, U;             /* heads; 1 for an uplift model (also /uplift/<target>) */
  int64_t f, n_all, row0, n, br;
  ps_fp_t fp;           /* what this job is: the partial of a stopped run of it is resumable */
  ps_output_t *out;
  char *partial, *progress, *manifest;
  int64_t start;        /* first block to score (after a stopped run's) */
  ps_h5_t fid, did, gs, gu, *ds, *du;
  score_explain_t x;    /* --explain */
  double t0, t_meta, t_read, t_comp, t_write;
  float *Xd;            /* a CSR file's block made dense where the scorer needs it, or NULL */
} score_job_t;

/* Outputs checked, model and data opened, ids checked unique. */
static void score_open_inputs(score_job_t *j) {
  const score_opts_t *o = j->o;
  manifest_set_output(o->out);
  j->manifest = ps_sprintf("%s.manifest.json", o->out);
  ps_path_t in[] = {{"--data", o->data}, {"--model", o->model}};
  ps_path_t outs[] = {{"--out", o->out}, {"the manifest", j->manifest}};
  out_check_paths(in, 2, outs, 2);
  j->sc = scorer_open(o->model, o->device);
  manifest_device(j->sc->device);
  j->t0 = ps_now();
  data_open(o->data, &j->d);
  scorer_check_data(j->sc, o->model, &j->d);
  score_explain_open(&j->x, o->explain, o->model, o->device, j->d.f);
  if (j->d.csr)
    ps_log("score: %s: %s", o->data,
           !j->sc->predict_csr                  ? "CSR rows made dense a block at a time (scored on the device)"
           : strcmp(j->sc->device, "cuda") == 0 ? "CSR rows scored from the stored values (on the device)"
                                                : "CSR rows scored from the stored values (CPU)");
  manifest_input("data", o->data, 0);
  manifest_input("model", o->model, 1);
  j->k = j->sc->k;
  j->U = j->sc->uplift ? 1 : 0;
  j->f = j->d.f;
  j->n_all = j->d.n;
  ps_partition(j->n_all, ps_size, ps_rank, &j->row0, &j->n);
  int64_t *ids = ps_malloc(sizeof(int64_t) * (size_t)(j->n > 0 ? j->n : 1));
  data_read_ids(&j->d, j->row0, j->n, ids);
  data_check_unique_ids(&j->d, ids, j->row0, j->n);
  free(ids);
  j->br = o->block_rows > 0 ? o->block_rows : h5_block_rows(4 * j->f, j->d.chunk_rows);
}

/* The partial output of this job, and the blocks a stopped run of it finished. */
static void score_begin_partial(score_job_t *j) {
  const score_opts_t *o = j->o;
  fp_init(&j->fp);
  fp_str(&j->fp, "job", "score");
  fp_str(&j->fp, "version", PROPSCORE_VERSION);
  fp_file(&j->fp, "data", o->data);
  fp_file(&j->fp, "model", o->model);
  fp_int(&j->fp, "ranks", ps_size);
  fp_int(&j->fp, "block_rows", j->br);
  opts_fingerprint(SCORE_OPTS, o, &j->fp);
  if (o->explain) fp_int(&j->fp, "explain", o->explain);
  int exists = 0;
  j->out = out_begin_partial(o->out, fp_hash(j->fp.s), &exists);
  j->partial = ps_strdup(out_tmp(j->out));
  j->progress = ps_sprintf("%s.progress", j->partial);
  j->start = exists ? read_progress(j->progress, j->fp.s) : -1;
  if (exists && j->start < 0) ps_log("score: %s holds no finished blocks of this job: starting over", j->partial);
  if (j->start < 0) j->start = 0;
  if (ps_rank == 0) ps_tmp_register(j->progress);
}

/* Reopens a stopped run's datasets. */
static void score_reopen(score_job_t *j) {
  const char *partial = j->partial;
  ps_log("score: resuming %s after %lld blocks", partial, (long long)j->start);
  j->fid = h5_open_rw(partial);
  int64_t dims[1];
  j->did = h5_dset_open(j->fid, partial, "/customer_id", 1, PS_KIND_INT, "int64", dims);
  j->gs = h5_group_open(j->fid, partial, "/scores");
  for (int h = 0; h < j->k; h++)
    j->ds[h] = h5_dset_open(j->gs, partial, j->sc->targets[h], 1, PS_KIND_FLOAT, "float32", dims);
  if (j->U) {
    j->gu = h5_group_open(j->fid, partial, "/uplift");
    for (int h = 0; h < j->k; h++)
      j->du[h] = h5_dset_open(j->gu, partial, j->sc->targets[h], 1, PS_KIND_FLOAT, "float32", dims);
  }
  score_explain_reopen(&j->x, j->fid, partial, j->sc->targets);
}

/* Creates the scores file: attributes, /customer_id, /scores (and /uplift). */
static void score_create(score_job_t *j) {
  const score_opts_t *o = j->o;
  j->fid = h5_create(j->partial, 1);
  char ts[64];
  ps_timestamp(ts, sizeof ts);
  h5_attr_i64(j->fid, "schema_version", PS_SCHEMA_VERSION);
  h5_attr_str(j->fid, "kind", "scores");
  h5_attr_str(j->fid, "model", o->model);
  h5_attr_str(j->fid, "data", o->data);
  h5_attr_str(j->fid, "created", ts);
  h5_attr_f64(j->fid, "holdout", j->sc->holdout);
  h5_attr_i64(j->fid, "split_salt", j->sc->split_salt);
  int64_t dims[1] = {j->n_all}, chunk[1] = {j->n_all < (1 << 20) ? j->n_all : (1 << 20)};
  if (chunk[0] < 1) chunk[0] = 1;
  j->did = h5_dset_create(j->fid, "/customer_id", PS_I64, 1, dims, chunk);
  j->gs = h5_group_create(j->fid, "/scores");
  for (int h = 0; h < j->k; h++) j->ds[h] = h5_dset_create(j->gs, j->sc->targets[h], PS_F32, 1, dims, chunk);
  if (j->U) {
    h5_attr_str(j->gs, "uplift_model", "scores are P(y | treated)");
    j->gu = h5_group_create(j->fid, "/uplift");
    for (int h = 0; h < j->k; h++) j->du[h] = h5_dset_create(j->gu, j->sc->targets[h], PS_F32, 1, dims, chunk);
  }
  score_explain_create(&j->x, j->fid, j->sc->targets, j->d.feature_names, j->n_all);
}

/* A CSR file's block (csr_pipe_read_packed): scored (and --explain'd) from
 * the stored values when the scorer can (NULL returned), else the dense
 * rows (made dense here if they came packed). */
static const float *score_csr_block(score_job_t *j, ps_pipe_t *pipe, const ps_block_t *b, float *P) {
  ps_csr_block_t c;
  float *X;
  if (!csr_packed_view(b->in[0], b->rows, &c, &X)) return X;
  for (int64_t i = 0; j->o->reject_nonfinite && i < c.n; i++) /* the first non-finite stored value, row-major */
    for (int64_t p = c.ptr[i]; p < c.ptr[i + 1]; p++)
      if (!isfinite(c.val[p])) {
        char msg[1024];
        data_nonfinite_message(&j->d, j->row0 + b->first + i, c.idx[p], c.val[p], msg, sizeof msg);
        pipe_fail(pipe, j->row0 + b->first + i, "%s", msg);
        i = c.n;
        break;
      }
  if (j->sc->predict_csr) {
    double tc = ps_now();
    j->sc->predict_csr(j->sc, c.ptr, c.idx, c.val, b->rows, P);
    score_explain_block_csr(&j->x, c.ptr, c.idx, c.val, b->rows, b->out + 1 + (1 + j->U) * j->k);
    j->t_comp += ps_now() - tc;
    return NULL;
  }
  if (!j->Xd) j->Xd = ps_malloc(sizeof(float) * (size_t)j->br * (size_t)j->f);
  csr_densify(&c, j->f, j->Xd);
  return j->Xd;
}

/* One block: probabilities of every head (and uplifts), ids copied through. */
static void score_block(score_job_t *j, ps_pipe_t *pipe, const ps_block_t *b, float *P) {
  int k = j->k;
  int64_t f = j->f;
  const float *X = j->d.csr ? score_csr_block(j, pipe, b, P) : b->in[0];
  int64_t r = -1, c = -1;
  if (X && j->o->reject_nonfinite && data_first_nonfinite(X, b->rows, f, &r, &c)) {
    char msg[1024];
    data_nonfinite_message(&j->d, j->row0 + b->first + r, c, X[(size_t)r * (size_t)f + (size_t)c], msg, sizeof msg);
    pipe_fail(pipe, j->row0 + b->first + r, "%s", msg);
  }
  if (X && data_first_bad_code(&j->d, X, b->rows, &r, &c)) { /* categorical columns: codes 0..C-1 or NaN */
    char msg[1024];
    data_bad_code_message(&j->d, j->row0 + b->first + r, c, X[(size_t)r * (size_t)f + (size_t)c], msg, sizeof msg);
    pipe_fail(pipe, j->row0 + b->first + r, "%s", msg);
  }
  double tc = ps_now();
  if (X) j->sc->predict(j->sc, X, b->rows, P);
  for (int h = 0; h < k; h++) memcpy(b->out[1 + h], P + (size_t)h * (size_t)b->rows, sizeof(float) * (size_t)b->rows);
  for (int h = 0; h < k && j->U; h++) {
    const float *pt = P + (size_t)h * (size_t)b->rows, *pc = P + (size_t)(k + h) * (size_t)b->rows;
    float *w = b->out[1 + k + h];
    for (int64_t i = 0; i < b->rows; i++) w[i] = (float)((double)pt[i] - (double)pc[i]);
  }
  if (X) score_explain_block(&j->x, X, b->rows, b->out + 1 + (1 + j->U) * k);
  memcpy(b->out[0], b->in[1], sizeof(int64_t) * (size_t)b->rows);
  j->t_comp += ps_now() - tc;
}

/* Scores every block from j->start through the pipeline (its thread reads
 * block b+1 and writes b-1 while b is scored). Returns 1 if a stop signal
 * ended the pass, with *stop_at the first block not done; *nb the blocks. */
static int score_blocks(score_job_t *j, int64_t *stop_at, int64_t *nb) {
  int k = j->k;
  ps_pipe_col_t pin[2] = {data_features_col(&j->d), {.dset = j->d.ids, .type = PS_I64}};
  if (j->d.csr) /* kept sparse: 8 bytes a stored value and 8 a row (io/csr.h) */
    pin[0] = (ps_pipe_col_t){.dset = -1, .type = PS_F32, .cols = j->f + PS_CSR_PACK_COLS, .read = csr_pipe_read_packed,
                             .ctx = &j->d.sp};
  ps_pipe_col_t *pout = ps_malloc(sizeof(ps_pipe_col_t) * (size_t)(4 * k + 1));
  pout[0] = (ps_pipe_col_t){.dset = j->did, .type = PS_I64};
  for (int h = 0; h < k; h++) pout[1 + h] = (ps_pipe_col_t){.dset = j->ds[h], .type = PS_F32};
  for (int h = 0; h < k && j->U; h++) pout[1 + k + h] = (ps_pipe_col_t){.dset = j->du[h], .type = PS_F32};
  int nx = score_explain_cols(&j->x, pout + 1 + (1 + j->U) * k);
  ps_pipe_spec_t spec = {.what = "score", .row0 = j->row0, .n = j->n, .block_rows = j->br, .nin = 2,
                         .nout = (1 + j->U) * k + 1 + nx, .in = pin, .out = pout, .agree_stop = 1};
  ps_pipe_t *pipe = pipe_open(&spec);
  *nb = pipe_blocks(pipe);
  float *P = ps_malloc(sizeof(float) * (size_t)j->br * (size_t)k * (size_t)(1 + j->U));
  ps_progress_t prog;
  ps_progress_init(&prog, "score", (double)j->n_all, 4.0 * (double)j->f);
  pipe_start(pipe, j->start);
  ps_block_t b;
  while (pipe_next(pipe, &b)) {
    score_block(j, pipe, &b, P);
    ps_progress_update(&prog, (double)(b.first + b.rows) * (double)ps_size);
  }
  *stop_at = *nb;
  int stopped = pipe_check(pipe, stop_at) == PS_PIPE_STOPPED;
  j->t_read = pipe_read_seconds(pipe);
  j->t_write = pipe_write_seconds(pipe);
  pipe_close(pipe);
  free(P);
  free(j->Xd);
  j->Xd = NULL;
  free(pout);
  return stopped;
}

static void score_close_file(score_job_t *j) {
  score_explain_close(&j->x);
  for (int h = 0; h < j->k; h++) h5_close(j->ds[h]);
  for (int h = 0; h < j->k && j->U; h++) h5_close(j->du[h]);
  h5_close(j->did);
  h5_close(j->gs);
  h5_close(j->gu);
  h5_close(j->fid);
  comm_barrier();
}

/* Stopped: the finished blocks and their count kept for the rerun. */
static void score_keep(score_job_t *j, int64_t stop_at, int64_t nb) {
  int sig = comm_agree_stop();
  if (ps_rank == 0) {
    char *text = ps_sprintf("%s\n%lld\n", j->fp.s, (long long)stop_at);
    if (out_write_small(j->progress, text, 0600) != 0) ps_die_local("cannot write %s", j->progress);
    free(text);
    ps_tmp_forget(j->progress);
  }
  out_keep(j->out);
  ps_log("score: stop signal after %lld of %lld blocks; run the same command again to resume", (long long)stop_at,
         (long long)nb);
  manifest_phase("read", j->t_read);
  manifest_phase("compute", j->t_comp);
  manifest_phase("write", j->t_write);
  manifest_finish(PS_EXIT_STOPPED, "stopped by a signal; finished blocks kept for resume");
  ps_out("score: stopped by %s; %s kept for resume", ps_signal_name(sig), j->partial);
}

/* Complete: renamed into place, timings and the manifest. */
static void score_commit(score_job_t *j, double tc0) {
  out_commit(j->out);
  if (ps_rank == 0) {
    unlink(j->progress);
    ps_tmp_forget(j->progress);
  }
  j->t_write += ps_now() - tc0;
  double el = ps_now() - j->t0, n_all = (double)j->n_all;
  int k = j->k;
  ps_log("score: rank 0 time: metadata %.3f s, read %.2f s, compute %.2f s, write %.2f s (%.2f GB/s of scores)",
         j->t_meta, j->t_read, j->t_comp, j->t_write, n_all * (8.0 + 4.0 * k) / 1e9 / (j->t_write > 0 ? j->t_write : 1e-9));
  ps_out("score: wrote %s: %lld customers x %d head%s in %.2f s (%.0f rows/s, %.2f GB/s of features, %d rank%s)",
         j->o->out, (long long)j->n_all, k, k == 1 ? "" : "s", el, n_all / el, n_all * (double)j->f * 4.0 / 1e9 / el,
         ps_size, ps_size == 1 ? "" : "s");
  manifest_output("scores", j->o->out);
  manifest_param_num("block_rows", (double)j->br);
  manifest_params(SCORE_OPTS, j->o);
  if (j->o->explain) manifest_param_num("explain", j->o->explain);
  manifest_phase("metadata", j->t_meta);
  manifest_phase("read", j->t_read);
  manifest_phase("compute", j->t_comp);
  manifest_phase("write", j->t_write);
  cJSON *mj = manifest_metrics();
  if (mj) cJSON_AddNumberToObject(mj, "rows", n_all);
  manifest_finish(0, NULL);
}

int score_run(const score_opts_t *o) {
  score_job_t j = {.o = o, .gu = -1};
  score_open_inputs(&j);
  score_begin_partial(&j);
  j.ds = ps_malloc(sizeof(ps_h5_t) * (size_t)j.k);
  j.du = ps_malloc(sizeof(ps_h5_t) * (size_t)j.k);
  double tm = ps_now(); /* metadata (create, attributes) timed apart from data, as h5bench does */
  if (j.start > 0) score_reopen(&j);
  else score_create(&j);
  j.t_meta = ps_now() - tm;
  int64_t stop_at, nb;
  int stopped = score_blocks(&j, &stop_at, &nb);
  double tc0 = ps_now();
  score_close_file(&j);
  if (stopped) score_keep(&j, stop_at, nb);
  else score_commit(&j, tc0);
  free(j.ds);
  free(j.du);
  free(j.progress);
  free(j.partial);
  free(j.manifest);
  fp_free(&j.fp);
  data_close(&j.d);
  scorer_close(j.sc);
  return stopped ? PS_EXIT_STOPPED : 0;
}
