/* linesearch.c: the per-head iteration (linesearch.h): a weak-Wolfe line
 * search by bracketing (quadratic backtracking on an Armijo failure,
 * doubling on a curvature failure, bisection once bracketed) along the
 * direction its method proposes; Hager and Zhang's approximate-Wolfe
 * condition once f can no longer resolve the decrease. With --l1 (a head's
 * l1 > 0): OWL-QN (owlqn.h), backtracking by halving along the projected path. */
#include "models/logreg/linesearch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "core/vec.h"
#include "models/logreg/owlqn.h"

#define C1 1e-4     /* sufficient decrease */
#define C2 0.9      /* curvature */
#define MAX_LS 40   /* evaluations per line search */
#define EPS_F 1e-12 /* relative rounding allowance on f (approximate Wolfe) */

/* Every reason a head stops (o->stop points at one of these). */
static const char *const STOPS[] = {"running", "gradient tolerance", "loss-change tolerance",
                                    "step below rounding (precision limit)", "max-iter reached",
                                    "line search found no Wolfe point (precision limit)"};

const char *opt_stop_intern(const char *s) {
  for (size_t i = 0; i < sizeof STOPS / sizeof STOPS[0]; i++)
    if (s && !strcmp(s, STOPS[i])) return STOPS[i];
  return STOPS[0];
}

void opt_init(ps_opt_t *o, int n, const ps_direction_t *dir, int m, double tol, double ftol, int max_iter,
              const double *x0) {
  memset(o, 0, sizeof *o);
  o->n = n;
  o->dir = dir;
  o->dstate = dir->create(n, m);
  o->tol = tol;
  o->ftol = ftol;
  o->max_iter = max_iter;
  o->x = ps_malloc(sizeof(double) * (size_t)n);
  o->g = ps_calloc((size_t)n, sizeof(double));
  o->d = ps_calloc((size_t)n, sizeof(double));
  o->xt = ps_malloc(sizeof(double) * (size_t)n);
  memcpy(o->x, x0, sizeof(double) * (size_t)n);
  memcpy(o->xt, x0, sizeof(double) * (size_t)n);
}

void opt_free(ps_opt_t *o) {
  if (o->dstate) o->dir->destroy(o->dstate);
  free(o->x);
  free(o->g);
  free(o->d);
  free(o->xt);
  free(o->pg);
  memset(o, 0, sizeof *o);
}

double opt_gnorm(const ps_opt_t *o) { return ps_inf_norm(o->l1 > 0 ? o->pg : o->g, o->n); }

void opt_set_l1(ps_opt_t *o, double l1, int n_pen) {
  o->l1 = l1 > 0 ? l1 : 0;
  o->n_pen = n_pen < o->n ? n_pen : o->n;
  if (!(o->l1 > 0)) return;
  if (!o->pg) o->pg = ps_calloc((size_t)o->n, sizeof(double));
  owlqn_pseudo_gradient(o->l1, o->l1w, o->n, o->n_pen, o->x, o->g, o->pg);
}

void opt_set_l1_weights(ps_opt_t *o, const double *w) {
  o->l1w = w;
  if (o->l1 > 0) owlqn_pseudo_gradient(o->l1, o->l1w, o->n, o->n_pen, o->x, o->g, o->pg);
}

static void set_trial(ps_opt_t *o) {
  if (o->l1 > 0) {
    owlqn_trial(o->n, o->n_pen, o->x, o->d, o->t, o->xt);
    return;
  }
  for (int i = 0; i < o->n; i++) o->xt[i] = o->x[i] + o->t * o->d[i];
}

/* New direction from the accepted point (from its pseudo-gradient, kept in
 * its orthant, with L1), and the first trial step. */
static void new_search(ps_opt_t *o, const double *H) {
  const double *g = o->l1 > 0 ? o->pg : o->g;
  int ok = o->dir->compute(o->dstate, o->n, g, H, o->d) == 0;
  if (ok && o->l1 > 0) owlqn_constrain(o->n_pen, g, o->d);
  o->dg0 = ps_dot(g, o->d, o->n);
  if (!ok || !(o->dg0 < 0)) { /* not a descent direction: steepest descent */
    for (int i = 0; i < o->n; i++) o->d[i] = -g[i];
    o->dg0 = ps_dot(g, o->d, o->n);
    o->dir->reset(o->dstate);
  }
  o->t = 1.0;
  if (!o->dir->scaled(o->dstate)) { /* no curvature known yet: a first step of length 1 */
    double gn = sqrt(-o->dg0);
    if (gn > 1.0) o->t = 1.0 / gn;
  }
  o->lo = 0;
  o->hi = INFINITY;
  o->ls_evals = 0;
  set_trial(o);
}

