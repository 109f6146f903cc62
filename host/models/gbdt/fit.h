/* fit.h: gradient-boosted trees as a library call (fit.c): the opened
 * data, its heads and a row mask in; the forest, each head's trace and
 * metrics out, in memory. Files: only the checkpoint, through the hooks.
 * The model is the same bytes for any rank count. */
#ifndef PS_GBDT_FIT_H
#define PS_GBDT_FIT_H
#include "models/gbdt/checkpoint.h"
#include "models/gbdt/grow.h"
#include "models/gbdt/model.h"
#include "models/train_job.h"

typedef struct {
  ps_gbdt_model_t mdl;       /* feature names and targets: the input's */
  ps_gbdt_state_t st;        /* best[h] = trees kept; each head's trace */
  ps_metrics_t *mtr, *mva;   /* [k] each */
  double g_tr, g_va;         /* rows of each split in all ranks */
  double *n_pos, *ratio;     /* [k] training positives, w_pos / w_neg */
  int64_t sampled;           /* rows sampled for the cuts (this rank) */
  double t_load, t_fit, t_grad, t_update, t_metrics;
  ps_grow_times_t tm;
  int grad_bits; /* the gradients' bits this fit used (0: exact; --grad-bits auto resolved) */
  int64_t hist_cols; /* columns a histogram pass reads a row (features, or bundles' columns) */
} gbdt_fit_t;

/* Collective. NULL with *rc = PS_EXIT_STOPPED when a stop signal came
 * (the checkpoint written, hk->sig and hk->t_fit set); else *rc = 0. */
gbdt_fit_t *gbdt_fit(const train_common_t *cm, const gbdt_opts_t *o, const train_input_t *in, train_hooks_t *hk,
                     int *rc);
void gbdt_fit_free(gbdt_fit_t *r);
#endif
