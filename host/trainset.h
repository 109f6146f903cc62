/* trainset.h: a rank's training and validation rows, ready for a backend:
 * labels validated, rows split by a hash of customer_id, columns
 * standardized with distributed training-split statistics. */
#ifndef PS_TRAINSET_H
#define PS_TRAINSET_H
#include <stdint.h>

#include "h5io.h"

typedef struct {
  int64_t f, c;          /* input columns, model columns */
  int k;
  int64_t n_tr, n_va;    /* this rank's rows */
  double g_tr, g_va;     /* rows in all ranks */
  float *Xtr, *Xva;      /* [n][c] standardized */
  uint8_t *Ytr, *Yva;    /* [n][k] */
  int64_t *src;          /* model columns: source, kind, mean, scale */
  uint8_t *kind, *dead;
  double *mean, *scale;
  double *n_pos;         /* [k] positives in the training split (all ranks) */
} ps_trainset_t;

/* reject_nonfinite: die naming the first NaN/Inf feature (row, column)
 * instead of imputing it. */
void trainset_load(ps_data_t *d, char *const *targets, int k, double holdout, int64_t salt, int missing_ind,
                   int reject_nonfinite, ps_trainset_t *ts);
/* Dies (collective) naming file, row and column of the first non-finite
 * value of rows [row0, row0+n) of X [n][f]. */
void trainset_reject_nonfinite(const ps_data_t *d, const float *X, int64_t row0, int64_t n);
void trainset_free(ps_trainset_t *ts);
/* Read /labels/<target> rows [row0, row0+n) into Y[i*k + h]; dies (collective)
 * naming file, dataset, row and value when a label is not exactly 0 or 1. */
void trainset_read_labels(ps_data_t *d, const char *target, int64_t row0, int64_t n, int k, int h, uint8_t *Y);
/* Labels of head h as a contiguous array (caller frees). */
uint8_t *trainset_labels(const uint8_t *Y, int64_t n, int k, int h);
#endif
