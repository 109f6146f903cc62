/* test_predict_qs.c: the CPU scorer's QuickScorer evaluation
 * (ps_gbdt_predict_qs_cpu, kernels/gbdt/predict_qs_cpu.c) against the CPU
 * twin (ps_gbdt_predict_cpu, head by head), bitwise: random forests of
 * 1..32 leaves a tree (a one-leaf tree first, a 32-leaf chain to the left
 * and to the right, missing values sent either way, +Inf thresholds, two
 * features no tree uses), three heads of different sizes, one with no
 * trees, rows with NaN and +-Inf, row counts around the block (1, 15, 16,
 * 17, 100); the forests it refuses (33 leaves, a NaN threshold, a
 * category set) are refused. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gbdt/gbdt_cpu.h"
#include "models/gbdt/forest.h"

enum { F = 9, FUSED = 7, K = 3, NMAX = 100 };

#define RT_SEED 0x9E3779B97F4A7C15ull
#include "random_tree.h"

static void qs_equals_the_twin(void **st) {
  (void)st;
  static float X[NMAX * F];
  for (int e = 0; e < NMAX * F; e++) {
    double u = unif();
    X[e] = u < 0.1 ? NAN : u < 0.12 ? (u < 0.11 ? INFINITY : -INFINITY) : (float)(unif() * 2 - 1);
  }
  ps_forest_t fo[K];
  ps_tree_t t;
  tree_alloc(&t, 64);
  const int ntrees[K] = {40, 0, 9};
  for (int h = 0; h < K; h++) {
    forest_init(&fo[h]);
    for (int i = 0; i < ntrees[h]; i++) {
      int L = i == 0 ? 1 : i <= 2 ? 32 : 1 + (int)(unif() * 32);
      rt_tree(&t, L, i <= 2 ? i : 0, FUSED);
      forest_add(&fo[h], &t);
    }
  }
  ps_forest_view_t v[K];
  for (int h = 0; h < K; h++) v[h] = forest_view(&fo[h]);
  ps_gbdt_qs_t qs;
  assert_int_equal(ps_gbdt_qs_build(v, K, F, &qs), 0);
  assert_int_equal(qs.nu, FUSED);
  const int64_t ns[] = {1, 15, 16, 17, 100};
  for (size_t c = 0; c < sizeof ns / sizeof ns[0]; c++) {
    int64_t n = ns[c];
    double want[K * NMAX], got[K * NMAX];
    for (int h = 0; h < K; h++)
      for (int64_t i = 0; i < n; i++) want[h * n + i] = got[h * n + i] = 0.25 * h - 0.01 * (double)i;
    for (int h = 0; h < K; h++) ps_gbdt_predict_cpu(&v[h], X, n, F, want + h * n);
    ps_gbdt_predict_qs_cpu(&qs, X, n, F, got);
    assert_memory_equal(want, got, sizeof(double) * (size_t)(K * n));
  }
  ps_gbdt_qs_free(&qs);
  for (int h = 0; h < K; h++) forest_free(&fo[h]);
  tree_free(&t);
}

/* A forest of one tree of L leaves, changed by `what`, is refused (-1). */
static void refused(int L, int what) {
  ps_forest_t fo;
  ps_tree_t t;
  tree_alloc(&t, 64);
  forest_init(&fo);
  rt_tree(&t, L, 0, FUSED);
  if (what == 1) t.threshold[0] = NAN;
  forest_add(&fo, &t);
  ps_forest_view_t v = forest_view(&fo);
  int32_t cat[64];
  uint8_t set[32] = {1};
  if (what == 2) {
    for (int q = 0; q < L - 1; q++) cat[q] = q == 0 ? 0 : -1;
    v.cat = cat;
    v.cat_set = set;
  }
  ps_gbdt_qs_t qs;
  assert_int_equal(ps_gbdt_qs_build(&v, 1, F, &qs), -1);
  forest_free(&fo);
  tree_free(&t);
}

static void what_it_refuses(void **st) {
  (void)st;
  refused(33, 0);
  refused(5, 1);
  refused(5, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(qs_equals_the_twin), cmocka_unit_test(what_it_refuses)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
