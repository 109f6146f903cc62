/* fit.h: the training loop: all heads optimized together, one pass over the
 * rank's rows per evaluation, one deterministic allreduce per evaluation. */
#ifndef PS_FIT_H
#define PS_FIT_H
#include <stdint.h>

#include "backend.h"
#include "optim.h"

typedef struct {
  int method;          /* PS_OPT_LBFGS or PS_OPT_NEWTON */
  int m, max_iter;
  double tol, ftol;
  const double *l2;    /* [k] L2 strength on weights (not the bias) */
  const double *wsum;  /* [k] global sum of row weights: the loss is a weighted mean */
  const uint8_t *dead; /* [c] columns that are identically zero (constant input) */
  char *const *names;  /* [k] head names for the log */
} fit_opts_t;

typedef struct {
  int rows;       /* iterations + 1 (row 0: the start) */
  double *data;   /* [rows][5]: iteration, loss, gradient inf-norm, step, evaluations */
  int status;
  const char *stop;
  double seconds;
} fit_trace_t;

/* Checkpointing: where, of what run, how often. */
typedef struct {
  const char *path;        /* NULL: no checkpoints */
  const char *fingerprint; /* a checkpoint of another run is refused */
  int every;               /* also write one every N passes (0: only on a stop signal) */
} fit_ckpt_t;

/* One pass over this rank's rows at theta: local sums as backend.h's eval. */
typedef struct {
  void (*fn)(void *ctx, const double *theta, double *loss, double *grad, double *hess, const uint8_t *hmask);
  void *ctx;
} fit_pass_t;

/* theta [k][c+1]: start point in, solution out. traces: k entries. With a
 * checkpoint at ck->path, resumes from it instead of starting at theta.
 * Returns 0 when every head has stopped, PS_EXIT_STOPPED when a stop signal
 * reached any rank: the checkpoint is then written and theta is undefined. */
int fit_heads(fit_pass_t pass, int64_t c, int k, const fit_opts_t *fo, double *theta, fit_trace_t *traces,
              const fit_ckpt_t *ck);
#endif
