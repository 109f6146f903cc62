/* test_split_dist.c: the split search by feature block (split_dist.c)
 * without MPI: for P = 1..6 every rank's plan is made in one process, each
 * block searched from its slice of a whole histogram, and the picked best
 * must be the serial search's (ps_gbdt_split_cpu over all features) field
 * for field -- on random histograms with exact gain ties planted (copies of
 * a feature, so the lower feature must win), features of the tree masked,
 * and more ranks than features. The blocks must cover the features in
 * order, each cut at the feature boundary nearest to r total / P; the
 * device-search path (a backend with find_split) must give the same bits;
 * and the one-rank reduce-scatter is a copy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "comm/comm.h"
#include "models/gbdt/split_dist.h"

enum { F = 9, NB = 12 };
static ps_bins_t bins;
static int64_t H[F * NB * PS_HIST_W], G_, H_, N_;

static uint64_t state = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) { /* xorshift64* */
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1Dull;
}

/* Features of 2..NB bins; every row in one bin of each feature (the same
 * G, H, N); feature 2 follows g, feature 5 is a copy of it (equal gains:
 * 2 must win), the others are noise. */
static void make_hist(void) {
  int64_t cut_off[F + 1] = {0};
  float cuts[F * NB];
  for (int j = 0; j < F; j++) {
    int64_t nc = j == 5 ? cut_off[3] - cut_off[2] : 1 + (int64_t)(next() % (NB - 2));
    cut_off[j + 1] = cut_off[j] + nc;
    for (int64_t c = 0; c < nc; c++) cuts[cut_off[j] + c] = (float)c;
  }
  bins_free(&bins);
  bins_from_cuts(F, cuts, cut_off, &bins);
  int64_t rows[400][3];
  for (int i = 0; i < 400; i++) {
    rows[i][0] = (int64_t)(next() % 2001) - 1000;
    rows[i][1] = 1 + (int64_t)(next() % 500);
    rows[i][2] = 1;
  }
  memset(H, 0, sizeof H);
  G_ = H_ = N_ = 0;
  for (int i = 0; i < 400; i++) {
    G_ += rows[i][0], H_ += rows[i][1], N_ += 1;
    int b2 = 0;
    for (int j = 0; j < F; j++) {
      int nb = (int)(bins.bin_off[j + 1] - bins.bin_off[j]);
      int64_t v = j == 2 ? rows[i][0] + 1000 : (int64_t)(next() % 2001); /* feature 2 (and 5) the strongest */
      int b = next() % 10 == 0 ? 0 : 1 + (int)(v * (nb - 1) / 2001);
      if (j == 2) b2 = b;
      if (j == 5) b = b2;
      for (int k = 0; k < 3; k++) H[PS_HIST_W * (bins.bin_off[j] + b) + k] += rows[i][k];
    }
  }
}

static const ps_split_params_t SP = {.l2 = 1.0, .min_data = 5, .min_hess = 0.0, .min_gain = 0.0, .scale = 1.0};

static void assert_same(const ps_split_t *a, const ps_split_t *b) {
  assert_int_equal(a->feature, b->feature);
  assert_int_equal(a->bin, b->bin);
  assert_int_equal(a->default_left, b->default_left);
  assert_memory_equal(&a->gain, &b->gain, sizeof a->gain);
  assert_int_equal(a->lg, b->lg);
  assert_int_equal(a->lh, b->lh);
  assert_int_equal(a->ln, b->ln);
}

/* The device path's stand-in: the CPU twin over the whole layout. */
static void whole_search(ps_gbdt_backend_t *b, const int64_t *h, const uint8_t *use, int64_t G, int64_t Hs, int64_t N,
                         const ps_split_params_t *p, ps_split_t *best) {
  (void)b;
  ps_gbdt_split_cpu(h, bins.f, bins.bin_off, use, G, Hs, N, p, best);
}

/* Every rank's block search, picked: the serial search's bits. */
static void check_blocks(int P, const uint8_t *use, int device) {
  ps_split_t serial, c[8];
  ps_gbdt_split_cpu(H, F, bins.bin_off, use, G_, H_, N_, &SP, &serial);
  ps_gbdt_backend_t b = {.find_split = device ? whole_search : NULL};
  for (int r = 0; r < P; r++) {
    ps_dist_t d;
    dist_init(&d, &bins, PS_HIST_W, P, r, device);
    assert_int_equal(d.len, PS_HIST_W * d.nq);
    dist_search(&d, &b, H + PS_HIST_W * d.q0, use, G_, H_, N_, &SP, &c[r]);
    dist_free(&d);
  }
  ps_split_t got = dist_pick(c, P, 1);
  assert_same(&got, &serial);
}

static void test_blocks_search_like_the_serial_search(void **st) {
  (void)st;
  uint8_t use[F];
  for (int round = 0; round < 40; round++) {
    make_hist();
    for (int j = 0; j < F; j++) use[j] = round % 3 == 0 || next() % 4 != 0;
    if (round % 5 == 1) use[2] = 1, use[5] = 1; /* the tie is live */
    for (int P = 1; P <= 6; P++)
      for (int device = 0; device < 2; device++) check_blocks(P, round % 3 == 0 ? NULL : use, device);
  }
}

/* Blocks cover [0, f) in order; cut r is the nearest feature boundary to r T / P. */
static void test_blocks_balanced(void **st) {
  (void)st;
  for (int round = 0; round < 10; round++) {
    make_hist();
    for (int P = 1; P <= 12; P++) {
      int64_t first[13], T = bins.total_bins;
      dist_blocks(bins.bin_off, F, P, first);
      assert_int_equal(first[0], 0);
      assert_int_equal(first[P], F);
      for (int r = 1; r < P; r++) {
        assert_true(first[r] >= first[r - 1]);
        int64_t got = llabs(P * bins.bin_off[first[r]] - r * T), best = INT64_MAX;
        for (int j = 0; j <= F; j++) best = llabs(P * bins.bin_off[j] - r * T) < best ? llabs(P * bins.bin_off[j] - r * T) : best;
        assert_int_equal(got, best);
      }
    }
  }
}

/* Ties across blocks: the higher gain, then the lower feature; none: c[0]. */
static void test_pick_order(void **st) {
  (void)st;
  ps_split_t c[4] = {{.feature = -1, .gain = 0.5}, {.feature = 7, .gain = 2.0, .bin = 1},
                     {.feature = 3, .gain = 2.0, .bin = 9}, {.feature = 9, .gain = 1.0}};
  ps_split_t got = dist_pick(c, 4, 1);
  assert_int_equal(got.feature, 3);
  assert_int_equal(got.bin, 9);
  got = dist_pick(c, 2, 2); /* c[0], c[2] */
  assert_int_equal(got.feature, 3);
  got = dist_pick(c, 1, 1);
  assert_int_equal(got.feature, -1);
  assert_true(got.gain == 0.5);
}

static void test_local_reduce_scatter_copies(void **st) {
  (void)st;
  int64_t in[5] = {1, -2, 3, 4, 5}, out[5] = {0};
  size_t counts[1] = {5};
  comm_reduce_scatter_sum_i64(in, out, counts);
  assert_memory_equal(in, out, sizeof in);
  comm_reduce_scatter_sum_i64(in, in, counts); /* in place: untouched */
  assert_memory_equal(in, out, sizeof in);
}

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_blocks_search_like_the_serial_search),
      cmocka_unit_test(test_blocks_balanced),
      cmocka_unit_test(test_pick_order),
      cmocka_unit_test(test_local_reduce_scatter_copies),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  bins_free(&bins);
  return rc;
}
