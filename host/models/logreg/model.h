/* model.h: the logistic-regression model (weights on standardized columns
 * plus the standardization itself) and its HDF5 file (datasets/SCHEMA.md,
 * model_type "logreg"). Reading checks every number: finite weights, bias
 * and means, finite non-negative scales. */
#ifndef PS_LOGREG_MODEL_H
#define PS_LOGREG_MODEL_H
#include <stdint.h>

#include "io/h5.h"
#include "io/output.h"
#include "models/logreg/trace.h"
#include "stats/metrics.h"
#include "stats/prepare.h"

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
  double tol, ftol;
  int max_iter, missing_indicators, ranks;
  const double *l2, *pos_weight, *n_pos; /* [k] */
  double n_train, n_valid;
  const fit_trace_t *traces;             /* [k] */
  const ps_metrics_t *train, *valid;     /* [k] each; valid may be NULL */
  const double *l1;                      /* [k], or NULL: no L1 (then no l1 attributes) */
  const char *l1_weights;                /* --l1-weights MODEL, or NULL (then no l1_weights attributes) */
  double l1_gamma;
} ps_train_report_t;

/* Rank 0 only: into out's temporary (the caller commits it). */
void logreg_model_write(ps_output_t *out, const ps_model_t *m, const ps_train_report_t *r);
/* Every rank reads the (small) file (already open); dies with one line. */
void logreg_model_read(ps_h5_t fid, const char *path, ps_model_t *m);
void logreg_model_free(ps_model_t *m);
/* Head h's weights that are not 0 (the bias aside). */
int64_t logreg_model_nonzero(const ps_model_t *m, int h);
ps_transform_t model_transform(const ps_model_t *m);
/* Logits of raw rows X [n][f] -> Z[h*n + i] on the CPU (scorer.c): the
 * doubles whose sigmoid the CPU scorer rounds to float. */
void logreg_model_logits(const ps_model_t *m, const float *X, int64_t n, double *Z);
#endif
