/* trainset.c: loading and preparing the training rows (see trainset.h). */
#include "models/logreg/trainset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/partition.h"
#include "core/rng.h"
#include "core/util.h"
#include "logreg/logreg_csc_cpu.h"

void trainset_rewind(ps_trainset_t *ts) {
  ts->tr_off = ts->va_off = 0;
  pipe_start(ts->pipe, 0);
}

int trainset_next(ps_trainset_t *ts, const float **Xtr, const uint8_t **Ytr, int64_t *ntr, const float **Xva,
                  const uint8_t **Yva, int64_t *nva) {
  ps_block_t b;
  if (!pipe_next(ts->pipe, &b)) {
    pipe_check(ts->pipe, NULL);
    return 0;
  }
  const uint8_t *train = ts->train + b.first;
  int64_t a = 0, v = 0;
  for (int64_t i = 0; i < b.rows; i++) {
    a += train[i] == PS_ROW_TRAIN;
    v += train[i] == PS_ROW_VALID;
  }
  prepare_rows(&ts->tf, b.in[0], b.rows, train, ts->bx_tr, ts->bx_va);
  *Xtr = ts->bx_tr;
  *Ytr = ts->Ytr + (size_t)ts->tr_off * (size_t)ts->k;
  *ntr = a;
  *Xva = ts->bx_va;
  *Yva = ts->Yva + (size_t)ts->va_off * (size_t)ts->k;
  *nva = v;
  ts->tr_off += a;
  ts->va_off += v;
  ts->blk_g1 = (b.first + b.rows + PS_ROW_GRID - 1) / PS_ROW_GRID;
  ts->blk_g0 = b.rows > 0 ? b.first / PS_ROW_GRID : ts->blk_g1; /* an empty block starts at the rank's end */
  return 1;
}

/* The labels and split made: the training set's view of them, and the
 * training rows of each grid block. */
static void take_labels(ps_trainset_t *ts, int64_t f, int k) {
  ps_labeled_t *l = &ts->lab;
  int64_t row0 = l->row0, n = l->n;
  ts->f = f;
  ts->k = k;
  ts->n_tr = l->n_tr;
  ts->n_va = l->n_va;
  ts->g_tr = l->g_tr;
  ts->g_va = l->g_va;
  ts->Ytr = l->Ytr;
  ts->Yva = l->Yva;
  ts->n_pos = l->n_pos;
  ts->train = l->train;
  free(l->ids); /* the split is made: logistic regression needs no ids (8 bytes a row) */
  l->ids = NULL;
  if (row0 % PS_ROW_GRID != 0 && n > 0)
    ps_die_local("train: rank rows start at %lld, off the %d-row grid [%s:%d]", (long long)row0,
                 PS_ROW_GRID, __FILE__, __LINE__);
  ts->n_grid = (n + PS_ROW_GRID - 1) / PS_ROW_GRID;
  ts->grid_ntr = ps_calloc((size_t)(ts->n_grid > 0 ? ts->n_grid : 1), sizeof(int32_t));
  for (int64_t i = 0; i < n; i++) ts->grid_ntr[i / PS_ROW_GRID] += ts->train[i] == PS_ROW_TRAIN;
}

/* Resident rows: read once, their statistics, standardized (the training
 * rows in place where the model is no wider than the input). */
