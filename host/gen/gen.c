/* gen.c: the gen job (see gen.h). */
#include "gen/gen.h"

#include <math.h>
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

int gen_run(const gen_opts_t *o) {
  const char *out = o->out;
  int64_t rows = o->rows, f = o->features, chunk_rows = o->chunk_rows;
  if (rows < ps_size)
    ps_die_all(PS_EXIT_USAGE, "gen: --rows %lld is less than the number of ranks (%d): every rank needs a row",
               (long long)rows, ps_size);
  if (chunk_rows == 0) chunk_rows = (4 << 20) / (4 * f);
  if (chunk_rows < 1) chunk_rows = 1;
  if (chunk_rows > rows) chunk_rows = rows;
  if (o->uplift && f < 7)
    ps_die_all(PS_EXIT_USAGE, "gen: --uplift needs --features >= 7 (the effect uses app_user and email_open_rate)");
  int U = o->uplift ? 1 : 0;
  ps_path_t outs[] = {{"--out", out}};
  out_check_paths(NULL, 0, outs, 1);
  double t0 = ps_now();
  synth_t s;
  synth_init(&s, o->seed, f, o->targets);
  int K = s.k;

  ps_output_t *outf = out_begin(out, 1);
  ps_h5_t fid = h5_create(out_tmp(outf), 1);
  h5_attr_i64(fid, "schema_version", PS_SCHEMA_VERSION);
  h5_attr_str(fid, "kind", "features");
  h5_attr_str(fid, "generator", "propscore gen " PROPSCORE_VERSION);
  h5_attr_i64(fid, "seed", (int64_t)o->seed);

  int64_t dims2[2] = {rows, f}, chunk2[2] = {chunk_rows, f};
  int64_t dims1[1] = {rows}, chunk1[1] = {rows < (1 << 20) ? rows : (1 << 20)};
  ps_h5_t dx = h5_dset_create(fid, "/features", PS_F32, 2, dims2, chunk2);
  ps_h5_t did = h5_dset_create(fid, "/customer_id", PS_I64, 1, dims1, chunk1);
  h5_write_strings(fid, "/feature_names", s.names, f);
  ps_h5_t glab = h5_group_create(fid, "/labels"), gtruth = h5_group_create(fid, "/truth");
  ps_h5_t *dlab = ps_calloc((size_t)K, sizeof(ps_h5_t)), *dprob = ps_calloc((size_t)K, sizeof(ps_h5_t));
  ps_h5_t *dupl = ps_calloc((size_t)K, sizeof(ps_h5_t)), dtreat = -1;
  for (int t = 0; t < K; t++) dupl[t] = -1;
  if (U) {
    for (int t = 0; t < K; t++)
      if (!strcmp(s.targets[t], "treated")) ps_die_all(PS_EXIT_USAGE, "gen: --uplift writes /labels/treated: rename the target 'treated'");
    dtreat = h5_dset_create(glab, "treated", PS_U8, 1, dims1, chunk1);
  }
  for (int t = 0; t < K; t++) {
    dlab[t] = h5_dset_create(glab, s.targets[t], PS_U8, 1, dims1, chunk1);
    ps_h5_t g = h5_group_create(gtruth, s.targets[t]);
    dprob[t] = h5_dset_create(g, "prob", PS_F32, 1, dims1, chunk1);
    if (U) {
      dupl[t] = h5_dset_create(g, "uplift", PS_F32, 1, dims1, chunk1);
      h5_attr_str(g, "uplift_model",
                  "treated ~ Bernoulli(0.5) (/labels/treated); prob = p_t if treated else p_c; p_c = sigmoid(logit), "
                  "p_t = sigmoid(logit + tau), tau = -0.5 + 1.5*app_user + 0.6*(email_open_rate-0.3)/0.2 "
                  "(NaN -> 0); uplift = p_t - p_c");
    }
    int64_t df[1] = {f};
    h5_write_small(g, "coef", PS_F64, 1, df, s.coef + (size_t)t * (size_t)f);
    int64_t d3[1] = {3};
    h5_write_small(g, "nonlinear", PS_F64, 1, d3, s.nl + 3 * t);
    h5_attr_f64(g, "intercept", s.intercept[t]);
    h5_attr_f64(g, "rate", s.rate[t]);
    h5_attr_str(g, "model",
                "logit = intercept + sum_j coef[j]*T_j(x_j) + nonlinear[0]*app_user*T(email_open_rate)"
                " + nonlinear[1]*[recency_days<30] + nonlinear[2]*max(0,affinity_g0_0-1); T in host/synth.c");
    h5_close(g);
  }

  int NC = o->clusters > 0 ? 1 : 0;
  ps_h5_t dclu = -1;
  if (NC) {
    dclu = h5_dset_create(gtruth, "cluster", PS_I32, 1, dims1, chunk1);
    double *cc = ps_malloc(sizeof(double) * (size_t)o->clusters * (size_t)f);
    for (int q = 0; q < o->clusters; q++)
      for (int64_t j = 0; j < f; j++) cc[(size_t)q * (size_t)f + (size_t)j] = synth_cluster_center(&s, q, j);
    int64_t dcf[2] = {o->clusters, f};
    h5_write_small(gtruth, "cluster_centers", PS_F64, 2, dcf, cc);
    free(cc);
  }
  int64_t row0, n;
  ps_partition(rows, ps_size, ps_rank, &row0, &n);
  /* the pipeline's thread writes block b-1 while block b is generated */
  ps_pipe_col_t *cols = ps_malloc(sizeof(ps_pipe_col_t) * (size_t)(2 + 3 * K + 2));
  cols[0] = (ps_pipe_col_t){dx, PS_F32, f};
  cols[1] = (ps_pipe_col_t){did, PS_I64, 0};
  for (int t = 0; t < K; t++) {
    cols[2 + t] = (ps_pipe_col_t){dlab[t], PS_U8, 0};
    cols[2 + K + t] = (ps_pipe_col_t){dprob[t], PS_F32, 0};
    if (U) cols[3 + 2 * K + t] = (ps_pipe_col_t){dupl[t], PS_F32, 0};
  }
  if (U) cols[2 + 2 * K] = (ps_pipe_col_t){dtreat, PS_U8, 0};
  int ncols = 2 + 2 * K + (U ? 1 + K : 0), clu_col = ncols;
  if (NC) cols[ncols++] = (ps_pipe_col_t){dclu, PS_I32, 0};
  int64_t br = o->block_rows > 0 ? o->block_rows : h5_block_rows(4 * f + 13 + 9 * K, chunk_rows);
  ps_pipe_spec_t spec = {"gen", row0, n, br, 0, ncols, NULL, cols, 1};
  ps_pipe_t *pipe = pipe_open(&spec);
  ps_progress_t prog;
  ps_progress_init(&prog, "gen", (double)rows, 4.0 * (double)f);
  ps_block_t b;
  pipe_start(pipe, 0);
  while (pipe_next(pipe, &b)) {
    float *x = b.out[0];
    int64_t *ids = b.out[1];
    for (int64_t i = 0; i < b.rows; i++) {
      int64_t row = row0 + b.first + i;
      float *xi = x + (size_t)i * (size_t)f;
      if (NC) ((int32_t *)b.out[clu_col])[i] = synth_cluster_row(&s, o->clusters, row, xi);
      else synth_row(&s, row, xi);
      ids[i] = synth_customer_id(row);
      int tr = U ? synth_treated(&s, row) : 0;
      if (U) ((uint8_t *)b.out[2 + 2 * K])[i] = (uint8_t)tr;
      for (int t = 0; t < K; t++) {
        double p;
        if (U) {
          double pc, pt;
          synth_uplift_probs(&s, t, xi, &pc, &pt);
          p = tr ? pt : pc;
          ((float *)b.out[3 + 2 * K + t])[i] = (float)(pt - pc);
        } else {
          p = synth_prob(&s, t, xi);
        }
        ((float *)b.out[2 + K + t])[i] = (float)p;
        ((uint8_t *)b.out[2 + t])[i] = (uint8_t)synth_label(&s, t, row, p);
      }
    }
    ps_progress_update(&prog, (double)(b.first + b.rows) * (double)ps_size);
  }
  int stopped = pipe_check(pipe, NULL) == PS_PIPE_STOPPED;
  pipe_close(pipe);
  free(cols);
  for (int t = 0; t < K; t++) {
    h5_close(dlab[t]);
    h5_close(dprob[t]);
    h5_close(dupl[t]);
  }
  h5_close(dtreat);
  free(dupl);
  h5_close(dclu);
  h5_close(dx);
  h5_close(did);
  h5_close(glab);
  h5_close(gtruth);
  h5_close(fid);
  comm_barrier();
  free(dlab);
  free(dprob);
  if (stopped) {
    int sig = comm_agree_stop();
    out_abort(outf);
    synth_free(&s);
    ps_out("gen: stopped by %s; nothing was written (run it again)", ps_signal_name(sig));
    return PS_EXIT_STOPPED;
  }
  out_commit(outf);
  double el = ps_now() - t0, gb = (double)rows * (double)f * 4.0 / 1e9;
  ps_out("gen: wrote %s: %lld rows x %lld features, %d target%s, %.2f GB of features in %.2f s (%.2f GB/s, %d rank%s)",
         out, (long long)rows, (long long)f, K, K == 1 ? "" : "s", gb, el, gb / el, ps_size, ps_size == 1 ? "" : "s");
  for (int t = 0; t < K; t++) ps_log("gen: target %s: planted positive rate %.4f", s.targets[t], s.rate[t]);
  synth_free(&s);
  return 0;
}
