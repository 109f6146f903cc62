/* test_shap.c: the TreeSHAP twin (kernels/gbdt/shap_cpu.c) against the
 * definition: for every row, the Shapley values of the path-dependent value
 * function v(S) (follow the row's branch at a node whose feature is in S,
 * else the cover-weighted mean of both branches), by enumerating every
 * subset S of the features. Random forests of 1..24 leaves over 6 features
 * (so features repeat along paths), single-leaf trees, uneven covers, rows
 * with NaN (default_left) and values on the thresholds; the twin's
 * recursion gives the bits of the kernel's per-leaf replay (ps_shap_row);
 * the contributions sum to the raw score minus the base value; a leaf covering no rows is
 * refused. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gbdt/gbdt_cpu.h"
#include "gbdt/shap_cpu.h"

enum { F = 6, T = 7, LMAX = 24, N = 40, NODES = T * LMAX };

static uint64_t state = 0x9E3779B97F4A7C15ull;
static double unif(void) { /* xorshift64*: the test's own data */
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return (double)((state * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

static int64_t node_off[T + 1], leaf_off[T + 1], count[NODES];
static int32_t feature[NODES], left[NODES], right[NODES];
static float threshold[NODES];
static uint8_t bin[NODES], dl[NODES];
static double value[NODES];

/* Trees grown by splitting random leaves (nodes and leaves numbered as grow.c does). */
static ps_forest_view_t make_forest(void) {
  int64_t nodes = 0, leaves = 0;
  int32_t pnode[LMAX], pside[LMAX];
  for (int t = 0; t < T; t++) {
    int L = t == 2 ? 1 : 1 + (int)(unif() * LMAX);
    pnode[0] = -1;
    for (int nl = 1; nl < L; nl++) {
      int leaf = (int)(unif() * nl), node = nl - 1;
      int64_t k = nodes + node;
      feature[k] = (int32_t)(unif() * F);
      threshold[k] = (float)(int)(unif() * 8) * 0.25f;
      dl[k] = unif() < 0.5;
      bin[k] = 1;
      left[k] = ~leaf;
      right[k] = ~nl;
      if (pnode[leaf] >= 0) *(pside[leaf] == 0 ? &left[nodes + pnode[leaf]] : &right[nodes + pnode[leaf]]) = node;
      pnode[leaf] = pnode[nl] = node;
      pside[leaf] = 0;
      pside[nl] = 1;
    }
    for (int q = 0; q < L; q++) {
      value[leaves + q] = unif() - 0.5;
      count[leaves + q] = 1 + (int64_t)(unif() * 100);
    }
    nodes += L - 1;
    leaves += L;
    node_off[t + 1] = nodes;
    leaf_off[t + 1] = leaves;
  }
  ps_forest_view_t v = {.ntrees = T, .node_off = node_off, .leaf_off = leaf_off, .feature = feature,
                        .threshold = threshold, .bin = bin, .default_left = dl, .left = left, .right = right,
                        .leaf_value = value};
  return v;
}

/* v(S) of tree t below node `node` (< 0: a leaf); *cover: its rows. */
static double cond(const ps_forest_view_t *fo, int t, int32_t node, const float *x, unsigned S, double *cover) {
  if (node < 0) {
    *cover = (double)count[fo->leaf_off[t] + ~node];
    return value[fo->leaf_off[t] + ~node];
  }
  int64_t k = fo->node_off[t] + node;
  double cl, cr, vl = cond(fo, t, left[k], x, S, &cl), vr = cond(fo, t, right[k], x, S, &cr);
  *cover = cl + cr;
  if (S >> feature[k] & 1) return ps_gbdt_left_raw(x[feature[k]], threshold[k], dl[k]) ? vl : vr;
  return (cl * vl + cr * vr) / (cl + cr);
}

static double v_of(const ps_forest_view_t *fo, const float *x, unsigned S) {
  double s = 0, c;
  for (int t = 0; t < T; t++)
    s += fo->node_off[t + 1] == fo->node_off[t] ? value[fo->leaf_off[t]] : cond(fo, t, 0, x, S, &c);
  return s;
}

static void shapley(const ps_forest_view_t *fo, const float *x, double *phi) {
  double fact[F + 1] = {1};
  for (int i = 1; i <= F; i++) fact[i] = fact[i - 1] * i;
  double v[1 << F];
  for (unsigned S = 0; S < (1u << F); S++) v[S] = v_of(fo, x, S);
  for (int i = 0; i < F; i++) {
    phi[i] = 0;
    for (unsigned S = 0; S < (1u << F); S++) {
      if (S >> i & 1) continue;
      int s = __builtin_popcount(S);
      phi[i] += fact[s] * fact[F - s - 1] / fact[F] * (v[S | 1u << i] - v[S]);
    }
  }
}

static void test_twin_equals_shapley_values(void **st) {
  (void)st;
  ps_forest_view_t fo = make_forest();
  float X[N * F];
  for (int i = 0; i < N * F; i++) {
    double u = unif();
    X[i] = u < 0.15 ? NAN : u < 0.3 ? (float)(int)(unif() * 8) * 0.25f : (float)(unif() * 2.2 - 0.1);
  }
  ps_shap_paths_t ps;
  assert_int_equal(ps_gbdt_shap_paths(&fo, count, &ps), 0);
  double phi[N * F] = {0}, raw[N] = {0}, want[F];
  ps_gbdt_shap_cpu(&fo, &ps, X, N, F, phi);
  ps_gbdt_predict_cpu(&fo, X, N, F, raw);
  ps_shap_elem_t scratch[LMAX + 2];
  for (int i = 0; i < N; i++) { /* the recursion = each leaf's path replayed (the kernel's way), bitwise */
    double one[F] = {0};
    ps_shap_row(&fo, &ps, X + i * F, scratch, one);
    assert_memory_equal(one, phi + i * F, sizeof one);
  }
  double base = ps_gbdt_shap_base(&ps, T, 0.0);
  assert_true(fabs(base - v_of(&fo, X, 0)) < 1e-12);
  for (int i = 0; i < N; i++) {
    shapley(&fo, X + i * F, want);
    double sum = base;
    for (int j = 0; j < F; j++) {
      if (fabs(phi[i * F + j] - want[j]) > 1e-12) fail_msg("row %d feature %d: %.17g, Shapley %.17g", i, j,
                                                           phi[i * F + j], want[j]);
      sum += phi[i * F + j];
    }
    assert_true(fabs(sum - raw[i]) < 1e-12);
  }
  ps_gbdt_shap_paths_free(&ps);
}

static void test_empty_leaf_refused(void **st) {
  (void)st;
  ps_forest_view_t fo = make_forest();
  int t = 0;
  while (leaf_off[t + 1] - leaf_off[t] < 2) t++;
  int64_t keep = count[leaf_off[t] + 1];
  count[leaf_off[t] + 1] = 0;
  ps_shap_paths_t ps;
  assert_int_equal(ps_gbdt_shap_paths(&fo, count, &ps), -1);
  count[leaf_off[t] + 1] = keep;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_twin_equals_shapley_values),
      cmocka_unit_test(test_empty_leaf_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
