/* bench_bin.cu: binning (bin.cu) of the bench's raw rows, 255 value bins a
 * feature: the first M rows bitwise against bin_cpu.c, then timed over N.
 * GB/s: a float read and a byte written a value. */
#include "gbdt/bench_trees.h"

long ps_bench_bin(const ps_bench_args_t *a) {
  ps_bench_trees_t t;
  ps_bench_trees_init(a, &t); /* bins all N rows by the kernel: the first M are compared */
  const int F = a->features;
  const int64_t N = a->rows, M = a->check_rows;
  long wrong = ps_bench_diff(ps_bench_fetch(t.B, (size_t)(M * F)), t.hb);
  double ms = ps_bench_time_ms(a->reps, [&] { ps_gbdt_bin_cuda(a->X, N, F, t.dcuts, t.dcut_off, t.B, 0); });
  wrong = ps_bench_row("bin", "255 bins", N, ms, (double)N * F * 5, wrong);
  ps_bench_trees_free(&t);
  return wrong;
}
