/* vec.h: small dense-vector helpers on doubles (the optimizers). */
#ifndef PS_VEC_H
#define PS_VEC_H
#include <math.h>

static inline double ps_dot(const double *a, const double *b, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}
static inline double ps_inf_norm(const double *a, int n) {
  double m = 0;
  for (int i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
  return m;
}
#endif
