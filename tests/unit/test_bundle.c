/* test_bundle.c: exclusive feature bundling (models/gbdt/bundle.c) on
 * planted columns: two full one-hot groups (4 and 3 levels, their columns
 * interleaved), a pair of exclusive rare flags, two independent dense flags
 * and a numeric column with missing values. The search on a sample of the
 * rows must find exactly the planted groups (the rest alone); the per-
 * feature histograms recovered from the bundle columns must equal the
 * histograms of the feature columns bit for bit (exact and quantized
 * sums); and a row outside the sample where the rare flags meet must take
 * their bundle apart, the recovery staying exact. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gbdt/gbdt_cpu.h"
#include "models/gbdt/bundle.h"

/* columns: 0 numeric, 1..7 one-hot A (levels 0..3 at 1,3,5,7) and B (levels
 * 0..2 at 2,4,6), 8 and 9 dense independent flags, 10 and 11 rare exclusive flags */
enum { N = 3000, F = 12, SAMPLE = 1000 };
static const int A_COL[4] = {1, 3, 5, 7}, B_COL[3] = {2, 4, 6};
static float X[N * F];
static ps_bins_t bins;

static uint64_t state = 0xD1B54A32D192ED03ull;
static double unif(void) { /* xorshift64*: the test's own data */
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return (double)((state * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

static void make_data(void) {
  memset(X, 0, sizeof X);
  for (int i = 0; i < N; i++) {
    float *x = X + i * F;
    x[0] = unif() < 0.05 ? NAN : (float)(10 * unif());
    x[A_COL[(int)(4 * unif())]] = 1;
    x[B_COL[(int)(3 * unif())]] = 1;
    x[8] = unif() < 0.3f;
    x[9] = unif() < 0.4f;
    x[10] = i % 10 == 0;
    x[11] = i % 10 == 1;
  }
  float cuts[16] = {2, 4, 6, 8}; /* numeric: 4 cuts; flags: one cut at 0.5 */
  int64_t cut_off[F + 1] = {0, 4};
  for (int j = 1; j < F; j++) {
    cut_off[j + 1] = cut_off[j] + 1;
    cuts[cut_off[j]] = 0.5f;
  }
  bins_from_cuts(F, cuts, cut_off, &bins);
}

static int same_group(const ps_bundles_t *bd, const int *cols, int k) {
  for (int q = 1; q < k; q++)
    if (bd->group[cols[q]] != bd->group[cols[0]]) return 0;
  return bd->mem_off[bd->group[cols[0]] + 1] - bd->mem_off[bd->group[cols[0]]] == k;
}

static void search_finds_the_planted_groups(void **st) {
  (void)st;
  make_data();
  ps_bundles_t bd;
  bundles_find(X, SAMPLE, &bins, &bd);
  static const int RARE[2] = {10, 11};
  assert_true(same_group(&bd, A_COL, 4));
  assert_true(same_group(&bd, B_COL, 3));
  assert_true(same_group(&bd, RARE, 2));
  static const int ALONE[3] = {0, 8, 9};
  for (int q = 0; q < 3; q++) assert_true(same_group(&bd, ALONE + q, 1));
  assert_int_equal(bd.nb, 6);
  assert_int_equal(bd.nmulti, 3);
  assert_int_equal(bd.dflt[1], 1); /* a one-hot column's default: the bin of 0 */
  assert_int_equal(bd.dflt[9], 1);
  /* numeric 6 bins; a flag 3 (missing, 0, 1), 2 of them off its default */
  assert_int_equal(bd.total_bins, 6 + (1 + 4 * 2) + (1 + 3 * 2) + 3 + 3 + (1 + 2 * 2));
  bundles_free(&bd);
  bins_free(&bins);
}

/* The recovered histograms of rows (every third row) = the feature columns' own. */
static void check_recovery(const ps_bundles_t *bd, const uint8_t *B, const uint8_t *Bb) {
  int64_t rows[N], m = 0, T = bins.total_bins;
  int64_t gq[N], hq[N];
  int32_t gh[N];
  for (int64_t i = 0; i < N; i++) {
    if (i % 3 == 0) rows[m++] = i;
    gq[i] = (int64_t)(1e6 * (unif() - 0.5));
    hq[i] = (int64_t)(1e6 * unif());
    gh[i] = PS_GBDT_QPACK((int32_t)(15 * unif()) - 7, (int32_t)(7 * unif()));
  }
  int64_t *want = calloc((size_t)(3 * T), sizeof(int64_t)), *got = malloc(sizeof(int64_t) * 3 * (size_t)T);
  int64_t *hb = calloc((size_t)(3 * bd->total_bins), sizeof(int64_t));
  uint64_t *work = malloc(sizeof(uint64_t) * (size_t)T);
  ps_gbdt_hist_cpu(B, F, bins.bin_off, rows, m, gq, hq, want);
  ps_gbdt_hist_cpu(Bb, bd->nb, bd->bin_off, rows, m, gq, hq, hb);
  memset(got, 0x5A, sizeof(int64_t) * 3 * (size_t)T);
  bundles_expand(bd, bins.bin_off, hb, 3, got);
  assert_memory_equal(got, want, sizeof(int64_t) * 3 * (size_t)T);
  int w = ps_gbdt_hist_q_width(m, 7);
  ps_gbdt_hist_q_cpu(B, F, bins.bin_off, T, rows, m, gh, w, work, want);
  ps_gbdt_hist_q_cpu(Bb, bd->nb, bd->bin_off, bd->total_bins, rows, m, gh, w, work, hb);
  memset(got, 0x5A, sizeof(int64_t) * 2 * (size_t)T);
  bundles_expand(bd, bins.bin_off, hb, 2, got);
  assert_memory_equal(got, want, sizeof(int64_t) * 2 * (size_t)T);
  free(want); free(got); free(hb); free(work);
}

static void recovered_histograms_are_exact(void **st) {
  (void)st;
  make_data();
  static uint8_t B[N * F];
  ps_gbdt_bin_cpu(X, N, F, bins.cuts, bins.cut_off, B);
  ps_bundles_t bd;
  bundles_find(X, SAMPLE, &bins, &bd);
  uint8_t *Bb = bundles_encode(&bd, &bins, B, N);
  assert_non_null(Bb);
  assert_int_equal(bd.nmulti, 3);
  check_recovery(&bd, B, Bb);
  free(Bb);
  bundles_free(&bd);
  bins_free(&bins);
}

static void a_conflict_outside_the_sample_takes_the_bundle_apart(void **st) {
  (void)st;
  make_data();
  X[2500 * F + 10] = X[2500 * F + 11] = 1; /* the rare flags meet, after the sample */
  static uint8_t B[N * F];
  ps_gbdt_bin_cpu(X, N, F, bins.cuts, bins.cut_off, B);
  ps_bundles_t bd;
  bundles_find(X, SAMPLE, &bins, &bd);
  assert_int_equal(bd.nmulti, 3);
  assert_int_equal(bd.group[10], bd.group[11]);
  uint8_t *Bb = bundles_encode(&bd, &bins, B, N);
  assert_non_null(Bb);
  assert_int_equal(bd.nmulti, 2);
  assert_int_equal(bd.nb, 7);
  assert_int_not_equal(bd.group[10], bd.group[11]);
  assert_true(same_group(&bd, A_COL, 4));
  check_recovery(&bd, B, Bb);
  free(Bb);
  bundles_free(&bd);
  bins_free(&bins);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(search_finds_the_planted_groups),
      cmocka_unit_test(recovered_histograms_are_exact),
      cmocka_unit_test(a_conflict_outside_the_sample_takes_the_bundle_apart),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
