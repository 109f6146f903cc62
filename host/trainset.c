/* trainset.c: loading and preparing the training rows (see trainset.h). */
#include "trainset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "partition.h"
#include "psmath.h"
#include "rng.h"
#include "stats.h"
#include "util.h"

uint8_t *trainset_labels(const uint8_t *Y, int64_t n, int k, int h) {
  uint8_t *y = ps_malloc((size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) y[i] = Y[(size_t)i * (size_t)k + (size_t)h];
  return y;
}

/* Read and check one target's labels: values must be exactly 0 or 1. */
void trainset_read_labels(ps_data_t *d, const char *target, int64_t row0, int64_t n, int k, int h, uint8_t *Y) {
  double *lab = ps_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  h5io_read_labels(d, target, row0, n, lab);
  char msg[1024] = {0};
  int bad = 0;
  for (int64_t i = 0; i < n && !bad; i++) {
    if (lab[i] == 0.0 || lab[i] == 1.0) {
      Y[(size_t)i * (size_t)k + (size_t)h] = (uint8_t)lab[i];
    } else {
      bad = 1;
      snprintf(msg, sizeof msg, "%s: /labels/%s row %lld: value %g is not 0 or 1", d->path, target,
               (long long)(row0 + i), lab[i]);
    }
  }
  free(lab);
  ps_check_all(bad, msg); /* the lowest rank with a bad value holds the first bad row */
}

void trainset_reject_nonfinite(const ps_data_t *d, const float *X, int64_t row0, int64_t n) {
  char msg[1024] = {0};
  int bad = 0;
  for (int64_t i = 0; i < n && !bad; i++)
    for (int64_t j = 0; j < d->f; j++) {
      float v = X[(size_t)i * (size_t)d->f + (size_t)j];
      if (!isfinite(v)) {
        bad = 1;
        snprintf(msg, sizeof msg, "%s: /features row %lld column %lld (%s) is %s (--nonfinite reject)", d->path,
                 (long long)(row0 + i), (long long)j, d->feature_names[j], isnan(v) ? "NaN" : "Inf");
        break;
      }
    }
  ps_check_all(bad, msg);
}

/* Model columns from the training statistics. */
static void make_columns(ps_trainset_t *ts, const ps_colstat_t *st, int64_t f, int missing_ind) {
  int64_t c = f;
  if (missing_ind)
    for (int64_t j = 0; j < f; j++) c += (st[j].nan + st[j].inf) > 0;
  ts->c = c;
  ts->src = ps_malloc(sizeof(int64_t) * (size_t)c);
  ts->kind = ps_malloc((size_t)c);
  ts->dead = ps_malloc((size_t)c);
  ts->mean = ps_malloc(sizeof(double) * (size_t)c);
  ts->scale = ps_malloc(sizeof(double) * (size_t)c);
  int64_t col = 0;
  for (int64_t j = 0; j < f; j++) {
    /* Rounded to float precision: the statistics of P ranks differ from those
     * of one rank in the last bits (merge order), and rounding makes every
     * rank count standardize to the same float32 values. */
    double sd = (float)stats_std(&st[j]), mu = (float)stats_mean(&st[j]);
    ts->src[col] = j;
    ts->kind[col] = PS_COL_VALUE;
    ts->mean[col] = isfinite(mu) ? mu : 0.0;
    ts->scale[col] = (isfinite(sd) && sd > 1e-12 * fmax(1.0, fabs(mu))) ? 1.0 / sd : 0.0;
    col++;
  }
  for (int64_t j = 0; missing_ind && j < f; j++) {
    double miss = st[j].nan + st[j].inf;
    if (miss == 0) continue;
    double q = (float)(miss / (miss + st[j].count)), sd = (float)sqrt(q * (1 - q));
    ts->src[col] = j;
    ts->kind[col] = PS_COL_MISSING;
    ts->mean[col] = q;
    ts->scale[col] = sd > 0 ? 1.0 / sd : 0.0;
    col++;
  }
  for (int64_t j = 0; j < c; j++) ts->dead[j] = ts->scale[j] == 0.0;
}

/* Standardize rows [0, n) of raw X [n][f] into the split buffers. */
static void split_rows(const ps_trainset_t *ts, const float *X, int64_t n, const uint8_t *train, float *xtr,
                       float *xva) {
  int64_t f = ts->f, c = ts->c, itr = 0, iva = 0;
  for (int64_t i = 0; i < n; i++) {
    const float *x = X + (size_t)i * (size_t)f;
    float *o = train[i] ? xtr + (size_t)itr++ * (size_t)c : xva + (size_t)iva++ * (size_t)c;
    for (int64_t j = 0; j < c; j++) o[j] = (float)ps_standardize(x[ts->src[j]], ts->kind[j], ts->mean[j], ts->scale[j]);
  }
}

void trainset_rewind(ps_trainset_t *ts) {
  ts->tr_off = ts->va_off = 0;
  blockreader_rewind(ts->reader);
}

int trainset_next(ps_trainset_t *ts, const float **Xtr, const uint8_t **Ytr, int64_t *ntr, const float **Xva,
                  const uint8_t **Yva, int64_t *nva) {
  const float *X;
  int64_t first, m;
  if (!blockreader_next(ts->reader, &X, &first, &m)) return 0;
  int64_t a = 0;
  for (int64_t i = 0; i < m; i++) a += ts->train[first + i];
  split_rows(ts, X, m, ts->train + first, ts->bx_tr, ts->bx_va);
  *Xtr = ts->bx_tr;
  *Ytr = ts->Ytr + (size_t)ts->tr_off * (size_t)ts->k;
  *ntr = a;
  *Xva = ts->bx_va;
  *Yva = ts->Yva + (size_t)ts->va_off * (size_t)ts->k;
  *nva = m - a;
  ts->tr_off += a;
  ts->va_off += m - a;
  return 1;
}

void trainset_load(ps_data_t *d, char *const *targets, int k, double holdout, int64_t salt, int missing_ind,
                   int reject_nonfinite, int64_t mem_limit, ps_trainset_t *ts) {
  memset(ts, 0, sizeof *ts);
  int64_t f = d->f, row0, n;
  ps_partition(d->n, ps_size, ps_rank, &row0, &n);
  ts->f = f;
  ts->k = k;
  uint8_t *Y = ps_malloc((size_t)(n > 0 ? n : 1) * (size_t)k);
  for (int h = 0; h < k; h++) trainset_read_labels(d, targets[h], row0, n, k, h, Y);

  double t0 = ps_now();
  ts->path = d->path;
  ts->names = d->feature_names;
  ts->reject_nonfinite = reject_nonfinite;
  int64_t *ids = ps_malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
  h5io_read_range(d->ids, H5T_NATIVE_INT64, row0, n, 0, ids);
  uint8_t *train = ps_malloc((size_t)(n > 0 ? n : 1));
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
  if (ts->g_tr < 2) ps_die_all(PS_EXIT_ERROR, "%s: only %.0f training rows after --holdout %g", d->path, cnt[0], holdout);

  ts->n_pos = ps_calloc((size_t)k, sizeof(double));
  for (int64_t i = 0; i < n; i++)
    if (train[i])
      for (int h = 0; h < k; h++) ts->n_pos[h] += Y[(size_t)i * (size_t)k + (size_t)h];
  comm_allreduce_sum_f64(ts->n_pos, (size_t)k);
  for (int h = 0; h < k; h++) {
    if (ts->n_pos[h] == 0 || ts->n_pos[h] == ts->g_tr)
      ps_die_all(PS_EXIT_ERROR, "%s: /labels/%s: every training label is %d; a model needs both classes", d->path,
                 targets[h], ts->n_pos[h] == 0 ? 0 : 1);
  }
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
  if (!ts->streamed) {
    float *X = ps_malloc(sizeof(float) * (size_t)(n > 0 ? n : 1) * (size_t)f);
    h5io_read_range(d->features, H5T_NATIVE_FLOAT, row0, n, f, X);
    if (reject_nonfinite) trainset_reject_nonfinite(d, X, row0, n);
    double tr = ps_now() - t0;
    ps_log("train: read %lld rows x %lld features in %.2f s (%.2f GB/s), resident", (long long)d->n, (long long)f, tr,
           (double)d->n * (double)f * 4.0 / 1e9 / (tr > 0 ? tr : 1e-9));
    stats_add_block(st, X, n, f, train);
    stats_allreduce(st, f);
    make_columns(ts, st, f, missing_ind);
    ts->Xtr = ps_malloc(sizeof(float) * (size_t)(ts->n_tr > 0 ? ts->n_tr : 1) * (size_t)ts->c);
    ts->Xva = ps_malloc(sizeof(float) * (size_t)(ts->n_va > 0 ? ts->n_va : 1) * (size_t)ts->c);
    split_rows(ts, X, n, train, ts->Xtr, ts->Xva);
    free(X);
    free(train);
  } else {
    /* blocks: two raw buffers (reader) + two standardized (both splits), whole
     * multiples of the statistics' 256-row sub-blocks (same sums as resident) */
    int64_t per_row = 2 * f * 4 + cmax * 4;
    int64_t br = mem_limit / (per_row > 0 ? per_row : 1);
    br -= br % 256;
    if (br < 256) br = 256;
    ts->block_rows = br;
    ts->train = train;
    ts->reader = blockreader_open(d->features, row0, n, f, br);
    blockreader_rewind(ts->reader);
    const float *X;
    int64_t first, m;
    while (blockreader_next(ts->reader, &X, &first, &m)) {
      if (reject_nonfinite) trainset_reject_nonfinite(d, X, row0 + first, m);
      stats_add_block(st, X, m, f, train + first);
    }
    stats_allreduce(st, f);
    make_columns(ts, st, f, missing_ind);
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
  blockreader_close(ts->reader);
  free(ts->train); free(ts->bx_tr); free(ts->bx_va);
  free(ts->Xtr); free(ts->Xva); free(ts->Ytr); free(ts->Yva); free(ts->src); free(ts->kind);
  free(ts->dead); free(ts->mean); free(ts->scale); free(ts->n_pos);
  memset(ts, 0, sizeof *ts);
}
