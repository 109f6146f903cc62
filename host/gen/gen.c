/* gen.c: the gen job (see gen.h). */
#include "gen/gen.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/partition.h"
#include "core/progress.h"
#include "core/signals.h"
#include "core/util.h"
#include "gen/synth.h"
#include "io/h5.h"
#include "io/output.h"
#include "io/pipeline.h"

static const char *const GEN_USAGE =
    "usage: propscore gen --out FILE.h5 [--rows N] [--features F] [--seed S]\n"
    "                     [--targets NAME[:RATE],...] [--chunk-rows R] [--uplift] [--clusters K]\n"
    "                     [--density D [--informative K]]\n"
    "                     [--quiet]\n"
    "\n"
    "Generate a synthetic customer feature file (datasets/SCHEMA.md) with labels\n"
    "drawn from a planted model whose truth is stored under /truth.\n";

#define F(field) offsetof(gen_opts_t, field)
static const ps_option_t GEN_OPTS[] = {
    {.name = "out", .type = OPT_STR, .off = F(out), .arg = "FILE", .flags = OPT_REQUIRED, .short_name = 'o',
     .help = "output file (written to a temporary name, renamed when complete)"},
    {.name = "rows", .type = OPT_I64, .off = F(rows), .def = "1000000", .min = 1, .max = (int64_t)1 << 40, .arg = "N",
     .short_name = 'n', .help = "customers (default 1000000); must be >= the number of ranks"},
    {.name = "features", .type = OPT_I64, .off = F(features), .def = "64", .min = 1, .max = 1000000, .arg = "F",
     .short_name = 'f',
     .help = "feature columns (default 64; the first 20 are named RFM/channel\ncolumns, the rest correlated affinity groups)"},
    {.name = "seed", .type = OPT_U64, .off = F(seed), .def = "42", .min = 0, .max = INT64_MAX, .arg = "S", .short_name = 's',
     .help = "RNG seed (default 42); same seed -> same bytes for any rank count"},
    {.name = "targets", .type = OPT_STR, .off = F(targets), .def = "purchase_3m,churn", .arg = "LIST", .short_name = 't',
     .help = "comma-separated targets, optional :RATE positive rate\n"
             "(default purchase_3m,churn; rates purchase* 0.04, churn 0.10, else 0.05)"},
    {.name = "chunk-rows", .type = OPT_I64, .off = F(chunk_rows), .min = 1, .max = (int64_t)1 << 30, .arg = "R",
     .short_name = 'c', .help = "rows per HDF5 chunk (default: about 4 MiB of features)"},
    {.name = "block-rows", .type = OPT_I64, .off = F(block_rows), .min = 1, .max = (int64_t)1 << 30, .arg = "N",
     .short_name = 'b', .help = "rows a rank generates and writes at a time (default: about 64 MiB)"},
    {.name = "uplift", .type = OPT_FLAG, .off = F(uplift), .short_name = 'u',
     .help = "a past campaign: /labels/treated (random half) and every target\n"
             "with a planted heterogeneous treatment effect; the true uplift\n"
             "P(y|treated) - P(y|control) per customer in /truth/<target>/uplift\n"
             "(needs --features >= 7)"},
    {.name = "clusters", .type = OPT_INT, .off = F(clusters), .min = 1, .max = 100000, .arg = "K", .short_name = 'K',
     .help = "planted clusters instead of the customer features: each row's\n"
             "cluster from its hash, features = center + N(0,1) noise; truth in\n"
             "/truth/cluster and /truth/cluster_centers (segment tests)"},
    {.name = "density", .type = OPT_DOUBLE, .off = F(density), .lo = 1e-9, .hi = 1.0, .arg = "D", .short_name = 'D',
     .help = "sparse customers instead: each row stores about D*F of the F\n"
             "columns (counts), written as CSR (/features_csr); planted\n"
             "logistic truth on the raw values (host/gen/sparse.c)"},
    {.name = "informative", .type = OPT_I64, .off = F(informative), .min = 1, .max = 1000000, .arg = "K",
     .help = "with --density: the planted model weights K columns per target\n"
             "(those of the K smallest selection draws; default: each column\n"
             "with probability 0.2); the others are exactly 0 in /truth/<t>/coef"},
    {.name = "quiet", .type = OPT_FLAG, .ptr = &ps_quiet, .short_name = 'q', .help = "no progress log"},
    {0}};
