/* test_leaf_index.c: a tree's per-row leaf numbers (kernels/gbdt/
 * leaf_index_cpu.c) give the segment loops' results bit for bit: each
 * leaf's (sum gq, sum hq) and score[i] += value[leaf], for leaves of
 * ascending random rows covering all rows or a bag of them (the others
 * untouched and in no leaf), 1..255 leaves, empty leaves, row counts not a
 * multiple of 4, gradients near +-2^60 (no reordering changes an integer
 * sum), scores at -0 (one addition a row keeps the walk's bits). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gbdt/leaf_index_cpu.h"

static uint64_t st = 0x2545F4914F6CDD1Dull;
static uint64_t next(void) {
  st ^= st << 13;
  st ^= st >> 7;
  st ^= st << 17;
  return st;
}

/* Rows of n (a bag of them when bagged) dealt to L leaves as ascending segments of rows[]. */
static void deal(int64_t n, int L, int bagged, int64_t *rows, int64_t *begin, int64_t *count) {
  int64_t *tmp = malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
  uint8_t *leaf = malloc((size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) leaf[i] = (bagged && next() % 3 == 0) ? 255 : (uint8_t)(next() % (uint64_t)L);
  int64_t at = 0;
  for (int l = 0; l < L; l++) {
    begin[l] = at;
    for (int64_t i = 0; i < n; i++)
      if (leaf[i] == l) tmp[at++] = i;
    count[l] = at - begin[l];
  }
  memcpy(rows, tmp, sizeof(int64_t) * (size_t)at);
  free(tmp);
  free(leaf);
}

static void check(int64_t n, int L, int bagged) {
  int64_t *rows = calloc((size_t)(n + 1), sizeof(int64_t)), begin[256] = {0}, count[256] = {0};
  int64_t *gq = malloc(sizeof(int64_t) * (size_t)(n + 1)), *hq = malloc(sizeof(int64_t) * (size_t)(n + 1));
  double *s0 = malloc(sizeof(double) * (size_t)(n + 1)), *s1 = malloc(sizeof(double) * (size_t)(n + 1)), value[256];
  uint8_t *lof = malloc((size_t)(n + 1));
  deal(n, L, bagged, rows, begin, count);
  for (int64_t i = 0; i < n; i++) {
    gq[i] = (int64_t)(next() >> 4) - ((int64_t)1 << 59);
    hq[i] = (int64_t)(next() >> 5);
    s0[i] = s1[i] = i % 5 == 0 ? -0.0 : (double)(int64_t)(next() >> 40) * 1e-7;
  }
  for (int l = 0; l < L; l++) value[l] = l % 4 == 0 ? 0.0 : ((double)(next() >> 11) * 0x1.0p-53 - 0.5);
  ps_gbdt_leaf_index_cpu(rows, begin, count, L, n, !bagged, lof);
  int64_t sums[512];
  ps_gbdt_leaf_sums_index_cpu(lof, n, gq, hq, L, sums);
  for (int l = 0; l < L; l++) {
    int64_t g = 0, h = 0;
    for (int64_t i = 0; i < count[l]; i++) {
      g += gq[rows[begin[l] + i]];
      h += hq[rows[begin[l] + i]];
      assert_int_equal(lof[rows[begin[l] + i]], l);
    }
    assert_int_equal(sums[2 * l], g);
    assert_int_equal(sums[2 * l + 1], h);
  }
  if (!bagged) { /* add_leaves: every row in a leaf */
    ps_gbdt_add_leaves_index_cpu(lof, n, value, s1);
    for (int l = 0; l < L; l++)
      for (int64_t i = 0; i < count[l]; i++) s0[rows[begin[l] + i]] += value[l];
    assert_memory_equal(s0, s1, sizeof(double) * (size_t)n);
  } else {
    int64_t in = 0;
    for (int64_t i = 0; i < n; i++) in += lof[i] != PS_GBDT_NO_LEAF;
    int64_t total = 0;
    for (int l = 0; l < L; l++) total += count[l];
    assert_int_equal(in, total);
  }
  free(rows); free(gq); free(hq); free(s0); free(s1); free(lof);
}

static void equals_segments(void **state) {
  (void)state;
  static const int leaves[] = {1, 2, 3, 31, 64, 255};
  static const int64_t ns[] = {0, 1, 3, 4, 5, 7, 100, 1001, 20003};
  for (size_t a = 0; a < sizeof leaves / sizeof *leaves; a++)
    for (size_t b = 0; b < sizeof ns / sizeof *ns; b++)
      for (int bagged = 0; bagged < 2; bagged++) check(ns[b], leaves[a], bagged);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(equals_segments)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
