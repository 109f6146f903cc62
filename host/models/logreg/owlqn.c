/* owlqn.c: L1-penalized steps (owlqn.h), after Andrew and Gao (2007):
 * the pseudo-gradient, the quasi-Newton direction of it with each
 * coordinate that disagrees in sign with -pg set to 0, trial points
 * projected onto the orthant of the step's start (a coordinate that would
 * cross zero stops at zero: the model's exact zeros). linesearch.c
 * backtracks until F(xt) <= F(x) + C1 pg'(xt - x) and keeps the curvature
 * pairs of the smooth part's gradients. Every step is a function of the
 * head's own arrays: every rank takes the same steps. Per-coordinate
 * factors w (the adaptive lasso, --l1-weights): coordinate i's strength is
 * l1 * w[i]; w[i] = INFINITY holds a coordinate that is 0 at 0. */
#include "models/logreg/owlqn.h"

#include <math.h>

double owlqn_penalty(double l1, const double *w, int n_pen, const double *x) {
  double s = 0;
  if (!w) {
    for (int i = 0; i < n_pen; i++) s += fabs(x[i]);
  } else {
    for (int i = 0; i < n_pen; i++)
      if (x[i] != 0) s += w[i] * fabs(x[i]); /* an infinite factor's 0 adds nothing */
  }
  return l1 * s;
}

void owlqn_pseudo_gradient(double l1, const double *w, int n, int n_pen, const double *x, const double *g,
                           double *pg) {
  for (int i = 0; i < n; i++) {
    double l = i < n_pen && w ? l1 * w[i] : l1;
    if (i >= n_pen) pg[i] = g[i];
    else if (x[i] > 0) pg[i] = g[i] + l;
    else if (x[i] < 0) pg[i] = g[i] - l;
    else if (g[i] + l < 0) pg[i] = g[i] + l; /* moving up lowers F */
    else if (g[i] - l > 0) pg[i] = g[i] - l; /* moving down lowers F */
    else pg[i] = 0;                           /* 0 is optimal along this axis */
  }
}

void owlqn_constrain(int n_pen, const double *pg, double *d) {
  for (int i = 0; i < n_pen; i++)
    if (d[i] * pg[i] >= 0) d[i] = 0;
}

void owlqn_trial(int n, int n_pen, const double *x, const double *d, double t, double *xt) {
  for (int i = 0; i < n; i++) {
    double v = x[i] + t * d[i];
    if (i < n_pen && (x[i] > 0 ? v < 0 : x[i] < 0 ? v > 0 : 0)) v = 0;
    xt[i] = v;
  }
}

double owlqn_decrease(int n, const double *pg, const double *x, const double *xt) {
  double s = 0;
  for (int i = 0; i < n; i++) s += pg[i] * (xt[i] - x[i]);
  return s;
}