static int check_done(ps_opt_t *o, double fprev, double step_max) {
  if (opt_gnorm(o) <= o->tol) {
    o->status = PS_CONVERGED;
    o->stop = STOPS[1];
    return 1;
  }
  if (o->iter > 0 && step_max <= 1e-15 * fmax(1.0, ps_inf_norm(o->x, o->n))) {
    o->status = PS_CONVERGED;
    o->stop = STOPS[3];
    return 1;
  }
  if (o->iter > 0 && o->ftol > 0 && fabs(fprev - o->f) <= o->ftol * fmax(1.0, fmax(fabs(fprev), fabs(o->f)))) {
    o->status = PS_CONVERGED;
    o->stop = STOPS[2];
    return 1;
  }
  if (o->iter >= o->max_iter) {
    o->status = PS_MAXITER;
    o->stop = STOPS[4];
    return 1;
  }
  return 0;
}

void opt_start(ps_opt_t *o, double f, const double *g, const double *H) {
  o->f = f;
  memcpy(o->g, g, sizeof(double) * (size_t)o->n);
  if (o->l1 > 0) {
    o->f += owlqn_penalty(o->l1, o->l1w, o->n_pen, o->x);
    owlqn_pseudo_gradient(o->l1, o->l1w, o->n, o->n_pen, o->x, o->g, o->pg);
  }
  o->nfev = 1;
  o->status = PS_RUNNING;
  o->stop = STOPS[0];
  if (check_done(o, f, INFINITY)) return;
  new_search(o, H);
}

static int opt_accept(ps_opt_t *o, double f, const double *g, const double *H);

/* A trial point was refused: give up after MAX_LS, else the next one at o->t. */
static int ls_next(ps_opt_t *o) {
  if (o->ls_evals >= MAX_LS) {
    o->status = PS_LSFAIL;
    o->stop = STOPS[5];
    return 0;
  }
  set_trial(o);
  return 0;
}

int opt_feed(ps_opt_t *o, double f, const double *g, const double *H) {
  if (o->status != PS_RUNNING) return 0;
  o->nfev++;
  o->ls_evals++;
  if (o->l1 > 0) { /* OWL-QN: sufficient decrease along the projected path, else halve the step */
    f += owlqn_penalty(o->l1, o->l1w, o->n_pen, o->xt);
    if (isfinite(f) && f <= o->f + C1 * owlqn_decrease(o->n, o->pg, o->x, o->xt)) return opt_accept(o, f, g, H);
    o->hi = o->t;
    o->t *= 0.5;
    return ls_next(o);
  }
  double dg = ps_dot(g, o->d, o->n);
  int accept = 0;
  /* Sufficient decrease, or -- where f can no longer resolve the decrease --
   * the approximate Wolfe condition: f did not grow beyond rounding and the
   * slope fell to at most (1 - 2 C1) |slope at 0|. */
  int armijo = f <= o->f + C1 * o->t * o->dg0;
  int approx = f <= o->f + EPS_F * fabs(o->f) && dg <= (2 * C1 - 1) * o->dg0;
  if (!isfinite(f) || !(armijo || approx)) {
    o->hi = o->t;
    if (o->lo == 0 && isfinite(f)) { /* quadratic model through f(0), f'(0), f(t) */
      double q = -o->dg0 * o->t * o->t / (2.0 * (f - o->f - o->dg0 * o->t));
      o->t = fmin(fmax(q, 0.1 * o->t), 0.5 * o->t);
    } else {
      o->t = 0.5 * (o->lo + o->hi);
    }
  } else if (dg < C2 * o->dg0) {
    o->lo = o->t;
    o->t = isinf(o->hi) ? 2.0 * o->t : 0.5 * (o->lo + o->hi);
  } else {
    accept = 1;
  }
  if (!accept) return ls_next(o);
  return opt_accept(o, f, g, H);
}

/* Accept the trial point: remember the curvature pair (the smooth part's
 * gradients), move, test, search again. f: the whole objective. */
static int opt_accept(ps_opt_t *o, double f, const double *g, const double *H) {
  double *s = ps_malloc(sizeof(double) * (size_t)o->n), *y = ps_malloc(sizeof(double) * (size_t)o->n);
  double step_max = 0;
  for (int i = 0; i < o->n; i++) {
    s[i] = o->xt[i] - o->x[i];
    y[i] = g[i] - o->g[i];
    step_max = fmax(step_max, fabs(s[i]));
  }
  o->dir->accept(o->dstate, o->n, s, y);
  free(s);
  free(y);
  double fprev = o->f;
  memcpy(o->x, o->xt, sizeof(double) * (size_t)o->n);
  memcpy(o->g, g, sizeof(double) * (size_t)o->n);
  o->f = f;
  if (o->l1 > 0) owlqn_pseudo_gradient(o->l1, o->l1w, o->n, o->n_pen, o->x, o->g, o->pg);
  o->last_step = o->t;
  o->iter++;
  if (!check_done(o, fprev, step_max)) new_search(o, H);
  return 1;
}