#undef F

const ps_cmd_spec_t gen_cmd = {.name = "gen", .usage = GEN_USAGE, .opts = GEN_OPTS,
                               .epilog = "exit codes: 0 ok, 1 error, 2 usage, 75 stopped by a signal (nothing written)\n"};

/* The file being generated: its datasets, and the pipeline columns that
 * fill them (features, ids, labels, probabilities, then the campaign's and
 * the clusters' columns). */
typedef struct {
  ps_output_t *out;
  ps_h5_t fid, dx, did, glab, gtruth, dtreat, dclu;
  ps_h5_t *dlab, *dprob, *dupl;
  int K, U, NC;
  int treat_col, upl_col, clu_col, ncols; /* pipeline column of each */
} gen_file_t;

/* The chunk rows of the feature matrix: about 4 MiB, at most the rows. */
static int64_t gen_chunk_rows(const gen_opts_t *o) {
  int64_t c = o->chunk_rows ? o->chunk_rows : (4 << 20) / (4 * o->features);
  if (c < 1) c = 1;
  return c > o->rows ? o->rows : c;
}

static void gen_check(const gen_opts_t *o) {
  if (o->rows < ps_size)
    ps_die_all(PS_EXIT_USAGE, "gen: --rows %lld is less than the number of ranks (%d): every rank needs a row",
               (long long)o->rows, ps_size);
  if (o->uplift && o->features < 7)
    ps_die_all(PS_EXIT_USAGE, "gen: --uplift needs --features >= 7 (the effect uses app_user and email_open_rate)");
}

static void gen_check_targets(const gen_opts_t *o, const synth_t *s) {
  for (int t = 0; o->uplift && t < s->k; t++)
    if (!strcmp(s->targets[t], "treated")) ps_die_all(PS_EXIT_USAGE, "gen: --uplift writes /labels/treated: rename the target 'treated'");
}

/* /truth/<target>: the planted model of one target (and its campaign effect). */
static void gen_target_truth(gen_file_t *g, const synth_t *s, int t, const int64_t *dims1, const int64_t *chunk1) {
  int64_t f = s->f;
  g->dlab[t] = h5_dset_create(g->glab, s->targets[t], PS_U8, 1, dims1, chunk1);
  ps_h5_t tg = h5_group_create(g->gtruth, s->targets[t]);
  g->dprob[t] = h5_dset_create(tg, "prob", PS_F32, 1, dims1, chunk1);
  if (g->U) {
    g->dupl[t] = h5_dset_create(tg, "uplift", PS_F32, 1, dims1, chunk1);
    h5_attr_str(tg, "uplift_model",
                "treated ~ Bernoulli(0.5) (/labels/treated); prob = p_t if treated else p_c; p_c = sigmoid(logit), "
                "p_t = sigmoid(logit + tau), tau = -0.5 + 1.5*app_user + 0.6*(email_open_rate-0.3)/0.2 "
                "(NaN -> 0); uplift = p_t - p_c");
  }
  int64_t df[1] = {f};
  h5_write_small(tg, "coef", PS_F64, 1, df, s->coef + (size_t)t * (size_t)f);
  int64_t d3[1] = {3};
  h5_write_small(tg, "nonlinear", PS_F64, 1, d3, s->nl + 3 * t);
  h5_attr_f64(tg, "intercept", s->intercept[t]);
  h5_attr_f64(tg, "rate", s->rate[t]);
  h5_attr_str(tg, "model",
              "logit = intercept + sum_j coef[j]*T_j(x_j) + nonlinear[0]*app_user*T(email_open_rate)"
              " + nonlinear[1]*[recency_days<30] + nonlinear[2]*max(0,affinity_g0_0-1); T in host/synth.c");
  h5_close(tg);
}

/* /truth/cluster and /truth/cluster_centers of --clusters. */
static void gen_cluster_truth(gen_file_t *g, const synth_t *s, int clusters, const int64_t *dims1, const int64_t *chunk1) {
  int64_t f = s->f;
  g->dclu = h5_dset_create(g->gtruth, "cluster", PS_I32, 1, dims1, chunk1);
  double *cc = ps_malloc(sizeof(double) * (size_t)clusters * (size_t)f);
  for (int q = 0; q < clusters; q++)
    for (int64_t j = 0; j < f; j++) cc[(size_t)q * (size_t)f + (size_t)j] = synth_cluster_center(s, q, j);
  int64_t dcf[2] = {clusters, f};
  h5_write_small(g->gtruth, "cluster_centers", PS_F64, 2, dcf, cc);
  free(cc);
}

