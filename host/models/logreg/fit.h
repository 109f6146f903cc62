/* fit.h: the training loop: all heads optimized together, one pass over the
 * rank's rows per evaluation, one deterministic allreduce per evaluation
 * (which also carries the ranks' stop flags). Knows neither the data nor
 * files: the pass and the checkpoint are the caller's callbacks. */
#ifndef PS_FIT_H
#define PS_FIT_H
#include <stdint.h>

#include "models/logreg/linesearch.h"
#include "models/logreg/trace.h"

enum { PS_OPT_LBFGS = 0, PS_OPT_NEWTON = 1 };

typedef struct {
  int method;          /* PS_OPT_LBFGS or PS_OPT_NEWTON */
  int m, max_iter;
  double tol, ftol;
  const double *l2;    /* [k] L2 strength on weights (not the bias) */
  const double *wsum;  /* [k] global sum of row weights: the loss is a weighted mean */
  const uint8_t *dead; /* [c] columns that are identically zero (constant input) */
  char *const *names;  /* [k] head names for the log */
  const double *l1;    /* [k] L1 strength on weights (OWL-QN, L-BFGS only), or NULL: none */
  const double *l1w;   /* [k][c] per-weight factors of l1 (--l1-weights; INFINITY: held at 0), or NULL: 1 */
} fit_opts_t;

/* One pass over this rank's rows at theta: local sums as backend.h's eval.
 * fn_exact (optional, used instead of fn): the same sums added into exact
 * accumulators (core/xsum.h, fit_sums_add's layout), each grid block of
 * rows (core/partition.h) summed alone and added: the total is then the
 * same for any rank count, and so is the model. With fn only, each rank's
 * doubles are added exactly (the same bits for the same rank count). */
typedef struct {
  void (*fn)(void *ctx, const double *theta, double *loss, double *grad, double *hess, const uint8_t *hmask);
  void *ctx;
  void (*fn_exact)(void *ctx, const double *theta, const uint8_t *hmask, int64_t *acc);
} fit_pass_t;

/* Exact sums of one evaluation: values loss[k], grad[k][c+1], then the
 * upper triangle (row-major, i <= j) of each masked head's Hessian, each
 * PS_XS_WORDS int64 words. */
size_t fit_sums_count(int64_t c, int k, const uint8_t *hmask);
/* acc += loss, grad and (hess != NULL) the masked heads' full symmetric
 * Hessians, as backend.h's eval returns them. */
void fit_sums_add(int64_t *acc, int64_t c, int k, const uint8_t *hmask, const double *loss, const double *grad,
                  const double *hess);

/* Checkpoints: save every head's state (rank 0 writes; called on every
 * rank, between passes), and load it at the start (every rank: 1 if there
 * was one, with o[] and tr[] filled). NULL functions: no checkpoints. */
typedef struct {
  void (*save)(void *ctx, int k, const ps_opt_t *o, const fit_trace_t *tr);
  int (*load)(void *ctx, int k, const fit_opts_t *fo, int64_t n, ps_opt_t *o, fit_trace_t *tr);
  void *ctx;
  int every;           /* also save every N passes (0: only on a stop signal) */
  const char *where;   /* for the log */
} fit_ckpt_t;

/* Head h's L1 strength and per-weight factors (fo->l1, fo->l1w) on o: after
 * opt_init or a checkpoint's load, before opt_start. c: the model columns. */
void fit_set_l1(ps_opt_t *o, const fit_opts_t *fo, int h, int64_t c);
/* The direction method of fo->method. */
const ps_direction_t *fit_direction(int method);

/* theta [k][c+1]: start point in, solution out. traces: k entries. Resumes
 * from a checkpoint if ck->load finds one. Returns 0 when every head has
 * stopped, PS_EXIT_STOPPED when a stop signal reached any rank: the
 * checkpoint is then saved and theta is undefined. */
int fit_heads(fit_pass_t pass, int64_t c, int k, const fit_opts_t *fo, double *theta, fit_trace_t *traces,
              const fit_ckpt_t *ck);
#endif
