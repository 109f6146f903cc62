/* test_pipeline.c: the block pipeline (io/pipeline.c) against its contract
 * (pipeline.h), over an in-memory stand-in for io/h5.c's three functions it
 * calls (this file defines them; the test links pipeline.c with the
 * one-rank transport, no HDF5, no MPI): blocks come in order, every row is
 * read once and written once, after the caller asked for the next block;
 * the thread reads ahead; every transfer is made by the pipeline's thread
 * (the thread rule); empty blocks where another rank has more; a second
 * pass and a resumed one; a problem mid-stream ends the pass with the
 * first message; a stop signal ends it at a block boundary, only if asked. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "comm/comm.h"
#include "core/signals.h"
#include "io/pipeline.h"

/* ---- the stand-in for io/h5.c: datasets in memory ---- */
enum { NROWS = 37, COLS = 3, BLOCK = 5 };
typedef struct {
  void *data;
  ps_dtype_t type;
  int64_t rows, cols;
  int reads[NROWS], writes[NROWS];
  int64_t calls;
} fake_t;
static fake_t D[3]; /* 0: x float [n][3], 1: w int64 [n], 2: y double [n] (written) */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_t main_thread;
static int64_t off_thread_violations, bad_ranges, other_rank_blocks;

size_t h5_dtype_size(ps_dtype_t t) { return t == PS_F32 || t == PS_I32 ? 4 : t == PS_U8 ? 1 : 8; }

int64_t h5_common_blocks(int64_t nrows, int64_t block_rows) {
  int64_t nb = (nrows + block_rows - 1) / block_rows; /* "another rank" may need more */
  return nb > other_rank_blocks ? nb : other_rank_blocks;
}

void h5_xfer_rows(ps_h5_t dset, ps_dtype_t type, int64_t row0, int64_t nrows, int64_t ncols, void *buf, int write) {
  pthread_mutex_lock(&mu);
  fake_t *d = &D[dset];
  if (pthread_equal(pthread_self(), main_thread)) off_thread_violations++;
  if (type != d->type || ncols != d->cols || row0 < 0 || nrows < 0 || row0 + nrows > d->rows) bad_ranges++;
  else {
    size_t rb = h5_dtype_size(type) * (size_t)(ncols > 0 ? ncols : 1);
    char *at = (char *)d->data + rb * (size_t)row0;
    memcpy(write ? at : buf, write ? buf : at, rb * (size_t)nrows);
    for (int64_t r = row0; r < row0 + nrows; r++) (write ? d->writes : d->reads)[r]++;
  }
  d->calls++;
  pthread_mutex_unlock(&mu);
}

static float X[NROWS * COLS];
static int64_t W[NROWS];
static double Y[NROWS];

static void reset(void) {
  for (int i = 0; i < NROWS; i++) {
    for (int c = 0; c < COLS; c++) X[i * COLS + c] = (float)(10 * i + c);
    W[i] = 1000 + i;
    Y[i] = -1;
  }
  memset(D, 0, sizeof D);
  D[0] = (fake_t){.data = X, .type = PS_F32, .rows = NROWS, .cols = COLS};
  D[1] = (fake_t){.data = W, .type = PS_I64, .rows = NROWS, .cols = 0};
  D[2] = (fake_t){.data = Y, .type = PS_F64, .rows = NROWS, .cols = 0};
  off_thread_violations = bad_ranges = other_rank_blocks = 0;
}

static ps_pipe_t *open_pipe(int agree_stop) {
  static const ps_pipe_col_t in[2] = {{.dset = 0, .type = PS_F32, .cols = COLS}, {.dset = 1, .type = PS_I64}};
  static const ps_pipe_col_t out[1] = {{.dset = 2, .type = PS_F64}};
  ps_pipe_spec_t spec = {.what = "test", .row0 = 0, .n = NROWS, .block_rows = BLOCK, .nin = 2, .nout = 1,
                         .in = in, .out = out, .agree_stop = agree_stop};
  return pipe_open(&spec);
}

