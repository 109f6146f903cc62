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

uint8_t *trainset_labels(const uint8_t *Y, int64_t n, int k, int h) {
  uint8_t *y = ps_malloc((size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) y[i] = Y[(size_t)i * (size_t)k + (size_t)h];
  return y;
}

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
  int64_t a = 0;
  for (int64_t i = 0; i < b.rows; i++) a += train[i];
  prepare_rows(&ts->tf, b.in[0], b.rows, train, ts->bx_tr, ts->bx_va);
  *Xtr = ts->bx_tr;
  *Ytr = ts->Ytr + (size_t)ts->tr_off * (size_t)ts->k;
  *ntr = a;
  *Xva = ts->bx_va;
  *Yva = ts->Yva + (size_t)ts->va_off * (size_t)ts->k;
  *nva = b.rows - a;
  ts->tr_off += a;
  ts->va_off += b.rows - a;
  return 1;
}

void trainset_load(ps_data_t *d, char *const *targets, int k, double holdout, int64_t salt, int missing_ind,
                   int reject_nonfinite, int64_t mem_limit, ps_trainset_t *ts) {
  memset(ts, 0, sizeof *ts);
  int64_t f = d->f, row0, n;
  ps_partition(d->n, ps_size, ps_rank, &row0, &n);
  ts->f = f;
  ts->k = k;
  size_t nn = (size_t)(n > 0 ? n : 1);
  uint8_t *Y = ps_malloc(nn * (size_t)k);
  for (int h = 0; h < k; h++) data_read_labels(d, targets[h], row0, n, k, h, Y);

  double t0 = ps_now();
  int64_t *ids = ps_malloc(sizeof(int64_t) * nn);
  data_read_ids(d, row0, n, ids);
  data_check_unique_ids(d, ids, row0, n);
  uint8_t *train = ps_malloc(nn);
  for (int64_t i = 0; i < n; i++) {
    int va = holdout > 0 && ps_id_unit(ids[i], (uint64_t)salt) < holdout;
    train[i] = !va;
    ts->n_tr += !va;
    ts->n_va += va;
  }
  free(ids);
  double cnt[2] = {(double)ts->n_tr, (double)ts->n_va};
  comm_allreduce_sum_f64(cnt, 2);
  ts->g_tr = cnt[0];
  ts->g_va = cnt[1];
  if (ts->g_tr < 2)
    ps_die_all(PS_EXIT_ERROR, "%s: only %.0f training rows after --holdout %g", d->path, cnt[0], holdout);

  ts->n_pos = ps_calloc((size_t)k, sizeof(double));
  for (int64_t i = 0; i < n; i++)
    if (train[i])
      for (int h = 0; h < k; h++) ts->n_pos[h] += Y[(size_t)i * (size_t)k + (size_t)h];
  comm_allreduce_sum_f64(ts->n_pos, (size_t)k);
  for (int h = 0; h < k; h++)
    if (ts->n_pos[h] == 0 || ts->n_pos[h] == ts->g_tr)
      ps_die_all(PS_EXIT_ERROR, "%s: /labels/%s: every training label is %d; a model needs both classes", d->path,
                 targets[h], ts->n_pos[h] == 0 ? 0 : 1);
  /* labels of each split stay resident (k bytes a row) */
  ts->Ytr = ps_malloc((size_t)(ts->n_tr > 0 ? ts->n_tr : 1) * (size_t)k);
  ts->Yva = ps_malloc((size_t)(ts->n_va > 0 ? ts->n_va : 1) * (size_t)k);
  for (int64_t i = 0, itr = 0, iva = 0; i < n; i++)
    memcpy(train[i] ? ts->Ytr + (size_t)itr++ * (size_t)k : ts->Yva + (size_t)iva++ * (size_t)k,
           Y + (size_t)i * (size_t)k, (size_t)k);
  free(Y);

  /* Resident if the raw rows and their standardized copy fit the limit
   * (the same decision on every rank: the largest rank decides). */
  int64_t cmax = missing_ind ? 2 * f : f;
  double need = (double)n * (double)(f + cmax) * 4.0;
  comm_allreduce_max_f64(&need, 1);
  ts->streamed = need > (double)mem_limit;
  ps_colstat_t *st = ps_malloc(sizeof(ps_colstat_t) * (size_t)f);
  stats_init(st, f);
  char msg[1024];
  if (!ts->streamed) {
    float *X = ps_malloc(sizeof(float) * nn * (size_t)f);
    h5_read_range(d->features, PS_F32, row0, n, f, X);
    int64_t br = -1, bc = -1;
    int bad = reject_nonfinite && data_first_nonfinite(X, n, f, &br, &bc);
    if (bad) data_nonfinite_message(d, row0 + br, bc, X[(size_t)br * (size_t)f + (size_t)bc], msg, sizeof msg);
    ps_check_all(bad, msg);
    double tr = ps_now() - t0;
    ps_log("train: read %lld rows x %lld features in %.2f s (%.2f GB/s), resident", (long long)d->n, (long long)f, tr,
           (double)d->n * (double)f * 4.0 / 1e9 / (tr > 0 ? tr : 1e-9));
    stats_add_block(st, X, n, f, train);
    stats_allreduce(st, f);
    prepare_columns(st, f, missing_ind, &ts->cols);
    ts->tf = prepare_transform(&ts->cols);
    ts->c = ts->cols.c;
    ts->Xtr = ps_malloc(sizeof(float) * (size_t)(ts->n_tr > 0 ? ts->n_tr : 1) * (size_t)ts->c);
    ts->Xva = ps_malloc(sizeof(float) * (size_t)(ts->n_va > 0 ? ts->n_va : 1) * (size_t)ts->c);
    prepare_rows(&ts->tf, X, n, train, ts->Xtr, ts->Xva);
    free(X);
    free(train);
  } else {
    /* blocks: two raw buffers (the pipeline) + two standardized (both splits),
     * whole multiples of the statistics' 256-row sub-blocks (same sums as resident) */
    int64_t per_row = 2 * f * 4 + 2 * cmax * 4;
    int64_t br = mem_limit / (per_row > 0 ? per_row : 1);
    br -= br % 256;
    if (br < 256) br = 256;
    ts->block_rows = br;
    ts->train = train;
    ps_pipe_col_t in = {d->features, PS_F32, f};
    ps_pipe_spec_t spec = {"train", row0, n, br, 1, 0, &in, NULL, 0};
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
      stats_add_block(st, X, b.rows, f, train + b.first);
    }
    pipe_check(ts->pipe, NULL); /* agreed on the pipeline's thread; it is idle now */
    stats_allreduce(st, f);
    prepare_columns(st, f, missing_ind, &ts->cols);
    ts->tf = prepare_transform(&ts->cols);
    ts->c = ts->cols.c;
    ts->bx_tr = ps_malloc(sizeof(float) * (size_t)br * (size_t)ts->c);
    ts->bx_va = ps_malloc(sizeof(float) * (size_t)br * (size_t)ts->c);
    ps_log("train: streaming %lld rows x %lld features in blocks of %lld rows per rank (--host-mem-limit %.0f MiB)",
           (long long)d->n, (long long)f, (long long)br, (double)mem_limit / 1048576.0);
  }
  free(st);
  ps_log("train: prepared %lld model columns in %.2f s (labels, split, statistics, standardization)",
         (long long)ts->c, ps_now() - t0);
}

void trainset_free(ps_trainset_t *ts) {
  pipe_close(ts->pipe);
  free(ts->train);
  free(ts->bx_tr);
  free(ts->bx_va);
  free(ts->Xtr);
  free(ts->Xva);
  free(ts->Ytr);
  free(ts->Yva);
  free(ts->n_pos);
  prepare_free(&ts->cols);
  memset(ts, 0, sizeof *ts);
}
