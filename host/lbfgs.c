/* lbfgs.c: the L-BFGS two-loop recursion and its curvature-pair memory. */
#include <string.h>

#include "optim.h"

void lbfgs_remember(ps_opt_t *o, const double *s, const double *y) {
  double sy = opt_dot(s, y, o->n);
  if (!(sy > 1e-300)) return; /* curvature condition failed: keep the old memory */
  int slot = (o->head + o->count) % o->m;
  if (o->count == o->m) { slot = o->head; o->head = (o->head + 1) % o->m; }
  else o->count++;
  memcpy(o->S + (size_t)slot * (size_t)o->n, s, sizeof(double) * (size_t)o->n);
  memcpy(o->Y + (size_t)slot * (size_t)o->n, y, sizeof(double) * (size_t)o->n);
  o->rho[slot] = 1.0 / sy;
}

void lbfgs_direction(ps_opt_t *o) {
  int n = o->n;
  double *q = o->d, alpha[64];
  for (int i = 0; i < n; i++) q[i] = -o->g[i];
  for (int j = o->count - 1; j >= 0; j--) { /* newest to oldest */
    int slot = (o->head + j) % o->m;
    const double *s = o->S + (size_t)slot * (size_t)n, *y = o->Y + (size_t)slot * (size_t)n;
    alpha[j] = o->rho[slot] * opt_dot(s, q, n);
    for (int i = 0; i < n; i++) q[i] -= alpha[j] * y[i];
  }
  if (o->count > 0) { /* initial Hessian gamma * I, gamma = s'y / y'y of the newest pair */
    int slot = (o->head + o->count - 1) % o->m;
    const double *y = o->Y + (size_t)slot * (size_t)n;
    double gamma = 1.0 / (o->rho[slot] * opt_dot(y, y, n));
    for (int i = 0; i < n; i++) q[i] *= gamma;
  }
  for (int j = 0; j < o->count; j++) { /* oldest to newest */
    int slot = (o->head + j) % o->m;
    const double *s = o->S + (size_t)slot * (size_t)n, *y = o->Y + (size_t)slot * (size_t)n;
    double beta = o->rho[slot] * opt_dot(y, q, n);
    for (int i = 0; i < n; i++) q[i] += (alpha[j] - beta) * s[i];
  }
}
