/* test_hist_pack.c: small columns packed into shared bytes (kernels/gbdt/
 * hist_pack_cpu.c, issue 26's 4-bit bins): the packing plan (two 16-bin
 * columns a byte, a 17-bin column never packed, 8 binary columns a byte, the
 * product of bins <= 256, column order kept), the packed codes decode to the
 * columns' bins, and the packed pass's histograms equal an int64 recount of
 * the unpacked columns at widths 32 and 64: odd counts of small columns in a
 * group, every layout through a row list (repeats) and in order (NULL), at
 * the width boundary (every row at +-Q in one packed cell). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gbdt/gbdt_cpu.h"
#include "gbdt/hist_groups_cpu.h"
#include "gbdt/hist_pack_cpu.h"
#include "models/gbdt/quant.h"

enum { N = 1500 };

static uint64_t state = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) { /* xorshift64*: the test's own data */
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1Dull;
}

static void offsets(const int64_t *nb, int64_t f, int64_t *bin_off) {
  bin_off[0] = 0;
  for (int64_t j = 0; j < f; j++) bin_off[j + 1] = bin_off[j] + nb[j];
}

static void plan_packs_small_columns_in_order(void **st) {
  (void)st;
  /* 16 16 | 17 | 2 2 2 2 2 2 2 2 | 2 | 256 | 3 5 16 (= 240) | 16 */
  const int64_t nb[] = {16, 16, 17, 2, 2, 2, 2, 2, 2, 2, 2, 2, 256, 3, 5, 16, 16};
  enum { F = 17 };
  int64_t bin_off[F + 1];
  offsets(nb, F, bin_off);
  ps_gbdt_pack_t pk;
  ps_gbdt_pack_plan(bin_off, F, &pk);
  /* bytes: {0, 1} (16 x 16), {2} (17 bins: never packed), {3..10} (2^8),
   * {11, 13, 14} (the 2 at 11 finds the last byte full and opens one that
   * 3 and 5 join past the 256-bin column: 30 codes), {12}, {15, 16} (the
   * 16 at 15 would make 480: it opens a byte, which the last 16 fills). */
  const int64_t want_first[] = {0, 2, 3, 11, 14, 15, 17};
  const int64_t want_cells[] = {256, 17, 256, 30, 256, 256};
  assert_int_equal(pk.np, 6);
  for (int c = 0; c <= 6; c++) assert_int_equal(pk.mfirst[c], want_first[c]);
  for (int c = 0; c < 6; c++) assert_int_equal(pk.cell_off[c + 1] - pk.cell_off[c], want_cells[c]);
  const int64_t want_mem[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 12, 15, 16};
  for (int k = 0; k < F; k++) assert_int_equal(pk.mem[k], want_mem[k]);
  /* marginals 256 x 3 + 256 x 9 + 30 x 4 + 256 x 3 = 3960 adds a leaf, 11 adds a row saved */
  assert_int_equal(pk.min_rows, 3960 / 11 + 1);
  ps_gbdt_pack_free(&pk);
  int64_t wide[3] = {0, 256, 273}; /* nothing shares a byte: never packed */
  ps_gbdt_pack_plan(wide, 2, &pk);
  assert_true(pk.np == 2 && pk.min_rows == INT64_MAX);
  ps_gbdt_pack_free(&pk);
  int64_t empty[4] = {0, 2, 2, 4}; /* a column of no bins keeps its own (empty) byte */
  ps_gbdt_pack_plan(empty, 3, &pk);
  assert_true(pk.np == 2 && pk.mfirst[1] == 2 && pk.mem[0] == 0 && pk.mem[1] == 2 && pk.mem[2] == 1);
  ps_gbdt_pack_free(&pk);
}

/* The packed pass at width w against the recount of the unpacked columns. */
static void check(const uint8_t *B, int64_t f, const int64_t *bin_off, const ps_gbdt_pack_t *pk, const uint8_t *P,
                  const int64_t *rows, int64_t m, const int32_t *gh, int w) {
  int64_t total = bin_off[f];
  int64_t *want = calloc((size_t)(2 * total), sizeof(int64_t)), *got = malloc(sizeof(int64_t) * 2 * (size_t)total);
  void *work = malloc(sizeof(uint64_t) * PS_GBDT_COL_STRIDE * (size_t)pk->np);
  int64_t *first = malloc(sizeof(int64_t) * (size_t)(pk->np + 1));
  memset(work, 0x33, sizeof(uint64_t) * PS_GBDT_COL_STRIDE * (size_t)pk->np);
  for (int64_t r = 0; r < m; r++) {
    int64_t i = rows ? rows[r] : r;
    for (int64_t j = 0; j < f; j++) {
      int64_t q = bin_off[j] + B[i * f + j];
      want[2 * q] += PS_GBDT_QG(gh[i]);
      want[2 * q + 1] += PS_GBDT_QH(gh[i]);
    }
  }
  memset(got, 0x5A, sizeof(int64_t) * 2 * (size_t)total); /* overwritten, not added to */
  ps_gbdt_hist_q_packed_cpu(P, pk, bin_off, rows, m, gh, w, work, first, got);
  assert_memory_equal(got, want, sizeof(int64_t) * 2 * (size_t)total);
  free(want), free(got), free(work), free(first);
}

