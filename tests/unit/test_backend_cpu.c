/* test_backend_cpu.c: the CPU twin's loss, gradient and Hessian against
 * direct sums and finite differences; raw and standardized scoring agree. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "models/logreg/backend.h"
#include "common/psmath.h"
#include "core/rng.h"

enum { N = 700, C = 5, K = 2, C1 = C + 1 };
static float X[N * C];
static uint8_t Y[N * K];
static double wpos[K] = {3.0, 1.0}, wneg[K] = {1.0, 1.0};

static void setup_data(void) {
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < C; j++) X[i * C + j] = (float)ps_rng_normal(1, 1, (uint64_t)i, 2 * (uint64_t)j);
    for (int h = 0; h < K; h++) Y[i * K + h] = ps_rng_unif(1, 2, (uint64_t)i, (uint64_t)h) < 0.3;
  }
}

/* Direct evaluation of the weighted loss of head h. */
static double loss_ref(const double *theta, int h) {
  double s = 0;
  for (int i = 0; i < N; i++) {
    double z = theta[h * C1 + C];
    for (int j = 0; j < C; j++) z += theta[h * C1 + j] * X[i * C + j];
    double y = Y[i * K + h];
    s += ps_row_weight(y, wpos[h], wneg[h]) * ps_logloss(z, y);
  }
  return s;
}

static void gradient_and_hessian(void **state) {
  (void)state;
  setup_data();
  ps_backend_t *b = backend_cpu_create();
  b->set_train(b, X, Y, N, C, K, wpos, wneg);
  double theta[K * C1], loss[K], grad[K * C1], hess[K * C1 * C1], l2[K], g2[K * C1];
  for (int i = 0; i < K * C1; i++) theta[i] = 0.1 * ps_rng_normal(3, 3, (uint64_t)i, 0);
  uint8_t mask[K] = {1, 1};
  b->eval(b, theta, loss, grad, hess, mask);
  for (int h = 0; h < K; h++) {
    assert_true(fabs(loss[h] - loss_ref(theta, h)) < 1e-10 * loss[h]);
    for (int j = 0; j < C1; j++) {
      double t[K * C1], e = 1e-6;
      memcpy(t, theta, sizeof t);
      t[h * C1 + j] += e;
      double fp = loss_ref(t, h);
      t[h * C1 + j] -= 2 * e;
      double fd = (fp - loss_ref(t, h)) / (2 * e);
      assert_true(fabs(fd - grad[h * C1 + j]) < 1e-5 * (1 + fabs(fd)));
      /* Hessian column j = d grad / d theta_j */
      memcpy(t, theta, sizeof t);
      t[h * C1 + j] += e;
      b->eval(b, t, l2, g2, NULL, NULL);
      for (int i = 0; i < C1; i++) {
        double hd = (g2[h * C1 + i] - grad[h * C1 + i]) / e;
        assert_true(fabs(hd - hess[h * C1 * C1 + i * C1 + j]) < 1e-3 * (1 + fabs(hd)));
      }
    }
  }
  b->destroy(b);
}

static void raw_and_standardized_scores_agree(void **state) {
  (void)state;
  setup_data();
  ps_backend_t *b = backend_cpu_create();
  /* model columns: the 5 inputs standardized, plus a missing-indicator of column 2 */
  enum { CM = C + 1 };
  int64_t src[CM] = {0, 1, 2, 3, 4, 2};
  uint8_t kind[CM] = {0, 0, 0, 0, 0, PS_COL_MISSING};
  double mean[CM] = {0.1, -0.2, 0.3, 0, 1, 0.05}, scale[CM] = {1, 2, 0.5, 0, 1, 4};
  ps_transform_t t = {CM, C, src, kind, mean, scale};
  float Xr[N * C], Xs[N * CM];
  memcpy(Xr, X, sizeof Xr);
  for (int i = 0; i < N; i += 9) Xr[i * C + 2] = NAN;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < CM; j++) Xs[i * CM + j] = (float)ps_standardize(Xr[i * C + src[j]], kind[j], mean[j], scale[j]);
  double theta[K * (CM + 1)];
  for (int i = 0; i < K * (CM + 1); i++) theta[i] = 0.3 * ps_rng_normal(5, 5, (uint64_t)i, 0);
  float P1[K * N], P2[K * N];
  b->predict_raw(b, &t, theta, K, Xr, N, P1);
  b->predict_std(b, theta, K, Xs, N, CM, P2);
  for (int i = 0; i < K * N; i++) assert_true(fabs(P1[i] - P2[i]) < 1e-6);
  /* and equal the direct formula */
  for (int i = 0; i < N; i++) {
    double z = theta[CM];
    for (int j = 0; j < CM; j++) z += theta[j] * ps_standardize(Xr[i * C + src[j]], kind[j], mean[j], scale[j]);
    assert_true(fabs(P1[i] - (float)ps_sigmoid(z)) <= 1e-7);
  }
  b->destroy(b);
}