static int count(const int *v, int64_t from, int64_t to, int want) { /* rows in [from, to) seen `want` times */
  int ok = 1;
  pthread_mutex_lock(&mu);
  for (int64_t r = from; r < to && r < NROWS; r++) ok &= v[r] == want;
  pthread_mutex_unlock(&mu);
  return ok;
}

/* Wait (up to 10 s) until the thread has read the rows [from, to) once more than `before`. */
static int read_ahead(int64_t from, int64_t to, const int *before) {
  for (int i = 0; i < 10000; i++) {
    int done = 1;
    pthread_mutex_lock(&mu);
    for (int64_t r = from; r < to && r < NROWS; r++) done &= D[0].reads[r] == before[r] + 1;
    pthread_mutex_unlock(&mu);
    if (done) return 1;
    nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
  }
  return 0;
}

/* One pass from first_block; returns the blocks computed. fail_at: the
 * block at which the caller reports a problem (and again one later), -1:
 * none. ahead: check that the next block is read while one is computed
 * (not in a pass that ends early: the blocks after its end are not read). */
static int64_t run(ps_pipe_t *p, int64_t first_block, int64_t fail_at, int ahead) {
  ps_block_t b;
  int64_t expect = first_block, got = 0, nb = pipe_blocks(p);
  int before[NROWS], reads[NROWS];
  memcpy(before, D[2].writes, sizeof before);
  memcpy(reads, D[0].reads, sizeof reads);
  pipe_start(p, first_block);
  while (pipe_next(p, &b)) {
    assert_int_equal(b.index, expect++);
    int64_t first = b.index * BLOCK < NROWS ? b.index * BLOCK : NROWS;
    assert_int_equal(b.first, first);
    assert_int_equal(b.rows, NROWS - first < BLOCK ? NROWS - first : BLOCK);
    const float *x = b.in[0];
    const int64_t *w = b.in[1];
    for (int64_t r = 0; r < b.rows; r++) {
      for (int c = 0; c < COLS; c++) assert_true(x[r * COLS + c] == (float)(10 * (first + r) + c));
      assert_int_equal(w[r], 1000 + first + r);
      ((double *)b.out[0])[r] = 0.5 * (double)(first + r);
    }
    pthread_mutex_lock(&mu);
    int unwritten = !memcmp(D[2].writes + first, before + first, sizeof(int) * (size_t)b.rows);
    pthread_mutex_unlock(&mu);
    assert_true(unwritten); /* not written before the next block is asked for */
    if (ahead && b.index + 1 < nb && b.index + 1 < (NROWS + BLOCK - 1) / BLOCK)
      assert_true(read_ahead(first + BLOCK, first + 2 * BLOCK, reads)); /* read meanwhile */
    if (b.index == fail_at) pipe_fail(p, b.first + 1, "row %lld: planted problem", (long long)(b.first + 1));
    if (fail_at >= 0 && b.index == fail_at + 1) pipe_fail(p, b.first, "a later problem (not kept)");
    got++;
  }
  assert_int_equal(off_thread_violations, 0);
  assert_int_equal(bad_ranges, 0);
  return got;
}

static int written(int64_t from, int64_t to) {
  for (int64_t r = from; r < to && r < NROWS; r++)
    if (Y[r] != 0.5 * (double)r) return 0;
  return 1;
}

static void every_row_once_in_order(void **state) {
  reset();
  ps_pipe_t *p = open_pipe(0);
  assert_int_equal(pipe_blocks(p), 8);
  assert_int_equal(run(p, 0, -1, 1), 8);
  assert_int_equal(pipe_status(p, NULL, NULL), PS_PIPE_DONE);
  assert_true(count(D[0].reads, 0, NROWS, 1) && count(D[1].reads, 0, NROWS, 1));
  assert_true(count(D[2].writes, 0, NROWS, 1) && written(0, NROWS));
  pipe_close(p);
}

