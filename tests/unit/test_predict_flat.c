/* test_predict_flat.c: the CPU scorer's flat forest walk
 * (ps_gbdt_predict_flat_cpu, kernels/gbdt/predict_flat_cpu.c) against the
 * CPU twin (ps_gbdt_predict_cpu, head by head), bitwise: random forests of
 * 1..40 leaves a tree (a one-leaf tree first, missing values sent either
 * way, +Inf thresholds), three heads of different sizes, rows with NaN and
 * +-Inf, row counts around the block (1, 15, 16, 17, 100) and a head with
 * no trees. */
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

enum { F = 7, K = 3, NMAX = 100 };

#define RT_SEED 0x853C49E6748FEA9Bull
#include "random_tree.h"

static void flat_equals_the_twin(void **st) {
  (void)st;
  static float X[NMAX * F];
  for (int e = 0; e < NMAX * F; e++) {
    double u = unif();
    X[e] = u < 0.1 ? NAN : u < 0.12 ? (u < 0.11 ? INFINITY : -INFINITY) : (float)(unif() * 2 - 1);
  }
  ps_forest_t fo[K];
  ps_tree_t t;
  tree_alloc(&t, 64);
  const int ntrees[K] = {30, 0, 9};
  for (int h = 0; h < K; h++) {
    forest_init(&fo[h]);
    for (int i = 0; i < ntrees[h]; i++) {
      rt_tree(&t, i == 0 ? 1 : 1 + (int)(unif() * 40), 0, F);
      forest_add(&fo[h], &t);
    }
  }
  ps_gbdt_flat_t flat[K];
  int32_t *roots[K];
  ps_gbdt_node_t *nodes[K];
  for (int h = 0; h < K; h++) {
    ps_forest_view_t v = forest_view(&fo[h]);
    roots[h] = malloc(sizeof(int32_t) * (size_t)(fo[h].ntrees + 1));
    nodes[h] = malloc(sizeof(ps_gbdt_node_t) * (size_t)(fo[h].nnodes + 1));
    assert_int_equal(ps_gbdt_flatten(&v, roots[h], nodes[h]), 0);
    flat[h] = (ps_gbdt_flat_t){.ntrees = fo[h].ntrees, .root = roots[h], .node = nodes[h],
                               .leaf_value = fo[h].leaf_value};
  }
  assert_int_equal(sizeof(ps_gbdt_node_t), 16);
  const int64_t ns[] = {1, 15, 16, 17, 100};
  for (size_t c = 0; c < sizeof ns / sizeof ns[0]; c++) {
    int64_t n = ns[c];
    double want[K * NMAX], got[K * NMAX];
    for (int h = 0; h < K; h++)
      for (int64_t i = 0; i < n; i++) want[h * n + i] = got[h * n + i] = 0.25 * h - 0.01 * (double)i;
    for (int h = 0; h < K; h++) {
      ps_forest_view_t v = forest_view(&fo[h]);
      ps_gbdt_predict_cpu(&v, X, n, F, want + h * n);
    }
    ps_gbdt_predict_flat_cpu(flat, K, X, n, F, got);
    assert_memory_equal(want, got, sizeof(double) * (size_t)(K * n));
  }
  for (int h = 0; h < K; h++) {
    forest_free(&fo[h]);
    free(roots[h]);
    free(nodes[h]);
  }
  tree_free(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(flat_equals_the_twin)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