/* Creates the temporary file with every dataset and the planted truth. */
static void gen_create(gen_file_t *g, const gen_opts_t *o, const synth_t *s) {
  int64_t rows = o->rows, f = o->features, chunk_rows = gen_chunk_rows(o);
  g->K = s->k;
  g->U = o->uplift ? 1 : 0;
  g->NC = o->clusters > 0;
  g->out = out_begin(o->out, 1);
  g->fid = h5_create(out_tmp(g->out), 1);
  h5_attr_i64(g->fid, "schema_version", PS_SCHEMA_VERSION);
  h5_attr_str(g->fid, "kind", "features");
  h5_attr_str(g->fid, "generator", "propscore gen " PROPSCORE_VERSION);
  h5_attr_i64(g->fid, "seed", (int64_t)o->seed);
  int64_t dims2[2] = {rows, f}, chunk2[2] = {chunk_rows, f};
  int64_t dims1[1] = {rows}, chunk1[1] = {rows < (1 << 20) ? rows : (1 << 20)};
  g->dx = h5_dset_create(g->fid, "/features", PS_F32, 2, dims2, chunk2);
  g->did = h5_dset_create(g->fid, "/customer_id", PS_I64, 1, dims1, chunk1);
  h5_write_strings(g->fid, "/feature_names", s->names, f);
  g->glab = h5_group_create(g->fid, "/labels");
  g->gtruth = h5_group_create(g->fid, "/truth");
  g->dlab = ps_calloc((size_t)g->K, sizeof(ps_h5_t));
  g->dprob = ps_calloc((size_t)g->K, sizeof(ps_h5_t));
  g->dupl = ps_calloc((size_t)g->K, sizeof(ps_h5_t));
  for (int t = 0; t < g->K; t++) g->dupl[t] = -1;
  g->dtreat = g->U ? h5_dset_create(g->glab, "treated", PS_U8, 1, dims1, chunk1) : -1;
  for (int t = 0; t < g->K; t++) gen_target_truth(g, s, t, dims1, chunk1);
  g->dclu = -1;
  if (g->NC) gen_cluster_truth(g, s, o->clusters, dims1, chunk1);
}

/* The pipeline's columns: features, ids, labels, probabilities, then
 * treated and the uplifts (--uplift), then the clusters (--clusters). */
static ps_pipe_col_t *gen_columns(gen_file_t *g, int64_t f) {
  int K = g->K;
  ps_pipe_col_t *cols = ps_malloc(sizeof(ps_pipe_col_t) * (size_t)(2 + 3 * K + 2));
  cols[0] = (ps_pipe_col_t){.dset = g->dx, .type = PS_F32, .cols = f};
  cols[1] = (ps_pipe_col_t){.dset = g->did, .type = PS_I64};
  g->treat_col = 2 + 2 * K;
  g->upl_col = 3 + 2 * K;
  for (int t = 0; t < K; t++) {
    cols[2 + t] = (ps_pipe_col_t){.dset = g->dlab[t], .type = PS_U8};
    cols[2 + K + t] = (ps_pipe_col_t){.dset = g->dprob[t], .type = PS_F32};
    if (g->U) cols[g->upl_col + t] = (ps_pipe_col_t){.dset = g->dupl[t], .type = PS_F32};
  }
  if (g->U) cols[g->treat_col] = (ps_pipe_col_t){.dset = g->dtreat, .type = PS_U8};
  g->ncols = 2 + 2 * K + (g->U ? 1 + K : 0);
  g->clu_col = g->ncols;
  if (g->NC) cols[g->ncols++] = (ps_pipe_col_t){.dset = g->dclu, .type = PS_I32};
  return cols;
}

