/* train.h: multi-head logistic regression as a library call (train.c):
 * the opened data, its heads and a row mask in; the model (standardization
 * and weights), each head's trace and metrics out, in memory. Files: only
 * the checkpoint, through the hooks. */
#ifndef PS_LOGREG_TRAIN_H
#define PS_LOGREG_TRAIN_H
#include "models/logreg/model.h"
#include "models/train_job.h"
#include "stats/prepare.h"

typedef struct {
  ps_model_t mdl;            /* feature names and targets: the input's */
  ps_columns_t cols;         /* owns mdl's src, kind, mean, scale */
  fit_trace_t *traces;       /* [k] */
  ps_metrics_t *mtr, *mva;   /* [k] each */
  double *l2, *pw, *n_pos;   /* [k] */
  double g_tr, g_va;         /* rows of each split in all ranks */
  int newton, streamed, failed; /* failed: a head made no progress */
  char *device;
  int64_t mem_limit, gpu_limit;
  double t_load, t_fit, t_metrics;
  double *l1;                /* [k] (--l1) */
  int any_l1;                /* some head has l1 > 0 */
  double *l1w;               /* [k][c] --l1-weights' factors of l1 (l1_weights.h), or NULL */
} logreg_fit_t;

/* Collective. NULL with *rc = PS_EXIT_STOPPED when a stop signal came
 * (the checkpoint written, hk->sig and hk->t_fit set); else *rc = 0, or
 * PS_EXIT_ERROR when a head made no progress (r->failed). */
logreg_fit_t *logreg_fit(const train_common_t *cm, const logreg_opts_t *o, const train_input_t *in,
                         train_hooks_t *hk, int *rc);
void logreg_fit_free(logreg_fit_t *r);
#endif