static void load_resident(ps_trainset_t *ts, ps_data_t *d, ps_colacc_t *sa, ps_colstat_t *st, int missing_ind,
                          int reject_nonfinite, int scale_only, double t0) {
  int64_t f = d->f, row0 = ts->lab.row0, n = ts->lab.n;
  size_t nn = (size_t)(n > 0 ? n : 1);
  char msg[1024];
  float *X = ps_malloc(sizeof(float) * nn * (size_t)f);
  double t_read = ps_now();
  data_read_rows(d, row0, n, X);
  t_read = ps_now() - t_read;
  int64_t br = -1, bc = -1;
  int bad = reject_nonfinite && data_first_nonfinite(X, n, f, &br, &bc);
  if (bad) data_nonfinite_message(d, row0 + br, bc, X[(size_t)br * (size_t)f + (size_t)bc], msg, sizeof msg);
  else if ((bad = data_first_bad_code(d, X, n, &br, &bc))) /* categorical columns: codes 0..C-1 or NaN */
    data_bad_code_message(d, row0 + br, bc, X[(size_t)br * (size_t)f + (size_t)bc], msg, sizeof msg);
  ps_check_all(bad, msg);
  double tr = t_read, gb = (double)d->n * (double)f * 4.0 / 1e9;
  ps_log("train: read %lld rows x %lld features in %.2f s (%.2f GB/s), resident; labels and split %.2f s",
         (long long)d->n, (long long)f, tr, gb / (tr > 0 ? tr : 1e-9), ps_now() - t0 - tr);
  double t_st = ps_now();
  stats_tree_add(sa, X, n, ts->train);
  stats_tree_end(sa, st);
  t_st = ps_now() - t_st;
  prepare_columns(st, f, missing_ind, &ts->cols);
  prepare_categorical(&ts->cols, d->cat_card); /* categorical inputs one-hot (io/data.h /categorical) */
  if (scale_only) trainset_scale_only(&ts->cols);
  ts->tf = prepare_transform(&ts->cols);
  ts->c = ts->cols.c;
  /* No wider than the input (no missing indicators): the training rows are
   * standardized in place (row i goes to row itr <= i of the same width),
   * so only the validation rows take new memory (fresh pages cost more
   * than the arithmetic: most of the pass at 20M rows) */
  int in_place = ts->c <= f && n > 0;
  ts->Xtr = in_place ? X : ps_malloc(sizeof(float) * (size_t)(ts->n_tr > 0 ? ts->n_tr : 1) * (size_t)ts->c);
  ts->Xva = ps_malloc(sizeof(float) * (size_t)(ts->n_va > 0 ? ts->n_va : 1) * (size_t)ts->c);
  double t_tf = ps_now();
  prepare_rows(&ts->tf, X, n, ts->train, ts->Xtr, ts->Xva);
  t_tf = ps_now() - t_tf;
  if (in_place) { /* now ts->Xtr (rows [n_tr][c] at its start) */
    ts->spare = X + (size_t)ts->n_tr * (size_t)ts->c;
    ts->spare_floats = nn * (size_t)f - (size_t)ts->n_tr * (size_t)ts->c;
    X = NULL;
  }
  ps_log("train: prepare: statistics %.2f s, standardization %.2f s (%.2f GB/s of rows a rank)", t_st, t_tf,
         (double)n * (double)f * 4.0 / 1e9 / (t_st + t_tf > 0 ? t_st + t_tf : 1e-9));
  free(X);
}

/* Model columns the one-hot categorical inputs add (prepare_categorical). */
static int64_t onehot_extra(const ps_data_t *d) {
  int64_t extra = 0;
  for (int64_t j = 0; d->cat_card && j < d->f; j++)
    if (d->cat_card[j] > 0) extra += (d->cat_card[j] < 254 ? d->cat_card[j] : 254) - 1;
  return extra;
}

/* Streamed rows: one pass for the statistics; the pipeline stays open for
 * the fit's passes. Blocks: two raw buffers (the pipeline) + two
 * standardized (both splits), whole multiples of the statistics' 256-row
 * sub-blocks (same sums as resident). */
