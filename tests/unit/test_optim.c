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

/* OWL-QN (owlqn.c): 0.5 sum a_i (x_i - b_i)^2 + l1 |x[0..N-1)|_1, the last
 * coordinate not penalized: x_i = sign(b_i) max(|b_i| - l1 / a_i, 0)
 * (soft thresholding), the zeros exact; the last x = b. */
static void owlqn_soft_threshold(void **state) {
  (void)state;
  enum { N = 7 };
  const double a[N] = {1, 2, 0.5, 4, 1, 3, 1}, b[N] = {1.5, -0.2, 0.3, -2.0, 0.05, 0.7, -0.01}, l1 = 0.4;
  double x0[N] = {0.3, 0.3, -0.3, 0.3, -0.3, 0, 2}, g[N];
  ps_opt_t o;
  opt_init(&o, N, &ps_dir_lbfgs, 5, 1e-12, 0, 200, x0);
  opt_set_l1(&o, l1, N - 1);
  for (int first = 1; first || o.status == PS_RUNNING; first = 0) {
    const double *x = first ? x0 : o.xt;
    double f = 0;
    for (int i = 0; i < N; i++) {
      g[i] = a[i] * (x[i] - b[i]);
      f += 0.5 * a[i] * (x[i] - b[i]) * (x[i] - b[i]);
    }
    if (first) opt_start(&o, f, g, NULL);
    else opt_feed(&o, f, g, NULL);
  }
  assert_int_equal(o.status, PS_CONVERGED);
  for (int i = 0; i < N; i++) {
    double want = i == N - 1 ? b[i] : (b[i] > 0 ? 1 : -1) * fmax(fabs(b[i]) - l1 / a[i], 0);
    if (want == 0) assert_true(o.x[i] == 0.0); /* exactly */
    else assert_true(fabs(o.x[i] - want) < 1e-9);
  }
  assert_true(opt_gnorm(&o) <= 1e-12);
  opt_free(&o);
}

/* Per-coordinate factors (opt_set_l1_weights, the adaptive lasso): the
 * same problem with strength l1 * w_i: x_i = sign(b_i) max(|b_i| - l1 w_i /
 * a_i, 0); w_i = INFINITY holds x_i at exactly 0 even where |b_i| is large.
 * Factors all 1 take the unweighted steps bit for bit. */
static void run_weighted(ps_opt_t *o, const double *w, const double *a, const double *b, int n, double l1) {
  double x0[8] = {0}, g[8];
  opt_init(o, n, &ps_dir_lbfgs, 5, 1e-12, 0, 200, x0);
  opt_set_l1(o, l1, n - 1);
  if (w) opt_set_l1_weights(o, w);
  for (int first = 1; first || o->status == PS_RUNNING; first = 0) {
    const double *x = first ? x0 : o->xt;
    double f = 0;
    for (int i = 0; i < n; i++) {
      g[i] = a[i] * (x[i] - b[i]);
      f += 0.5 * a[i] * (x[i] - b[i]) * (x[i] - b[i]);
    }
    if (first) opt_start(o, f, g, NULL);
    else opt_feed(o, f, g, NULL);
  }
}

static void owlqn_weighted_soft_threshold(void **state) {
  (void)state;
  enum { N = 8 };
  const double a[N] = {1, 2, 0.5, 4, 1, 3, 1, 1}, b[N] = {1.5, -0.2, 0.3, -2.0, 0.05, 0.7, 3.0, -0.01};
  const double w[N - 1] = {0.5, 0.1, 2.0, 4.0, 0.01, 1.0, INFINITY}, l1 = 0.4, ones[N - 1] = {1, 1, 1, 1, 1, 1, 1};
  ps_opt_t o, p, q;
  run_weighted(&o, w, a, b, N, l1);
  assert_int_equal(o.status, PS_CONVERGED);
  for (int i = 0; i < N; i++) {
    double want = i == N - 1 ? b[i] : (b[i] > 0 ? 1 : -1) * fmax(fabs(b[i]) - l1 * w[i] / a[i], 0);
    if (want == 0) assert_true(o.x[i] == 0.0); /* exactly, the held coordinate 6 (b = 3) too */
    else assert_true(fabs(o.x[i] - want) < 1e-9);
  }
  assert_true(o.x[6] == 0.0 && isfinite(o.f));
  run_weighted(&p, ones, a, b, N, l1);
  run_weighted(&q, NULL, a, b, N, l1);
  assert_int_equal(p.nfev, q.nfev);
  assert_memory_equal(p.x, q.x, sizeof(double) * N);
  opt_free(&o);
  opt_free(&p);
  opt_free(&q);
}

/* l1 = 0 through opt_set_l1 is the plain line search: the same steps, bit for bit. */
static void owlqn_zero_is_plain(void **state) {
  (void)state;
  ps_opt_t o[2];
  double x0[2] = {-1.2, 1.0}, g[2];
  for (int v = 0; v < 2; v++) {
    opt_init(&o[v], 2, &ps_dir_lbfgs, 10, 1e-10, 0, 500, x0);
    if (v) opt_set_l1(&o[v], 0.0, 2);
    opt_start(&o[v], rosen(x0, g, NULL), g, NULL);
    while (o[v].status == PS_RUNNING) opt_feed(&o[v], rosen(o[v].xt, g, NULL), g, NULL);
  }
  assert_int_equal(o[0].nfev, o[1].nfev);
  assert_memory_equal(o[0].x, o[1].x, sizeof x0);
  opt_free(&o[0]);
  opt_free(&o[1]);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(lbfgs_rosenbrock), cmocka_unit_test(lbfgs_rosenbrock_m1),
                                     cmocka_unit_test(newton_rosenbrock), cmocka_unit_test(lbfgs_quadratic),
                                     cmocka_unit_test(already_optimal), cmocka_unit_test(owlqn_soft_threshold),
                                     cmocka_unit_test(owlqn_zero_is_plain),
                                     cmocka_unit_test(owlqn_weighted_soft_threshold)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