/* One block of rows: features, id, campaign flag, labels and truth. */
static void gen_block(const gen_file_t *g, const gen_opts_t *o, const synth_t *s, int64_t row0, const ps_block_t *b) {
  int K = g->K;
  int64_t f = o->features;
  float *x = b->out[0];
  int64_t *ids = b->out[1];
  for (int64_t i = 0; i < b->rows; i++) {
    int64_t row = row0 + b->first + i;
    float *xi = x + (size_t)i * (size_t)f;
    if (g->NC) ((int32_t *)b->out[g->clu_col])[i] = synth_cluster_row(s, o->clusters, row, xi);
    else synth_row(s, row, xi);
    ids[i] = synth_customer_id(row);
    int tr = g->U ? synth_treated(s, row) : 0;
    if (g->U) ((uint8_t *)b->out[g->treat_col])[i] = (uint8_t)tr;
    for (int t = 0; t < K; t++) {
      double p;
      if (g->U) {
        double pc, pt;
        synth_uplift_probs(s, t, xi, &pc, &pt);
        p = tr ? pt : pc;
        ((float *)b->out[g->upl_col + t])[i] = (float)(pt - pc);
      } else {
        p = synth_prob(s, t, xi);
      }
      ((float *)b->out[2 + K + t])[i] = (float)p;
      ((uint8_t *)b->out[2 + t])[i] = (uint8_t)synth_label(s, t, row, p);
    }
  }
}

/* Generates this rank's rows through the pipeline (its thread writes block
 * b-1 while block b is generated); 1 if a stop signal ended it. */
static int gen_rows(gen_file_t *g, const gen_opts_t *o, const synth_t *s) {
  int64_t row0, n, f = o->features;
  ps_partition(o->rows, ps_size, ps_rank, &row0, &n);
  ps_pipe_col_t *cols = gen_columns(g, f);
  int64_t br = o->block_rows > 0 ? o->block_rows : h5_block_rows(4 * f + 13 + 9 * g->K, gen_chunk_rows(o));
  ps_pipe_spec_t spec = {.what = "gen", .row0 = row0, .n = n, .block_rows = br, .nout = g->ncols, .out = cols,
                         .agree_stop = 1};
  ps_pipe_t *pipe = pipe_open(&spec);
  ps_progress_t prog;
  ps_progress_init(&prog, "gen", (double)o->rows, 4.0 * (double)f);
  ps_block_t b;
  pipe_start(pipe, 0);
  while (pipe_next(pipe, &b)) {
    gen_block(g, o, s, row0, &b);
    ps_progress_update(&prog, (double)(b.first + b.rows) * (double)ps_size);
  }
  int stopped = pipe_check(pipe, NULL) == PS_PIPE_STOPPED;
  pipe_close(pipe);
  free(cols);
  return stopped;
}

static void gen_close(gen_file_t *g) {
  for (int t = 0; t < g->K; t++) {
    h5_close(g->dlab[t]);
    h5_close(g->dprob[t]);
    h5_close(g->dupl[t]);
  }
  ps_h5_t rest[] = {g->dtreat, g->dclu, g->dx, g->did, g->glab, g->gtruth, g->fid};
  for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++) h5_close(rest[i]);
  comm_barrier();
  free(g->dlab);
  free(g->dprob);
  free(g->dupl);
}

int gen_run(const gen_opts_t *o) {
  gen_check(o);
  ps_path_t outs[] = {{"--out", o->out}};
  out_check_paths(NULL, 0, outs, 1);
  double t0 = ps_now();
  synth_t s;
  synth_init(&s, o->seed, o->features, o->targets);
  gen_check_targets(o, &s);
  gen_file_t g;
  gen_create(&g, o, &s);
  int stopped = gen_rows(&g, o, &s);
  gen_close(&g);
  if (stopped) {
    int sig = comm_agree_stop();
    out_abort(g.out);
    synth_free(&s);
    ps_out("gen: stopped by %s; nothing was written (run it again)", ps_signal_name(sig));
    return PS_EXIT_STOPPED;
  }
  out_commit(g.out);
  double el = ps_now() - t0, gb = (double)o->rows * (double)o->features * 4.0 / 1e9;
  ps_out("gen: wrote %s: %lld rows x %lld features, %d target%s, %.2f GB of features in %.2f s (%.2f GB/s, %d rank%s)",
         o->out, (long long)o->rows, (long long)o->features, g.K, g.K == 1 ? "" : "s", gb, el, gb / el, ps_size,
         ps_size == 1 ? "" : "s");
  for (int t = 0; t < g.K; t++) ps_log("gen: target %s: planted positive rate %.4f", s.targets[t], s.rate[t]);
  synth_free(&s);
  return 0;
}
