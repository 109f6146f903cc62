/* auto_cv.c: auto's folds and the candidates' scores on them (see
 * auto_cv.h).
 *
 * The fold count. One split decides reliably when the AUC measured on it
 * varies little: the AUC's variance is at most A(1 - A) / m <= 1 / (4 m)
 * for m rows of the rarer class (van Dantzig's bound), so with 10,000 of
 * them in the validation split its standard error is at most 0.005, and
 * about 0.003 at the AUCs of churn-like tables (Hanley and McNeil's
 * formula at A = 0.8 with more negatives than positives); the difference
 * of two models on the same rows varies less still. Below that (the
 * 1,470-row table of issue 27 has ~50 positives in a 20% split: a standard
 * error of ~0.04), one split picks at random among close candidates, and
 * 5 folds average over every row (each scored once, out of fold). */
#define _POSIX_C_SOURCE 200809L
#include "models/auto_cv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "common/psmath.h"
#include "core/partition.h"
#include "core/rng.h"
#include "core/util.h"
#include "io/pipeline.h"
#include "models/labels.h"
#include "stats/metrics.h"

const char *const AUTO_CAND_NAMES[AUTO_NCAND] = {"logreg", "gbdt", "blend"};
const train_kind_t *const AUTO_KINDS[2] = {&logreg_kind, &gbdt_kind};

int auto_cv_fold_of(int64_t id, int64_t salt, int folds) {
  int j = (int)(ps_id_unit(id, (uint64_t)salt) * folds);
  return j < folds ? j : folds - 1;
}

/* This rank's customer ids (caller frees); *row0, *n its rows. */
static int64_t *rank_ids(const train_input_t *in, int64_t *row0, int64_t *n) {
  ps_partition(in->d->n, ps_size, ps_rank, row0, n);
  int64_t *ids = ps_malloc(sizeof(int64_t) * (size_t)(*n > 0 ? *n : 1));
  data_read_ids(in->d, *row0, *n, ids);
  return ids;
}

/* This rank's labels of every head, Y [n][k] (caller frees). */
static uint8_t *rank_labels(const train_input_t *in, int64_t row0, int64_t n) {
  uint8_t *Y = ps_malloc((size_t)(n > 0 ? n : 1) * (size_t)in->k);
  for (int h = 0; h < in->k; h++) data_read_labels(in->d, in->targets[h], row0, n, in->k, h, Y);
  return Y;
}

int auto_cv_folds(const train_opts_t *o, const train_input_t *in) {
  if (o->cv_folds > 0) return o->cv_folds;
  if (o->cm.calibrate) return 1; /* the calibration map is fitted on the --holdout split's rows */
  if (!(o->cm.holdout > 0)) return AUTO_DEFAULT_FOLDS;
  int64_t row0, n, k = in->k;
  int64_t *ids = rank_ids(in, &row0, &n);
  uint8_t *Y = rank_labels(in, row0, n);
  int64_t *cnt = ps_calloc((size_t)(2 * k + 1), sizeof(int64_t)); /* [head] positives, then rows */
  for (int64_t i = 0; i < n; i++) {
    if (!(ps_id_unit(ids[i], (uint64_t)o->cm.split_salt) < o->cm.holdout)) continue;
    cnt[2 * k]++;
    for (int64_t h = 0; h < k; h++) cnt[h] += Y[(size_t)i * (size_t)k + (size_t)h];
  }
  comm_allreduce_sum_i64(cnt, (size_t)(2 * k + 1));
  int single = 1;
  for (int64_t h = 0; h < k; h++) {
    int64_t pos = cnt[h], neg = cnt[2 * k] - pos;
    single &= (pos < neg ? pos : neg) >= AUTO_SINGLE_SPLIT_MIN;
  }
  free(cnt);
  free(Y);
  free(ids);
  return single ? 1 : AUTO_DEFAULT_FOLDS;
}