static void empty_blocks_where_another_rank_has_more(void **state) {
  reset();
  other_rank_blocks = 11;
  ps_pipe_t *p = open_pipe(0);
  assert_int_equal(pipe_blocks(p), 11);
  assert_int_equal(run(p, 0, -1, 1), 11);
  /* every block is one (collective) transfer per dataset, empty or not */
  assert_int_equal(D[0].calls, 11);
  assert_int_equal(D[1].calls, 11);
  assert_int_equal(D[2].calls, 11);
  assert_true(count(D[0].reads, 0, NROWS, 1) && count(D[2].writes, 0, NROWS, 1) && written(0, NROWS));
  pipe_close(p);
}

static void a_second_pass_and_a_resumed_one(void **state) {
  reset();
  ps_pipe_t *p = open_pipe(0);
  assert_int_equal(run(p, 0, -1, 1), 8);
  assert_int_equal(run(p, 0, -1, 1), 8);
  assert_true(count(D[0].reads, 0, NROWS, 2) && count(D[2].writes, 0, NROWS, 2));
  assert_int_equal(run(p, 3, -1, 1), 5); /* a stopped run resumed at block 3 */
  assert_true(count(D[0].reads, 0, 3 * BLOCK, 2) && count(D[0].reads, 3 * BLOCK, NROWS, 3));
  assert_int_equal(pipe_status(p, NULL, NULL), PS_PIPE_DONE);
  pipe_close(p);
}

static void a_problem_mid_stream_ends_the_pass(void **state) {
  reset();
  ps_pipe_t *p = open_pipe(0);
  int64_t got = run(p, 0, 2, 0);
  const char *msg = NULL;
  assert_int_equal(pipe_status(p, NULL, &msg), PS_PIPE_FAILED);
  assert_string_equal(msg, "row 11: planted problem"); /* the first problem, not the later one */
  assert_true(got > 2 && got < 8);                         /* ended early */
  assert_true(written(0, got * BLOCK) && count(D[2].writes, 0, got * BLOCK, 1)); /* blocks given are written */
  assert_true(count(D[2].writes, got * BLOCK, NROWS, 0));
  /* the next pass starts clean */
  assert_int_equal(run(p, 0, -1, 1), 8);
  assert_int_equal(pipe_status(p, NULL, NULL), PS_PIPE_DONE);
  /* a problem in the last block: found when the pass ends */
  assert_int_equal(run(p, 0, 7, 1), 8);
  assert_int_equal(pipe_status(p, NULL, &msg), PS_PIPE_FAILED);
  assert_string_equal(msg, "row 36: planted problem");
  pipe_close(p);
}

/* Last: the stop flag stays raised for the rest of the process. */
static void a_stop_signal_ends_the_pass_only_if_asked(void **state) {
  reset();
  ps_signals_install();
  setenv("PROPSCORE_FAULT_STOP", "block:3", 1); /* SIGTERM at the thread's 3rd block boundary */
  ps_pipe_t *p = open_pipe(1);
  int64_t got = run(p, 0, -1, 0), stop = -1;
  unsetenv("PROPSCORE_FAULT_STOP");
  assert_int_equal(pipe_status(p, &stop, NULL), PS_PIPE_STOPPED);
  assert_true(stop > 0 && stop < 8);
  assert_int_equal(got, stop);
  assert_true(written(0, stop * BLOCK) && count(D[2].writes, 0, stop * BLOCK, 1)); /* every block before it */
  assert_true(count(D[2].writes, stop * BLOCK, NROWS, 0));
  pipe_close(p);
  reset();
  p = open_pipe(0); /* not asked to agree on stops: runs through */
  assert_int_equal(run(p, 0, -1, 1), 8);
  assert_int_equal(pipe_status(p, NULL, NULL), PS_PIPE_DONE);
  pipe_close(p);
}

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  main_thread = pthread_self();
  const struct CMUnitTest tests[] = {cmocka_unit_test(every_row_once_in_order),
                                     cmocka_unit_test(empty_blocks_where_another_rank_has_more),
                                     cmocka_unit_test(a_second_pass_and_a_resumed_one),
                                     cmocka_unit_test(a_problem_mid_stream_ends_the_pass),
                                     cmocka_unit_test(a_stop_signal_ends_the_pass_only_if_asked)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