static void load_streamed(ps_trainset_t *ts, ps_data_t *d, ps_colacc_t *sa, ps_colstat_t *st, int missing_ind,
                          int reject_nonfinite, int scale_only, int64_t mem_limit) {
  int64_t f = d->f, row0 = ts->lab.row0, n = ts->lab.n, cmax = (missing_ind ? 2 * f : f) + onehot_extra(d);
  char msg[1024];
  int64_t per_row = 2 * f * 4 + 2 * cmax * 4;
  int64_t br = mem_limit / (per_row > 0 ? per_row : 1);
  br -= br % 256;
  if (br < 256) br = 256;
  ts->block_rows = br;
  ps_pipe_col_t in = data_features_col(d);
  ps_pipe_spec_t spec = {.what = "train", .row0 = row0, .n = n, .block_rows = br, .nin = 1, .nout = 0, .in = &in,
                         .out = NULL, .agree_stop = 0};
  ts->pipe = pipe_open(&spec);
  pipe_start(ts->pipe, 0);
  ps_block_t b;
  while (pipe_next(ts->pipe, &b)) {
    const float *X = b.in[0];
    int64_t r = -1, c = -1;
    if (reject_nonfinite && data_first_nonfinite(X, b.rows, f, &r, &c)) {
      data_nonfinite_message(d, row0 + b.first + r, c, X[(size_t)r * (size_t)f + (size_t)c], msg, sizeof msg);
      pipe_fail(ts->pipe, row0 + b.first + r, "%s", msg);
    }
    if (data_first_bad_code(d, X, b.rows, &r, &c)) { /* categorical columns: codes 0..C-1 or NaN */
      data_bad_code_message(d, row0 + b.first + r, c, X[(size_t)r * (size_t)f + (size_t)c], msg, sizeof msg);
      pipe_fail(ts->pipe, row0 + b.first + r, "%s", msg);
    }
    stats_tree_add(sa, X, b.rows, ts->train + b.first);
  }
  pipe_check(ts->pipe, NULL); /* agreed on the pipeline's thread; it is idle now */
  stats_tree_end(sa, st);
  prepare_columns(st, f, missing_ind, &ts->cols);
  prepare_categorical(&ts->cols, d->cat_card); /* categorical inputs one-hot (io/data.h /categorical) */
  if (scale_only) trainset_scale_only(&ts->cols);
  ts->tf = prepare_transform(&ts->cols);
  ts->c = ts->cols.c;
  ts->bx_tr = ps_malloc(sizeof(float) * (size_t)br * (size_t)ts->c);
  ts->bx_va = ps_malloc(sizeof(float) * (size_t)br * (size_t)ts->c);
  ps_log("train: streaming %lld rows x %lld features in blocks of %lld rows per rank (--host-mem-limit %.0f MiB)",
         (long long)d->n, (long long)f, (long long)br, (double)mem_limit / 1048576.0);
}

void trainset_load(ps_data_t *d, char *const *targets, int k, double holdout, int64_t salt, const uint8_t *keep,
                   int missing_ind, int reject_nonfinite, int64_t mem_limit, int scale_only, ps_trainset_t *ts) {
  memset(ts, 0, sizeof *ts);
  double t0 = ps_now();
  labels_load(d, targets, k, holdout, salt, keep, &ts->lab);
  take_labels(ts, d->f, k);
  if (d->csr && scale_only && !missing_ind) {
    if (!trainset_csr_stream_open(ts, d, reject_nonfinite, mem_limit)) /* over the limit: streamed */
      trainset_csr_load(ts, d, reject_nonfinite);
    ps_log("train: prepared %lld model columns in %.2f s (labels, split, statistics, CSR rows)", (long long)ts->c,
           ps_now() - t0);
    return;
  }
  int64_t f = d->f, n = ts->lab.n;
  /* Resident if the raw rows and their standardized copy fit the limit
   * (the same decision on every rank: the largest rank decides). */
  int64_t cmax = (missing_ind ? 2 * f : f) + onehot_extra(d);
  /* raw rows, then their standardized copy: only the validation rows' when
   * the training rows are standardized in place (no missing indicators, no one-hot) */
  double need = ((double)n * (double)f + (double)(cmax > f ? n : ts->lab.n_va) * (double)cmax) * 4.0;
  comm_allreduce_max_f64(&need, 1);
  ts->streamed = need > (double)mem_limit;
  ps_colstat_t *st = ps_malloc(sizeof(ps_colstat_t) * (size_t)(f > 0 ? f : 1));
  /* along the fixed tree of grid blocks: the same statistics for any rank count */
  ps_colacc_t *sa = stats_tree_begin(f, n > 0 ? ts->lab.row0 : 0);
  if (!ts->streamed) load_resident(ts, d, sa, st, missing_ind, reject_nonfinite, scale_only, t0);
  else load_streamed(ts, d, sa, st, missing_ind, reject_nonfinite, scale_only, mem_limit);
  free(st);
  ps_log("train: prepared %lld model columns in %.2f s (labels, split, statistics, standardization)",
         (long long)ts->c, ps_now() - t0);
}

void trainset_free(ps_trainset_t *ts) {
  trainset_csr_stream_free(ts);
  pipe_close(ts->pipe);
  free(ts->grid_ntr);
  free(ts->bx_tr);
  free(ts->bx_va);
  free(ts->Xtr);
  free(ts->Xva);
  csr_block_free(&ts->tr);
  csr_block_free(&ts->va);
  ps_csc_blocks_free(ts->csc);
  labels_free(&ts->lab);
  prepare_free(&ts->cols);
  memset(ts, 0, sizeof *ts);
}
