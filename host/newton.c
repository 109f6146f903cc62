/* newton.c: the Newton direction H d = -g by Cholesky: LAPACK's dpotrf and
 * dpotrs (prototypes from LAPACKE's lapack.h; the routines come from
 * OpenBLAS, so no liblapacke is needed at run time). H is symmetric, so its
 * row-major array is also its column-major one. */
#include <lapack.h>
#include <stdlib.h>
#include <string.h>

#include "optim.h"
#include "util.h"

int newton_direction(ps_opt_t *o, const double *H) {
  lapack_int n = o->n, one = 1, info = 0;
  char uplo = 'U';
  double *A = ps_malloc(sizeof(double) * (size_t)n * (size_t)n);
  memcpy(A, H, sizeof(double) * (size_t)n * (size_t)n);
  for (int i = 0; i < n; i++) o->d[i] = -o->g[i];
  LAPACK_dpotrf(&uplo, &n, A, &n, &info);
  if (info == 0) LAPACK_dpotrs(&uplo, &n, &one, A, &n, o->d, &n, &info);
  free(A);
  return info == 0 ? 0 : -1;
}
