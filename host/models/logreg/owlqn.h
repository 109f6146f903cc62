/* owlqn.h: the L1 pieces of the per-head iteration (linesearch.c uses
 * them when a head's l1 > 0), after Andrew and Gao's orthant-wise
 * limited-memory quasi-Newton (OWL-QN, 2007). Plain arrays; the first
 * n_pen coordinates are penalized, the rest (a bias) are not. w: per
 * penalized coordinate factors of l1 (NULL: all 1; INFINITY: held at 0). */
#ifndef PS_OWLQN_H
#define PS_OWLQN_H

/* l1 * sum w_i |x_i| over [0..n_pen) */
double owlqn_penalty(double l1, const double *w, int n_pen, const double *x);
/* pg: the steepest-descent slope of f + that penalty at x (g: f's gradient) */
void owlqn_pseudo_gradient(double l1, const double *w, int n, int n_pen, const double *x, const double *g,
                           double *pg);
/* d_i = 0 where d disagrees in sign with -pg (penalized coordinates) */
void owlqn_constrain(int n_pen, const double *pg, double *d);
/* xt = x + t d, each penalized coordinate that left the orthant of x (of d where x is 0) set to 0 */
void owlqn_trial(int n, int n_pen, const double *x, const double *d, double t, double *xt);
/* pg'(xt - x): the decrease the sufficient-decrease test scales */
double owlqn_decrease(int n, const double *pg, const double *x, const double *xt);
#endif
