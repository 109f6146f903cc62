/* owlqn.c: L1-penalized steps (owlqn.h), after Andrew and Gao (2007):
 * the pseudo-gradient (the steepest-descent slope of f + l1 |x|_1 at x),
 * the L-BFGS direction of it with each coordinate that disagrees in sign
 * with -pg set to 0, trial points projected onto the orthant of the step's
 * start (a coordinate that would cross zero stops at zero: the exact zeros
 * of the model), backtracking by halving until the sufficient decrease
 * F(xt) <= F(x) + C1 pg'(xt - x). The curvature pairs use the smooth
 * part's gradients (linesearch.c). Every step is a function of the head's
 * own arrays: every rank takes the same steps. */
#include "models/logreg/owlqn.h"

#include <math.h>

#include "core/vec.h"

#define C1 1e-4 /* sufficient decrease */

double owlqn_penalty(const ps_opt_t *o, const double *x) {
  double s = 0;
  for (int i = 0; i < o->n_pen; i++) s += fabs(x[i]);
  return o->l1 * s;
}

void owlqn_pseudo_gradient(ps_opt_t *o) {
  double l1 = o->l1;
  for (int i = 0; i < o->n; i++) {
    double g = o->g[i], x = o->x[i];
    if (i >= o->n_pen) o->pg[i] = g;
    else if (x > 0) o->pg[i] = g + l1;
    else if (x < 0) o->pg[i] = g - l1;
    else if (g + l1 < 0) o->pg[i] = g + l1; /* moving up lowers F */
    else if (g - l1 > 0) o->pg[i] = g - l1; /* moving down lowers F */
    else o->pg[i] = 0;                       /* zero is optimal along this axis */
  }
}

/* owlqn.h: the trial point x + t d with each penalized coordinate that left its
 * orthant (the sign of x, or of d where x is 0) set to 0. */
void owlqn_set_trial(ps_opt_t *o) {
  for (int i = 0; i < o->n; i++) {
    double x = o->x[i], v = x + o->t * o->d[i];
    if (i < o->n_pen && (x > 0 ? v < 0 : x < 0 ? v > 0 : 0)) v = 0;
    o->xt[i] = v;
  }
}

void owlqn_new_search(ps_opt_t *o) {
  int ok = o->dir->compute(o->dstate, o->n, o->pg, NULL, o->d) == 0;
  for (int i = 0; ok && i < o->n_pen; i++)
    if (o->d[i] * o->pg[i] >= 0) o->d[i] = 0; /* only where -pg points */
  o->dg0 = ps_dot(o->pg, o->d, o->n);
  if (!ok || !(o->dg0 < 0)) { /* not a descent direction: steepest descent */
    for (int i = 0; i < o->n; i++) o->d[i] = -o->pg[i];
    o->dg0 = ps_dot(o->pg, o->d, o->n);
    o->dir->reset(o->dstate);
  }
  o->t = 1.0;
  if (!o->dir->scaled(o->dstate)) {
    double gn = sqrt(-o->dg0);
    if (gn > 1.0) o->t = 1.0 / gn;
  }
  o->lo = 0;
  o->hi = INFINITY;
  o->ls_evals = 0;
  owlqn_set_trial(o);
}

int owlqn_test(ps_opt_t *o, double F) {
  double dec = 0;
  for (int i = 0; i < o->n; i++) dec += o->pg[i] * (o->xt[i] - o->x[i]);
  if (isfinite(F) && F <= o->f + C1 * dec) return 1;
  o->hi = o->t;
  o->t *= 0.5;
  return 0;
}
