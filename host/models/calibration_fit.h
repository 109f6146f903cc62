/* calibration_fit.h: train --calibrate's fit (calibration_fit.c) of the
 * map that calibration.h reads and applies. */
#ifndef PS_CALIBRATION_FIT_H
#define PS_CALIBRATION_FIT_H
#include <stdint.h>

#include "io/data.h"

/* What the fit needs of the training job. */
typedef struct {
  const char *model;     /* the written model file (closed), the map goes in it */
  ps_data_t *d;          /* the training data, opened */
  char *const *targets;  /* [k] the model's heads */
  int k;
  const uint8_t *keep;   /* [this rank's rows] rows of the fit, or NULL: every row */
  double holdout;        /* the validation split (labels.h) */
  int64_t salt;
  int kind;              /* PS_CALIB_ISOTONIC or PS_CALIB_PLATT */
} calib_fit_t;

/* Collective. The model scores this rank's validation rows, the scores and
 * labels come together on rank 0 in the file's row order (the same for any
 * rank count), rank 0 fits each head's map, and every rank writes it into
 * the model file. Dies when there are no validation rows. */
void calibration_fit_model(const calib_fit_t *c);

/* Rows to fit the maps on, and where they go. */
typedef struct {
  const char *model;     /* the written model file (closed) */
  int kind;              /* PS_CALIB_ISOTONIC or PS_CALIB_PLATT */
  char *const *targets;  /* [k] */
  int k;
  double *const *v;      /* [k][2 nv]: this rank's rows, v[h][2 i] probability, v[h][2 i + 1] label */
  int64_t nv;
  int keep_scores;       /* also store the rows' probabilities as /calibration/<target>/scores */
  int order_free;        /* fit the rows sorted by (probability, label): the map does not depend on their order */
} calib_maps_t;

/* Collective: each head's rows gathered on rank 0 in rank order (the
 * file's row order when each rank's rows are in it), its map fitted there
 * and written by every rank into the model file, with the rows' count. */
void calibration_write_maps(const calib_maps_t *c);
#endif
