/* test_hist_groups.c: the grouped histogram pass (kernels/gbdt/
 * hist_groups_cpu.c, issue 26) equals an int64 recount at every width the
 * leaf's rows allow: column counts that are and are not multiples of the
 * 8-bin loads (1, 7, 8, 9, 17, 58, 70), 2-, 16-, 17- and 256-bin columns,
 * the rows in order (NULL: the root, no gather) or through a list (any
 * order, repeats), one group or several; the packed sums exact at the width
 * boundary (every row at +-Q in one bin); the groups a function of the
 * layout that never passes the byte budget unless a column alone does.
 * The exact (g, h, rows) pass equals ps_gbdt_hist_cpu's sums the same way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gbdt/gbdt_cpu.h"
#include "gbdt/hist_groups_cpu.h"
#include "models/gbdt/quant.h"

enum { N = 2000 }; /* rows of the generated layouts */

static uint64_t state = 0x2545F4914F6CDD1Dull;
static uint64_t next(void) { /* xorshift64*: the test's own data */
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1Dull;
}

/* The grouped pass at width w against the recount of rows (NULL: 0..m-1). */
static void check(const uint8_t *B, int64_t f, const int64_t *bin_off, const int64_t *rows, int64_t m,
                  const int32_t *gh, int w) {
  int64_t total = bin_off[f];
  int64_t *want = calloc((size_t)(2 * total), sizeof(int64_t)), *got = malloc(sizeof(int64_t) * 2 * (size_t)total);
  void *work = malloc(sizeof(uint64_t) * PS_GBDT_COL_STRIDE * (size_t)f);
  int64_t *first = malloc(sizeof(int64_t) * (size_t)(f + 1));
  memset(work, 0x33, sizeof(uint64_t) * PS_GBDT_COL_STRIDE * (size_t)f); /* dirty: cleared by the pass */
  for (int64_t r = 0; r < m; r++) {
    int64_t i = rows ? rows[r] : r;
    for (int64_t j = 0; j < f; j++) {
      int64_t q = bin_off[j] + B[i * f + j];
      want[2 * q] += PS_GBDT_QG(gh[i]);
      want[2 * q + 1] += PS_GBDT_QH(gh[i]);
    }
  }
  memset(got, 0x5A, sizeof(int64_t) * 2 * (size_t)total); /* overwritten, not added to */
  ps_gbdt_hist_q_groups_cpu(B, f, bin_off, rows, m, gh, w, work, first, got);
  assert_memory_equal(got, want, sizeof(int64_t) * 2 * (size_t)total);
  free(want), free(got), free(work), free(first);
}

/* The exact (g, h, rows) pass against ps_gbdt_hist_cpu's sums of the same rows. */
static void check_exact(const uint8_t *B, int64_t f, const int64_t *bin_off, const int64_t *rows, int64_t m) {
  int64_t total = bin_off[f], n = N;
  int64_t *want = calloc((size_t)(3 * total), sizeof(int64_t)), *got = malloc(sizeof(int64_t) * 3 * (size_t)total);
  int64_t *gq = malloc(sizeof(int64_t) * (size_t)n), *hq = malloc(sizeof(int64_t) * (size_t)n), *all = NULL;
  int64_t *work = malloc(sizeof(int64_t) * 3 * PS_GBDT_COL_STRIDE * (size_t)f), *first = malloc(sizeof(int64_t) * (size_t)(f + 1));
  for (int64_t i = 0; i < n; i++) {
    gq[i] = (int64_t)(next() >> 20) - ((int64_t)1 << 43); /* fixed-point sums of either sign */
    hq[i] = (int64_t)(next() >> 21);
  }
  if (!rows) { /* the recount reads a list: 0..m-1 */
    all = malloc(sizeof(int64_t) * (size_t)m);
    for (int64_t r = 0; r < m; r++) all[r] = r;
  }
  ps_gbdt_hist_cpu(B, f, bin_off, rows ? rows : all, m, gq, hq, want);
  memset(got, 0x5A, sizeof(int64_t) * 3 * (size_t)total);
  ps_gbdt_hist_groups_cpu(B, f, bin_off, rows, m, gq, hq, work, first, got);
  assert_memory_equal(got, want, sizeof(int64_t) * 3 * (size_t)total);
  free(want), free(got), free(gq), free(hq), free(all), free(work), free(first);
}

