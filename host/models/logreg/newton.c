/* newton.c: the Newton direction (direction.h): H d = -g by Cholesky,
 * LAPACK's dpotrf and dpotrs (prototypes from LAPACKE's lapack.h; the
 * routines come from OpenBLAS, so no liblapacke is needed at run time). H
 * is symmetric, so its row-major array is also its column-major one. */
#include <lapack.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "models/logreg/direction.h"

static void *create(int n, int m) {
  (void)m;
  return ps_malloc(sizeof(double) * (size_t)n * (size_t)n); /* the factor's workspace */
}
static void destroy(void *st) { free(st); }

static int compute(void *st, int n, const double *g, const double *H, double *d) {
  lapack_int ln = n, one = 1, info = 0;
  char uplo = 'U';
  double *A = st;
  memcpy(A, H, sizeof(double) * (size_t)n * (size_t)n);
  for (int i = 0; i < n; i++) d[i] = -g[i];
  LAPACK_dpotrf(&uplo, &ln, A, &ln, &info);
  if (info == 0) LAPACK_dpotrs(&uplo, &ln, &one, A, &ln, d, &ln, &info);
  return info == 0 ? 0 : -1;
}

static void accept(void *st, int n, const double *s, const double *y) {
  (void)st; (void)n; (void)s; (void)y;
}
static void reset(void *st) { (void)st; }
static int scaled(const void *st) { (void)st; return 1; }
static size_t state_size(const void *st) { (void)st; return 0; }
static void state_save(const void *st, double *out) { (void)st; (void)out; }
static void state_load(void *st, const double *in) { (void)st; (void)in; }

const ps_direction_t ps_dir_newton = {.name = "newton", .needs_hessian = 1, .create = create, .destroy = destroy,
    .compute = compute, .accept = accept, .reset = reset, .scaled = scaled,
    .state_size = state_size, .state_save = state_save, .state_load = state_load};
