/* model.h: the gradient-boosted trees model -- per-feature cut points, and
 * per head an initial score and a forest -- and its HDF5 file
 * (datasets/SCHEMA.md, model_type "gbdt"). The file holds nothing that
 * depends on the rank count or the device, so every P and device write the
 * same bytes. Reading checks every number and every tree's structure. */
#ifndef PS_GBDT_MODEL_H
#define PS_GBDT_MODEL_H
#include <stdint.h>

#include "io/h5.h"
#include "io/output.h"
#include "models/gbdt/binning.h"
#include "models/gbdt/forest.h"
#include "stats/metrics.h"

typedef struct {
  int64_t f;
  char **feature_names; /* [f] */
  int k;
  char **targets;       /* [k] */
  ps_bins_t bins;
  double *init_score;   /* [k] */
  ps_forest_t *forest;  /* [k] */
  double *imp_gain, *imp_splits; /* [k][f] feature importance: total split gain, splits */
  double holdout;
  int64_t split_salt;
  int owns_names;       /* feature_names and targets are freed with the model */
} ps_gbdt_model_t;

/* Training settings and results recorded beside the model. */
typedef struct {
  const char *input_path, *pos_weight;
  int64_t trees, num_leaves, max_depth, min_data, max_bin, bagging_freq, early_stopping, seed;
  double learning_rate, min_hess, l2, min_gain, feature_fraction, bagging_fraction;
  double n_train, n_valid;
  const double *n_pos, *pos_ratio; /* [k] */
  const int64_t *best_iteration;   /* [k] trees kept per head */
  const double *const *trace;      /* [k] [trees grown][3]: tree, train loss, valid loss */
  const int64_t *trace_rows;       /* [k] */
  const ps_metrics_t *train, *valid; /* [k]; valid may be NULL */
} ps_gbdt_report_t;

void gbdt_model_init(ps_gbdt_model_t *m, int64_t f, int k);
void gbdt_model_free(ps_gbdt_model_t *m);
/* Rank 0 only: into out's temporary (the caller commits it). */
void gbdt_model_write(ps_output_t *out, const ps_gbdt_model_t *m, const ps_gbdt_report_t *r);
/* Every rank reads the (open, small) file; dies with one line. */
void gbdt_model_read(ps_h5_t fid, const char *path, ps_gbdt_model_t *m);
/* Write / read a model's trees and cuts into a group of an open file (the checkpoint shares them). */
void gbdt_model_write_trees(ps_h5_t fid, const ps_gbdt_model_t *m, int heads);
/* Logits of raw rows X [n][f] -> Z[h*n + i] on the CPU (scorer.c): the
 * doubles whose sigmoid the CPU scorer rounds to float. */
void gbdt_model_logits(const ps_gbdt_model_t *m, const float *X, int64_t n, double *Z);
void gbdt_model_read_trees(ps_h5_t fid, const char *path, ps_gbdt_model_t *m, int heads);
#endif
