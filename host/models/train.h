/* train.h: the options every model kind's training shares (the train
 * command's common flags), and the model kinds' training entry points. */
#ifndef PS_TRAIN_H
#define PS_TRAIN_H
#include <stdint.h>

#define PS_DEFAULT_SPLIT_SALT 0x5eed /* 24301 */

typedef struct {
  const char *data, *model, *checkpoint; /* checkpoint: NULL -> MODEL.ckpt */
  const char *targets;                   /* "a,b" or NULL: every /labels/<target> */
  const char *device;                    /* cpu|cuda|auto */
  double holdout;
  int64_t split_salt;
  int reject_nonfinite;
  int64_t host_mem_limit, gpu_mem_limit; /* bytes; 0: automatic */
  int checkpoint_every;
} train_common_t;

/* Logistic regression (models/logreg/train.c). */
typedef struct {
  const char *l2, *pos_weight, *solver, *x_dtype; /* per-target lists as given */
  int max_iter, lbfgs_m, missing_indicators;
  double tol, ftol;
} logreg_opts_t;
int logreg_train(const train_common_t *c, const logreg_opts_t *o);

/* Gradient-boosted trees (models/gbdt/train.c); LightGBM's defaults. */
typedef struct {
  int trees, num_leaves, max_depth, max_bin, early_stopping, bagging_freq;
  int64_t min_data, bin_sample, hist_budget;
  double learning_rate, min_hess, l2, min_gain, feature_fraction, bagging_fraction;
  uint64_t seed;
  const char *pos_weight;
} gbdt_opts_t;
int gbdt_train(const train_common_t *c, const gbdt_opts_t *o);

/* --model-type auto (models/auto.c): both, the better kept. */
int auto_train(const train_common_t *c, const logreg_opts_t *lr, const gbdt_opts_t *gb);
#endif
