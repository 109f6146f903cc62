/* newton.c: the Newton direction H d = -g by Cholesky (LAPACKE dpotrf/dpotrs). */
#include <lapacke.h>
#include <stdlib.h>
#include <string.h>

#include "optim.h"
#include "util.h"

int newton_direction(ps_opt_t *o, const double *H) {
  int n = o->n;
  double *A = ps_malloc(sizeof(double) * (size_t)n * (size_t)n);
  memcpy(A, H, sizeof(double) * (size_t)n * (size_t)n);
  for (int i = 0; i < n; i++) o->d[i] = -o->g[i];
  int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', n, A, n);
  if (info == 0) info = LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'U', n, 1, A, n, o->d, 1);
  free(A);
  return info == 0 ? 0 : -1;
}
