/* test_reduce_scatter.c: comm_reduce_scatter_sum_i64 over MPI (comm_mpi.c)
 * on 1 and 3 ranks: each rank's block must be the sum over ranks of every
 * rank's values there -- blocks of a few values (one MPI_Reduce_scatter),
 * an empty block, and blocks past the 2^20-value message chunk (rounds of
 * packed pieces, blocks of unequal round counts). Values near 2^62 so a
 * lost or doubled piece cannot cancel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "comm/comm.h"
#include "core/util.h"

static int64_t value(int rank, size_t i) { return ((int64_t)1 << 61) / 4 + (int64_t)rank * 1000003 + (int64_t)i * 7; }

static void check(const size_t *counts) {
  size_t total = 0, off = 0;
  for (int r = 0; r < ps_size; r++) total += counts[r];
  for (int r = 0; r < ps_rank; r++) off += counts[r];
  int64_t *in = malloc(sizeof(int64_t) * (total + 1)), *out = malloc(sizeof(int64_t) * (counts[ps_rank] + 1));
  for (size_t i = 0; i < total; i++) in[i] = value(ps_rank, i);
  comm_reduce_scatter_sum_i64(in, out, counts);
  int64_t bad = 0;
  for (size_t i = 0; i < counts[ps_rank]; i++) {
    int64_t want = 0;
    for (int r = 0; r < ps_size; r++) want += value(r, off + i);
    bad += out[i] != want;
  }
  comm_allreduce_sum_i64(&bad, 1);
  assert_int_equal(bad, 0);
  free(in);
  free(out);
}

static void small_blocks(void **st) {
  (void)st;
  size_t counts[3] = {5, 0, 7};
  check(counts);
}

static void blocks_past_the_chunk(void **st) {
  (void)st;
  size_t c = (size_t)1 << 20, counts[3] = {2 * c + 3, c - 1, 0};
  if (ps_size == 1) counts[0] = c + 9;
  check(counts);
}

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  const struct CMUnitTest tests[] = {cmocka_unit_test(small_blocks), cmocka_unit_test(blocks_past_the_chunk)};
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  comm_finalize();
  return rc;
}