uint8_t *auto_cv_fold_mask(const train_opts_t *o, const train_input_t *in, int folds, int j) {
  int64_t row0, n;
  int64_t *ids = rank_ids(in, &row0, &n);
  uint8_t *mask = ps_malloc((size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) {
    int va = folds == 1 ? ps_id_unit(ids[i], (uint64_t)o->cm.split_salt) < o->cm.holdout
                        : auto_cv_fold_of(ids[i], o->cm.split_salt, folds) == j;
    mask[i] = va ? PS_KEEP_VALID : PS_KEEP_TRAIN;
  }
  free(ids);
  return mask;
}

/* Logits of this rank's validation rows (mask, in order; m of them) from
 * each fit: Z[c][h*m + r], read again from --data block by block. */
static void score_rows(const train_input_t *in, const uint8_t *mask, int64_t row0, int64_t n, int64_t m,
                       void *const *fit, double **Z) {
  ps_data_t *d = in->d;
  int64_t f = d->f, k = in->k, br = h5_block_rows(4 * f, d->chunk_rows), at = 0;
  ps_pipe_col_t col = {.dset = d->features, .type = PS_F32, .cols = f};
  ps_pipe_spec_t spec = {.what = "train", .row0 = row0, .n = n, .block_rows = br, .nin = 1, .in = &col};
  ps_pipe_t *pipe = pipe_open(&spec);
  float *X = ps_malloc(sizeof(float) * (size_t)(br > 0 ? br : 1) * (size_t)(f > 0 ? f : 1));
  double *z = ps_malloc(sizeof(double) * (size_t)(br > 0 ? br : 1) * (size_t)k);
  ps_block_t b;
  pipe_start(pipe, 0);
  while (pipe_next(pipe, &b)) {
    const float *B = b.in[0];
    int64_t r = 0;
    for (int64_t i = 0; i < b.rows; i++)
      if (mask[b.first + i] == PS_KEEP_VALID)
        memcpy(X + (size_t)(r++) * (size_t)f, B + (size_t)i * (size_t)f, sizeof(float) * (size_t)f);
    for (int c = 0; c < 2 && r > 0; c++) {
      AUTO_KINDS[c]->logits(fit[c], X, r, z);
      for (int64_t h = 0; h < k; h++) memcpy(Z[c] + h * m + at, z + h * r, sizeof(double) * (size_t)r);
    }
    at += r;
  }
  pipe_check(pipe, NULL);
  pipe_close(pipe);
  free(X);
  free(z);
}

void auto_cv_score_fold(const train_input_t *in, const uint8_t *mask, void *const *fit, int j, auto_scores_t *s) {
  int64_t row0, n, m = 0, k = in->k;
  ps_partition(in->d->n, ps_size, ps_rank, &row0, &n);
  for (int64_t i = 0; i < n; i++) m += mask[i] == PS_KEEP_VALID;
  int64_t rows = m;
  comm_allreduce_sum_i64(&rows, 1);
  s->rows[j] = (double)rows;
  size_t km = (size_t)k * (size_t)(m > 0 ? m : 1);
  double *Z[3] = {ps_malloc(sizeof(double) * km), ps_malloc(sizeof(double) * km), ps_malloc(sizeof(double) * km)};
  score_rows(in, mask, row0, n, m, fit, Z);
  for (size_t e = 0; e < (size_t)k * (size_t)m; e++) /* as the blend scorer computes it */
    Z[AUTO_BLEND][e] = AUTO_BLEND_WEIGHT * Z[AUTO_LOGREG][e] + (1.0 - AUTO_BLEND_WEIGHT) * Z[AUTO_GBDT][e];
  uint8_t *Y = rank_labels(in, row0, n), *y = ps_malloc((size_t)(m > 0 ? m : 1));
  float *p = ps_malloc(sizeof(float) * (size_t)(m > 0 ? m : 1));
  for (int64_t h = 0; h < k; h++) {
    for (int64_t i = 0, r = 0; i < n; i++)
      if (mask[i] == PS_KEEP_VALID) y[r++] = Y[(size_t)i * (size_t)k + (size_t)h];
    for (int c = 0; c < AUTO_NCAND; c++) {
      for (int64_t r = 0; r < m; r++) p[r] = (float)ps_sigmoid(Z[c][h * m + r]);
      ps_metrics_t met;
      metrics_compute_in(p, y, NULL, m, &met);
      size_t at = ((size_t)j * (size_t)k + (size_t)h) * AUTO_NCAND + (size_t)c;
      s->loss[at] = met.logloss;
      s->auc[at] = met.auc;
    }
    s->trees[(size_t)j * (size_t)k + (size_t)h] = AUTO_KINDS[AUTO_GBDT]->trees(fit[AUTO_GBDT], (int)h);
  }
  metrics_release();
  for (int c = 0; c < 3; c++) free(Z[c]);
  free(Y);
  free(y);
  free(p);
}
