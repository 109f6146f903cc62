/* model.h: the trained model (weights on standardized columns plus the
 * standardization itself) and its HDF5 file (datasets/SCHEMA.md). */
#ifndef PS_MODEL_H
#define PS_MODEL_H
#include <stdint.h>

#include "backend.h"
#include "fit.h"
#include "h5io.h"
#include "metrics.h"

typedef struct {
  int64_t f, c;
  int k;
  char **feature_names; /* [f] */
  char **targets;       /* [k] */
  int64_t *src;         /* [c] */
  uint8_t *kind;        /* [c] */
  double *mean, *scale; /* [c] */
  double *theta;        /* [k][c+1]: weights then bias */
  double holdout;
  int64_t split_salt;
} ps_model_t;

/* What training adds to the file beside the model itself. */
typedef struct {
  const char *solver, *class_weight, *input_path, *device;
  double tol, ftol, holdout;
  int max_iter, missing_indicators, ranks;
  const double *l2, *pos_weight, *n_pos; /* [k] */
  double n_train, n_valid;
  const fit_trace_t *traces;             /* [k] */
  const ps_metrics_t *train, *valid;     /* [k] each; valid may be NULL */
} ps_train_report_t;

/* Rank 0 only: write to a temporary name beside path, rename when done. */
void model_write(const char *path, const ps_model_t *m, const ps_train_report_t *r);
/* Every rank reads the (small) file; dies with a one-line message. */
void model_read(const char *path, ps_model_t *m);
void model_free(ps_model_t *m);
/* Dies naming the first difference if the data's columns are not the model's. */
void model_check_data(const ps_model_t *m, const char *model_path, const ps_data_t *d);
void model_transform(const ps_model_t *m, ps_transform_t *t);
#endif
