/* optim.h: per-head optimizers driven by reverse communication: the caller
 * evaluates the objective for every head in one pass over the data, then
 * feeds each head its value and gradient (and Hessian for Newton). A head
 * proposes its next trial point in o->xt. Only plain arrays: no data, no
 * MPI, so every rank given identical inputs takes identical steps. */
#ifndef PS_OPTIM_H
#define PS_OPTIM_H

enum { PS_OPT_LBFGS = 0, PS_OPT_NEWTON = 1 };
enum { PS_RUNNING = 0, PS_CONVERGED, PS_MAXITER, PS_LSFAIL };

typedef struct {
  int n, method;
  double tol, ftol;
  int max_iter;
  /* accepted point */
  double *x, *g, f;
  /* search direction and trial point */
  double *d, *xt;
  double t, lo, hi, dg0;
  int ls_evals;
  /* L-BFGS memory: m pairs (s, y), newest at (head + count - 1) % m */
  int m, count, head;
  double *S, *Y, *rho;
  /* bookkeeping */
  int iter, nfev, status;
  double last_step;
  const char *stop;
} ps_opt_t;

void opt_init(ps_opt_t *o, int n, int method, int m, double tol, double ftol, int max_iter, const double *x0);
void opt_free(ps_opt_t *o);
/* The value at x0; H (n x n, row-major) only for Newton. */
void opt_start(ps_opt_t *o, double f, const double *g, const double *H);
/* The value at o->xt. Returns 1 when the trial was accepted (an iteration). */
int opt_feed(ps_opt_t *o, double f, const double *g, const double *H);
double opt_gnorm(const ps_opt_t *o); /* inf-norm of the accepted gradient */
double opt_dot(const double *a, const double *b, int n);
/* The stop reason equal to s, as the static string optim.c uses. */
const char *opt_stop_intern(const char *s);

/* Directions (lbfgs.c, newton.c): d from the accepted point. */
void lbfgs_direction(ps_opt_t *o);
void lbfgs_remember(ps_opt_t *o, const double *s, const double *y);
/* Solves H d = -g by Cholesky; returns 0, or -1 if H is not positive definite. */
int newton_direction(ps_opt_t *o, const double *H);
#endif