static void one_layout(const int64_t *nb, int64_t f) {
  int64_t *bin_off = malloc(sizeof(int64_t) * (size_t)(f + 1)), *rows = malloc(sizeof(int64_t) * N);
  uint8_t *B = malloc((size_t)(N * f)), *P = malloc((size_t)(N * f));
  int32_t *gh = malloc(sizeof(int32_t) * N);
  offsets(nb, f, bin_off);
  for (int64_t i = 0; i < N; i++)
    for (int64_t j = 0; j < f; j++) B[i * f + j] = (uint8_t)(next() % (uint64_t)nb[j]);
  ps_gbdt_pack_t pk;
  ps_gbdt_pack_plan(bin_off, f, &pk);
  ps_gbdt_pack_rows(B, N, bin_off, &pk, P);
  for (int64_t i = 0; i < N; i++) /* the codes decode to the bins */
    for (int64_t c = 0; c < pk.np; c++) {
      unsigned code = P[i * pk.np + c];
      assert_true(code < (unsigned)(pk.cell_off[c + 1] - pk.cell_off[c]));
      for (int64_t k = pk.mfirst[c]; k < pk.mfirst[c + 1]; k++) {
        int64_t j = pk.mem[k];
        assert_int_equal(code % (unsigned)nb[j], B[i * f + j]);
        code /= (unsigned)nb[j];
      }
    }
  const int bits[] = {4, 8, 16};
  for (int k = 0; k < 3; k++) {
    int32_t Q = gbdt_quant_qmax(bits[k]);
    for (int64_t i = 0; i < N; i++)
      gh[i] = PS_GBDT_QPACK((int32_t)(next() % (uint64_t)(2 * Q + 1)) - Q, (int32_t)(next() % (uint64_t)(Q + 1)));
    for (int64_t m = 1; m <= N; m = m * 4 + 1) {
      for (int64_t r = 0; r < m; r++) rows[r] = (int64_t)(next() % N);
      for (int w = ps_gbdt_hist_q_width(m, Q); w <= 64; w *= 2) {
        check(B, f, bin_off, &pk, P, rows, m, gh, w);
        check(B, f, bin_off, &pk, P, NULL, m, gh, w);
      }
    }
  }
  ps_gbdt_pack_free(&pk);
  free(bin_off), free(rows), free(B), free(P), free(gh);
}

static void packed_histograms_equal_a_recount(void **st) {
  (void)st;
  const int64_t mixed[] = {256, 16, 17, 16, 16, 2, 3, 256, 2, 16, 5, 40, 16}; /* 13 columns, 7 of them packable */
  const int64_t small_odd[] = {16, 16, 16, 16, 16, 16, 16, 16, 16};          /* 9: one 16 alone in the last byte */
  const int64_t binary[] = {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};               /* 11: a byte of 8 and one of 3 */
  one_layout(mixed, 13);
  one_layout(small_odd, 9);
  one_layout(binary, 11);
  int64_t many[301]; /* several groups: 300 columns of 256 and 16 bins */
  for (int j = 0; j < 301; j++) many[j] = j % 3 ? 16 : 256;
  one_layout(many, 301);
}

/* m rows in order, all at (sign Q, Q) in the last packed cell of two 16-bin columns. */
static void extreme(int64_t m, int32_t Q, int sign, int want_width) {
  const int64_t nb[] = {16, 16, 16};
  int64_t bin_off[4];
  offsets(nb, 3, bin_off);
  uint8_t *B = malloc((size_t)(m * 3)), *P = malloc((size_t)(m * 3));
  int32_t *gh = malloc(sizeof(int32_t) * (size_t)m);
  for (int64_t i = 0; i < m; i++) {
    B[3 * i] = B[3 * i + 1] = 15;
    B[3 * i + 2] = 0;
    gh[i] = PS_GBDT_QPACK(sign * Q, Q);
  }
  ps_gbdt_pack_t pk;
  ps_gbdt_pack_plan(bin_off, 3, &pk);
  ps_gbdt_pack_rows(B, m, bin_off, &pk, P);
  assert_int_equal(ps_gbdt_hist_q_width(m, Q), want_width);
  check(B, 3, bin_off, &pk, P, NULL, m, gh, want_width);
  ps_gbdt_pack_free(&pk);
  free(B), free(P), free(gh);
}

static void packed_sums_are_exact_at_the_width_boundary(void **st) {
  (void)st;
  for (int sign = -1; sign <= 1; sign += 2) {
    extreme(258, 127, sign, 32);
    extreme(259, 127, sign, 64);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(plan_packs_small_columns_in_order),
      cmocka_unit_test(packed_histograms_equal_a_recount),
      cmocka_unit_test(packed_sums_are_exact_at_the_width_boundary),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
