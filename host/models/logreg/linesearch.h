/* linesearch.h: one head's iteration, driven by reverse communication: the
 * caller evaluates the objective of every head in one pass over the data,
 * then feeds each head its value and gradient (and Hessian for Newton). A
 * head proposes its next trial point in o->xt. Only plain arrays: no data,
 * no MPI, so every rank given identical inputs takes identical steps. The
 * direction comes from a direction.h method (L-BFGS or Newton). */
#ifndef PS_LINESEARCH_H
#define PS_LINESEARCH_H
#include "models/logreg/direction.h"

enum { PS_RUNNING = 0, PS_CONVERGED, PS_MAXITER, PS_LSFAIL };

typedef struct {
  int n;
  const ps_direction_t *dir;
  void *dstate;
  double tol, ftol;
  int max_iter;
  /* accepted point */
  double *x, *g, f;
  /* search direction and trial point */
  double *d, *xt;
  double t, lo, hi, dg0;
  int ls_evals;
  /* bookkeeping */
  int iter, nfev, status;
  double last_step;
  const char *stop;
  /* L1 (OWL-QN, owlqn.c): l1 * |x[0..n_pen)|_1 added to f; 0: none. pg:
   * the pseudo-gradient of the accepted point (the gradient's stand-in:
   * directions, opt_gnorm and the stop test use it). f then holds the
   * whole objective, g the smooth part's gradient. */
  double l1;
  int n_pen;
  double *pg;
  /* per-coordinate factors of l1 on x[0..n_pen) (opt_set_l1_weights; the
   * caller's array, kept while the head runs), or NULL: all 1 */
  const double *l1w;
} ps_opt_t;

/* m: L-BFGS memory pairs (ignored by Newton). */
void opt_init(ps_opt_t *o, int n, const ps_direction_t *dir, int m, double tol, double ftol, int max_iter,
              const double *x0);
void opt_free(ps_opt_t *o);
/* The value at x0; H (n x n, row-major) only for Newton. */
void opt_start(ps_opt_t *o, double f, const double *g, const double *H);
/* The value at o->xt. Returns 1 when the trial was accepted (an iteration). */
int opt_feed(ps_opt_t *o, double f, const double *g, const double *H);
double opt_gnorm(const ps_opt_t *o); /* inf-norm of the accepted (pseudo-)gradient */
/* An L1 strength on x[0..n_pen) (the rest, e.g. a bias, not penalized): after
 * opt_init (or a checkpoint's load), before opt_start; l1 = 0 leaves the
 * plain line search. The direction must be L-BFGS. */
void opt_set_l1(ps_opt_t *o, double l1, int n_pen);
/* Per-coordinate L1 factors w[0..n_pen) (the adaptive lasso): coordinate i's
 * strength is l1 * w[i]; INFINITY holds a coordinate that is 0 at 0. After
 * opt_set_l1, before opt_start; w is kept (not copied); NULL: all 1. */
void opt_set_l1_weights(ps_opt_t *o, const double *w);
/* The stop reason equal to s, as the static string linesearch.c uses. */
const char *opt_stop_intern(const char *s);
#endif
