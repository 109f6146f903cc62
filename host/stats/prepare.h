/* prepare.h: model columns from distributed training statistics -- each
 * input column standardized by its training mean and standard deviation
 * (NaN/Inf imputed by the mean, i.e. 0 after standardizing), optionally a
 * standardized 0/1 "was missing" column for each column with NaN/Inf --
 * and the rows' transform into them (common/psmath.h ps_standardize).
 * Statistics are rounded to float precision before use, so every rank
 * count standardizes to the same float32 values. Shared by every model
 * that works on standardized columns (logistic regression, k-means). */
#ifndef PS_PREPARE_H
#define PS_PREPARE_H
#include <stdint.h>

#include "stats/colstats.h"

/* How raw input rows become model columns (a view; see ps_columns_t). */
typedef struct {
  int64_t c;            /* model columns */
  int64_t f;            /* input columns */
  const int64_t *src;   /* [c] input column of each model column */
  const uint8_t *kind;  /* [c] PS_COL_VALUE, PS_COL_MISSING or PS_COL_CATEGORY + code */
  const double *mean;   /* [c] */
  const double *scale;  /* [c] 1/std, 0 for constant columns */
} ps_transform_t;

/* The model columns (owned arrays). dead[j]: the column is constant. */
typedef struct {
  int64_t c, f;
  int64_t *src;
  uint8_t *kind, *dead;
  double *mean, *scale;
} ps_columns_t;

void prepare_columns(const ps_colstat_t *st, int64_t f, int missing_indicators, ps_columns_t *cols);
/* Categorical inputs one-hot (card [f]: categories of each input column, 0
 * numerical; NULL: none): a column's value column becomes one indicator
 * column a category (kind PS_COL_CATEGORY + code, mean 0, scale 1: not
 * standardized), codes 0 .. min(C, 254) - 1, in place of it. */
void prepare_categorical(ps_columns_t *cols, const int64_t *card);
void prepare_free(ps_columns_t *cols);
ps_transform_t prepare_transform(const ps_columns_t *cols);
/* Standardize raw rows X [n][f] into float32 model columns. With train
 * (a row: 1 training, 0 validation, else neither) rows go to xtr or xva in
 * order, or nowhere; without, all go to xtr.
 * xtr may be X itself when c <= f (in place: row i goes to a row <= i). */
void prepare_rows(const ps_transform_t *t, const float *X, int64_t n, const uint8_t *train, float *xtr, float *xva);
#endif
