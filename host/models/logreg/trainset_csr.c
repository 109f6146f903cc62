/* trainset_csr.c: a CSR file's training rows for logistic regression with
 * scale-only standardization (trainset.h): the rank's stored values read
 * once, the column statistics from them (stats/colstats_csr.c: the same bits
 * as from the dense file), then standardized (x * scale: a
 * value not stored stays 0) and split; NaN/Inf and values that standardize
 * to 0 are left out (0 either way). Memory: 12 bytes a stored value of the
 * rank plus 8 a row; the fit visits the stored values only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "common/psmath.h"
#include "core/util.h"
#include "models/logreg/trainset.h"

void trainset_scale_only(ps_columns_t *cols) {
  for (int64_t j = 0; j < cols->c; j++)
    if (cols->kind[j] == PS_COL_VALUE) cols->mean[j] = 0.0;
}

/* The first stored NaN/Inf of the rank's rows (the lowest row, then column), collectively refused. */
static void csr_reject_nonfinite(const ps_trainset_t *ts, ps_data_t *d, const ps_csr_block_t *b) {
  char msg[1024] = "";
  int bad = 0;
  for (int64_t p = 0; p < b->nnz && !bad; p++) {
    if (b->val[p] - b->val[p] == 0.0f) continue;
    int64_t i = 0;
    while (b->ptr[i + 1] <= p) i++;
    data_nonfinite_message(d, ts->lab.row0 + i, b->idx[p], b->val[p], msg, sizeof msg);
    bad = 1;
  }
  ps_check_all(bad, msg);
}

/* The column statistics of the rank's CSR rows b from their stored values
 * (stats/colstats.h: bitwise those of the rows made dense). */
static void csr_stats(ps_trainset_t *ts, ps_data_t *d, const ps_csr_block_t *b, int reject_nonfinite,
                      ps_colstat_t *st) {
  int64_t n = ts->lab.n;
  if (reject_nonfinite) csr_reject_nonfinite(ts, d, b);
  ps_colacc_t *sa = stats_tree_begin(d->f, n > 0 ? ts->lab.row0 : 0);
  stats_tree_add_csr(sa, d->f, b->ptr, b->idx, b->val, n, ts->train);
  stats_tree_end(sa, st);
}

/* Room for m more values in a split's block. */
static void grow(ps_csr_block_t *s, int64_t *cap, int64_t m) {
  if (s->nnz + m <= *cap) return;
  *cap = 2 * *cap + m;
  s->idx = ps_realloc(s->idx, sizeof(int32_t) * (size_t)*cap);
  s->val = ps_realloc(s->val, sizeof(float) * (size_t)*cap);
}

void trainset_csr_split(ps_trainset_t *ts, const ps_csr_block_t *bp, const uint8_t *train) {
  const ps_csr_block_t b = *bp;
  const double *scale = ts->cols.scale;
  ps_csr_block_t *sp[2] = {&ts->va, &ts->tr}; /* by PS_ROW_VALID, PS_ROW_TRAIN */
  int64_t cap[2] = {0, 0}, rows[2] = {0, 0};
  for (int64_t i = 0; i < b.n; i++) rows[train[i] == PS_ROW_TRAIN] += train[i] == PS_ROW_TRAIN || train[i] == PS_ROW_VALID;
  for (int s = 0; s < 2; s++) {
    csr_block_free(sp[s]);
    sp[s]->ptr = ps_calloc((size_t)rows[s] + 1, sizeof(int64_t));
  }
  for (int64_t i = 0; i < b.n; i++) {
    int t = train[i];
    if (t != PS_ROW_TRAIN && t != PS_ROW_VALID) continue;
    ps_csr_block_t *o = sp[t];
    grow(o, &cap[t], b.ptr[i + 1] - b.ptr[i]);
    for (int64_t p = b.ptr[i]; p < b.ptr[i + 1]; p++) {
      float v = (float)ps_standardize(b.val[p], PS_COL_VALUE, 0.0, scale[b.idx[p]]);
      if (v == 0.0f) continue;
      o->idx[o->nnz] = b.idx[p];
      o->val[o->nnz++] = v;
    }
    o->ptr[++o->n] = o->nnz;
  }
}

void trainset_csr_load(ps_trainset_t *ts, ps_data_t *d, int reject_nonfinite) {
  int64_t f = d->f;
  ps_colstat_t *st = ps_malloc(sizeof(ps_colstat_t) * (size_t)(f > 0 ? f : 1));
  double t0 = ps_now();
  ps_csr_block_t b;
  csr_read_block(&d->sp, ts->lab.row0, ts->lab.n, &b);
  csr_stats(ts, d, &b, reject_nonfinite, st);
  prepare_columns(st, f, 0, &ts->cols);
  trainset_scale_only(&ts->cols);
  free(st);
  ts->tf = prepare_transform(&ts->cols);
  ts->c = ts->cols.c;
  if (ts->c != f) ps_die_local("train: CSR rows need one model column an input column [%s:%d]", __FILE__, __LINE__);
  double t1 = ps_now();
  trainset_csr_split(ts, &b, ts->train);
  csr_block_free(&b);
  ts->csr = 1;
  double nz = (double)(ts->tr.nnz + ts->va.nnz);
  comm_allreduce_sum_f64(&nz, 1);
  ps_log("train: CSR rows resident: statistics %.2f s, %.0f stored values read and standardized in %.2f s "
         "(%.1f MB on this rank; scale-only standardization)", t1 - t0, nz, ps_now() - t1,
         12e-6 * (double)(ts->tr.nnz + ts->va.nnz) + 8e-6 * (double)ts->lab.n);
}
