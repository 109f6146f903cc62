/* test_leafrows.c: the validation rows' scores by replayed splits
 * (leafrows_add, host/models/gbdt/leafrows.c) against the tree walk over
 * bins (ps_gbdt_predict_bins_cpu), bitwise, tree after tree: random trees
 * of 1..40 leaves numbered as grow.c numbers them, missing bins (0) sent
 * either way, category-set nodes, bins at a node's threshold, row counts 0,
 * 1, 63, 64, 65 and 1000. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gbdt/gbdt_cat.h"
#include "gbdt/gbdt_cpu.h"
#include "models/gbdt/forest.h"
#include "models/gbdt/leafrows.h"

enum { F = 5, NMAX = 1000, NB = 12 };

#define RT_SEED 0x853C49E6748FEA9Bull
#include "random_tree.h"

/* A tree of L leaves grown as grow.c numbers them: node nl-1 splits a random
 * leaf into it and leaf nl; a fifth of the nodes test a category set. */
static void random_tree(ps_tree_t *t, int L) {
  int pnode[64], pside[64];
  t->nleaves = L;
  t->ncat = 0;
  pnode[0] = -1;
  for (int nl = 1; nl < L; nl++) {
    int leaf = (int)(unif() * nl), node = nl - 1;
    t->feature[node] = (int32_t)(unif() * F);
    t->bin[node] = (uint8_t)(unif() * NB);
    t->threshold[node] = INFINITY;
    t->default_left[node] = unif() < 0.5;
    t->cat[node] = -1;
    if (unif() < 0.2) {
      uint8_t *set = t->cat_set + (size_t)PS_GBDT_CAT_BYTES * (size_t)t->ncat;
      for (int i = 0; i < PS_GBDT_CAT_BYTES; i++) set[i] = (uint8_t)(unif() * 256);
      t->cat[node] = t->ncat++;
    }
    rt_link(t, pnode, pside, leaf, nl);
  }
  for (int q = 0; q < L; q++) t->leaf_value[q] = (unif() - 0.5) * 0.3;
}

static void replay_equals_the_walk(void **st) {
  (void)st;
  static uint8_t B[NMAX * F];
  for (int e = 0; e < NMAX * F; e++) B[e] = (uint8_t)(unif() * (NB + 1)); /* 0: missing */
  ps_forest_t fo;
  ps_tree_t t;
  tree_alloc(&t, 64);
  forest_init(&fo);
  for (int i = 0; i < 25; i++) {
    random_tree(&t, i == 0 ? 1 : 1 + (int)(unif() * 40));
    forest_add(&fo, &t);
  }
  ps_forest_view_t v = forest_view(&fo);
  const int64_t ns[] = {0, 1, 63, 64, 65, NMAX};
  for (size_t c = 0; c < sizeof ns / sizeof ns[0]; c++) {
    int64_t n = ns[c];
    static double want[NMAX], got[NMAX];
    for (int64_t i = 0; i < n; i++) want[i] = got[i] = 0.1 - 0.001 * (double)i;
    gbdt_leafrows_t *lr = leafrows_create(B, n, F);
    for (int32_t k = 0; k < v.ntrees; k++) {
      ps_gbdt_predict_bins_cpu(&v, k, B, F, NULL, n, want);
      leafrows_add(lr, &v, k, got);
      assert_memory_equal(want, got, sizeof(double) * (size_t)(n > 0 ? n : 1));
    }
    leafrows_free(lr);
  }
  forest_free(&fo);
  tree_free(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(replay_equals_the_walk)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