/* Rows streamed in uneven blocks give bitwise the sums of the resident pass. */
static void streamed_equals_resident(void **state) {
  (void)state;
  setup_data();
  ps_backend_t *b = backend_cpu_create();
  b->set_train(b, X, Y, N, C, K, wpos, wneg);
  double theta[K * C1], l1[K], g1[K * C1], h1[K * C1 * C1], l2[K], g2[K * C1], h2[K * C1 * C1];
  for (int i = 0; i < K * C1; i++) theta[i] = 0.2 * ps_rng_normal(4, 4, (uint64_t)i, 0);
  uint8_t mask[K] = {1, 0};
  b->eval(b, theta, l1, g1, h1, mask);
  const int64_t cuts[] = {1, 255, 256, 3, 100, 0, 517};
  b->eval_begin(b, theta, C, K, wpos, wneg, mask);
  int64_t at = 0;
  for (int i = 0; at < N; i = (i + 1) % 7) {
    int64_t m = cuts[i] < N - at ? cuts[i] : N - at;
    b->eval_rows(b, X + at * C, Y + at * K, m);
    at += m;
  }
  b->eval_end(b, l2, g2, h2);
  assert_memory_equal(l1, l2, sizeof l1);
  assert_memory_equal(g1, g2, sizeof g1);
  assert_memory_equal(h1, h2, sizeof(double) * C1 * C1); /* head 0's Hessian */
  b->destroy(b);
}

/* eval_block: the sums of a block of rows alone, bitwise those of a pass
 * over just those rows (any size: below, at and above a tile), and the
 * next block starts from zero. */
static void block_equals_pass_over_its_rows(void **state) {
  (void)state;
  setup_data();
  ps_backend_t *b = backend_cpu_create(), *r = backend_cpu_create();
  assert_non_null(b->eval_block);
  double theta[K * C1], l1[K], g1[K * C1], h1[K * C1 * C1], l2[K], g2[K * C1], h2[K * C1 * C1];
  for (int i = 0; i < K * C1; i++) theta[i] = 0.2 * ps_rng_normal(5, 4, (uint64_t)i, 0);
  uint8_t mask[K] = {0, 1};
  const int64_t blocks[] = {1, 200, 256, 243};
  b->eval_begin(b, theta, C, K, wpos, wneg, mask);
  int64_t at = 0;
  for (int i = 0; i < 4; i++) {
    int64_t m = blocks[i];
    b->eval_block(b, X + at * C, Y + at * K, m, l1, g1, h1);
    r->set_train(r, X + at * C, Y + at * K, m, C, K, wpos, wneg);
    r->eval(r, theta, l2, g2, h2, mask);
    assert_memory_equal(l1, l2, sizeof l1);
    assert_memory_equal(g1, g2, sizeof g1);
    assert_memory_equal(h1, h2, sizeof h1);
    at += m;
  }
  b->eval_end(b, l1, g1, h1);
  b->destroy(b);
  r->destroy(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(gradient_and_hessian),
                                     cmocka_unit_test(raw_and_standardized_scores_agree),
                                     cmocka_unit_test(streamed_equals_resident),
                                     cmocka_unit_test(block_equals_pass_over_its_rows)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
