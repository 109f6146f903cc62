/* train.h: `propscore train`: its options (one table, train_cmd, in
 * models/train_job.c: the common flags, logistic regression's and
 * gradient-boosted trees' in one struct) and its entry point. */
#ifndef PS_TRAIN_H
#define PS_TRAIN_H
#include <stdint.h>

#include "core/options.h"

#define PS_DEFAULT_SPLIT_SALT 0x5eed /* 24301 */

typedef struct {
  const char *data, *model, *checkpoint; /* checkpoint: NULL -> MODEL.ckpt */
  const char *targets;                   /* "a,b" or NULL: every /labels/<target> */
  const char *device;                    /* cpu|cuda|auto */
  const char *pos_weight;                /* per-target list as given */
  double holdout;
  int64_t split_salt;
  int reject_nonfinite;
  int64_t host_mem_limit, gpu_mem_limit; /* bytes; 0: automatic */
  int checkpoint_every;
  int calibrate; /* PS_CALIB_* (models/calibration.h) */
} train_common_t;

/* Logistic regression (models/logreg/fit.c). */
enum { PS_SOLVER_AUTO = 0, PS_SOLVER_LBFGS = 1, PS_SOLVER_NEWTON = 2 };
typedef struct {
  const char *l2, *x_dtype; /* per-target list as given; f32|bf16 */
  int solver;               /* PS_SOLVER_* */
  int max_iter, lbfgs_m, missing_indicators;
  double tol, ftol;
  int standardize; /* --standardize: 0 center, 1 scale (no centering: what CSR rows train on) */
  const char *l1;  /* --l1: per-target list as given (OWL-QN when any is > 0) */
  const char *l1_weights; /* --l1-weights MODEL: the adaptive lasso's first fit, or NULL */
  double l1_gamma;        /* --l1-gamma: the factors are |w0|^-gamma */
  int gpu_sums; /* --gpu-sums: 0 exact (the CPU's block sums on the device), 1 fast (grad.cu); no effect on the CPU */
} logreg_opts_t;

/* Gradient-boosted trees (models/gbdt/fit.c); LightGBM's defaults. */
typedef struct {
  int trees, num_leaves, max_depth, max_bin, early_stopping, bagging_freq;
  int grad_bits; /* --grad-bits: index in exact|16|8|4|auto (gbdt_grad_bits) */
  int64_t min_data, bin_sample, hist_budget;
  double learning_rate, min_hess, l2, min_gain, feature_fraction, bagging_fraction;
  uint64_t seed;
  const int64_t *head_trees; /* [k] trees of each head, or NULL: --trees for every head (auto's refit) */
  int bundle_off; /* --bundle: 0 auto (exclusive features share a histogram column), 1 off */
  int64_t grad_bits_min_rows; /* --grad-bits auto: quantize from this many training rows (all ranks) on */
  /* categorical splits (gbdt/categorical.h): LightGBM's cat_smooth, cat_l2,
   * max_cat_to_onehot, min_data_per_group, max_cat_threshold */
  double cat_smooth, cat_l2;
  int max_cat_onehot, max_cat_threshold;
  int64_t min_data_per_group;
} gbdt_opts_t;

enum { PS_KIND_LOGREG = 0, PS_KIND_GBDT = 1, PS_KIND_AUTO = 2 };
typedef struct {
  train_common_t cm;
  logreg_opts_t lr;
  gbdt_opts_t gb;
  int kind;              /* PS_KIND_* */
  int uplift;            /* --uplift: two models (models/uplift_train.h) */
  const char *treatment; /* --uplift's treatment flag */
  int cv_folds;          /* auto: --cv-folds (0: chosen by the data, 1: the single split) */
  int calibration_scores; /* --calibration-scores: auto's out-of-fold scores stored beside the map */
} train_opts_t;

/* `propscore train`: its options and help. */
extern const ps_cmd_spec_t train_cmd;
#endif