static void one_layout(int64_t f, const int64_t *nb_cycle, int ncycle) {
  int64_t *bin_off = calloc((size_t)f + 1, sizeof(int64_t)), *rows = malloc(sizeof(int64_t) * N);
  uint8_t *B = malloc((size_t)(N * f));
  int32_t *gh = malloc(sizeof(int32_t) * N);
  for (int64_t j = 0; j < f; j++) bin_off[j + 1] = bin_off[j] + nb_cycle[j % ncycle];
  for (int64_t i = 0; i < N; i++)
    for (int64_t j = 0; j < f; j++) B[i * f + j] = (uint8_t)(next() % (uint64_t)(bin_off[j + 1] - bin_off[j]));
  const int bits[] = {4, 8, 16};
  for (int k = 0; k < 3; k++) {
    int32_t Q = gbdt_quant_qmax(bits[k]);
    for (int64_t i = 0; i < N; i++)
      gh[i] = PS_GBDT_QPACK((int32_t)(next() % (uint64_t)(2 * Q + 1)) - Q, (int32_t)(next() % (uint64_t)(Q + 1)));
    for (int64_t m = 1; m <= N; m = m * 4 + 1) {
      for (int64_t r = 0; r < m; r++) rows[r] = (int64_t)(next() % N); /* any rows, repeats too */
      if (k == 0) {
        check_exact(B, f, bin_off, rows, m);
        check_exact(B, f, bin_off, NULL, m);
      }
      for (int w = ps_gbdt_hist_q_width(m, Q); w <= 128; w *= 2) {
        check(B, f, bin_off, rows, m, gh, w);
        check(B, f, bin_off, NULL, m, gh, w);
      }
    }
  }
  free(bin_off), free(rows), free(B), free(gh);
}

static void grouped_histograms_equal_a_recount(void **st) {
  (void)st;
  const int64_t mixed[] = {256, 2, 17, 16, 256, 3};
  const int64_t wide[] = {256};
  const int64_t f[] = {1, 7, 8, 9, 17, 58};
  for (int k = 0; k < 6; k++) one_layout(f[k], mixed, 6);
  one_layout(70, wide, 1); /* 70 x 256 bins: several groups at widths 32 and 64 */
}

/* m rows in order, all in bin 1 of column 1 of 9 (the unrolled loads' tail), at (sign Q, Q). */
static void extreme(int64_t m, int32_t Q, int sign, int want_width) {
  enum { F = 9 };
  int64_t bin_off[F + 1];
  for (int j = 0; j <= F; j++) bin_off[j] = 16 * j;
  uint8_t *B = calloc((size_t)(m * F), 1);
  int32_t *gh = malloc(sizeof(int32_t) * (size_t)m);
  for (int64_t i = 0; i < m; i++) {
    B[i * F + 8] = 1;
    gh[i] = PS_GBDT_QPACK(sign * Q, Q);
  }
  int w = ps_gbdt_hist_q_width(m, Q);
  assert_int_equal(w, want_width);
  int64_t h[2 * 16 * F], first[F + 1];
  uint64_t *work = malloc(sizeof(uint64_t) * PS_GBDT_COL_STRIDE * F);
  ps_gbdt_hist_q_groups_cpu(B, F, bin_off, NULL, m, gh, w, work, first, h);
  assert_true(h[2 * 129] == sign * m * Q && h[2 * 129 + 1] == m * Q);
  assert_true(h[2 * 128] == 0 && h[2 * 128 + 1] == 0);
  assert_true(h[0] == sign * m * Q && h[1] == m * Q); /* column 0: every row in bin 0 */
  free(B), free(gh), free(work);
}

static void packed_sums_are_exact_at_the_width_boundary(void **st) {
  (void)st;
  for (int sign = -1; sign <= 1; sign += 2) {
    extreme(258, 127, sign, 32);
    extreme(259, 127, sign, 64);
    extreme(65538, 32767, sign, 64);
    extreme(65539, 32767, sign, 128);
  }
}

static void groups_fill_the_budget_in_order(void **st) {
  (void)st;
  int64_t bin_off[71], first[71];
  for (int j = 0; j <= 70; j++) bin_off[j] = 256 * j;
  /* 8-byte accumulators: 32 columns of 256 bins = 64 KiB a group */
  assert_int_equal(ps_gbdt_hist_groups(bin_off, 70, 8, first), 3);
  assert_true(first[0] == 0 && first[1] == 32 && first[2] == 64 && first[3] == 70);
  assert_int_equal(ps_gbdt_hist_groups(bin_off, 70, 4, first), 2); /* 64 a group */
  assert_true(first[1] == 64 && first[2] == 70);
  int64_t big[3] = {0, 20000, 20002}; /* a column over the budget alone: its own group */
  assert_int_equal(ps_gbdt_hist_groups(big, 2, 8, first), 2);
  assert_true(first[0] == 0 && first[1] == 1 && first[2] == 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(grouped_histograms_equal_a_recount),
      cmocka_unit_test(packed_sums_are_exact_at_the_width_boundary),
      cmocka_unit_test(groups_fill_the_budget_in_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
