/* test_optim.c: the line search with L-BFGS and Newton directions
 * (linesearch.h, direction.h) by reverse communication on
 * problems with known minima. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "models/logreg/fit.h"
#include "models/logreg/linesearch.h"

/* Rosenbrock in n = 2: minimum at (1, 1). */
static double rosen(const double *x, double *g, double *H) {
  double a = 1 - x[0], b = x[1] - x[0] * x[0];
  g[0] = -2 * a - 400 * x[0] * b;
  g[1] = 200 * b;
  if (H) {
    H[0] = 2 - 400 * b + 800 * x[0] * x[0];
    H[1] = H[2] = -400 * x[0];
    H[3] = 200;
  }
  return a * a + 100 * b * b;
}

static void run(int method, int m) {
  ps_opt_t o;
  double x0[2] = {-1.2, 1.0}, g[2], H[4];
  opt_init(&o, 2, fit_direction(method), m, 1e-10, 0, 500, x0);
  double f = rosen(x0, g, H);
  opt_start(&o, f, g, H);
  int evals = 0;
  while (o.status == PS_RUNNING && evals++ < 5000) {
    f = rosen(o.xt, g, H);
    opt_feed(&o, f, g, H);
  }
  assert_int_equal(o.status, PS_CONVERGED);
  assert_true(fabs(o.x[0] - 1) < 1e-8 && fabs(o.x[1] - 1) < 1e-8);
  assert_true(o.iter > 0 && o.nfev >= o.iter);
  opt_free(&o);
}

static void lbfgs_rosenbrock(void **state) { (void)state; run(PS_OPT_LBFGS, 10); }
static void lbfgs_rosenbrock_m1(void **state) { (void)state; run(PS_OPT_LBFGS, 1); }
static void newton_rosenbrock(void **state) { (void)state; run(PS_OPT_NEWTON, 0); }

/* A convex quadratic 0.5 x'Ax - b'x: L-BFGS reaches the solution of Ax = b. */
static void lbfgs_quadratic(void **state) {
  (void)state;
  enum { N = 6 };
  double A[N][N] = {{0}}, b[N], x0[N] = {0}, g[N];
  for (int i = 0; i < N; i++) {
    A[i][i] = 1.0 + i * i; /* condition number 26 */
    if (i) A[i][i - 1] = A[i - 1][i] = 0.3;
    b[i] = i - 2.5;
  }
  ps_opt_t o;
  opt_init(&o, N, &ps_dir_lbfgs, 5, 1e-12, 0, 200, x0);
  for (int first = 1; first || o.status == PS_RUNNING; first = 0) {
    const double *x = first ? x0 : o.xt;
    double f = 0;
    for (int i = 0; i < N; i++) {
      g[i] = -b[i];
      for (int j = 0; j < N; j++) g[i] += A[i][j] * x[j];
      f += 0.5 * x[i] * (g[i] - b[i]);
    }
    if (first) opt_start(&o, f, g, NULL);
    else opt_feed(&o, f, g, NULL);
  }
  for (int i = 0; i < N; i++) {
    double r = -b[i];
    for (int j = 0; j < N; j++) r += A[i][j] * o.x[j];
    assert_true(fabs(r) < 1e-10);
  }
  opt_free(&o);
}

static void already_optimal(void **state) {
  (void)state;
  ps_opt_t o;
  double x0[1] = {2}, g[1] = {0};
  opt_init(&o, 1, &ps_dir_lbfgs, 3, 1e-9, 0, 10, x0);
  opt_start(&o, 1.0, g, NULL);
  assert_int_equal(o.status, PS_CONVERGED);
  assert_int_equal(o.iter, 0);
  opt_free(&o);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(lbfgs_rosenbrock), cmocka_unit_test(lbfgs_rosenbrock_m1),
                                     cmocka_unit_test(newton_rosenbrock), cmocka_unit_test(lbfgs_quadratic),
                                     cmocka_unit_test(already_optimal)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
