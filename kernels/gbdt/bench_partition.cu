/* bench_partition.cu: the row lists of a tree (partition.cu): the bagged
 * rows (a random half kept) and the stable partition of every row by a
 * split on the middle feature at bin 128, missing left; each on the first
 * M rows bitwise against partition_cpu.c (the rows, in order, and the left
 * count), then timed over N. GB/s: bag and rows read, rows written;
 * partition: a bin and a row read, a row written and copied back. */
#include <vector>

#include "gbdt/bench_trees.h"

namespace {

/* bag_rows over n rows of the bag into rows; the count (synchronizes) */
int64_t bag(const uint8_t *dbag, int64_t n, int64_t *rows, int64_t *tmp, void *work) {
  return ps_gbdt_bag_rows_cuda(dbag, n, rows, tmp, work, 0);
}

} // namespace

long ps_bench_partition(const ps_bench_args_t *a) {
  ps_bench_trees_t t;
  ps_bench_trees_init(a, &t);
  const int F = a->features;
  const int64_t N = a->rows, M = a->check_rows;
  const int32_t fj = F / 2, fb = 128, dl = 1;
  std::vector<uint8_t> hbag((size_t)N);
  for (int64_t i = 0; i < N; i++) hbag[i] = (uint8_t)(((uint64_t)i * 0x9E3779B97F4A7C15ull) >> 63);
  uint8_t *dbag = ps_bench_upload(hbag);
  int64_t *rows = ps_bench_alloc<int64_t>((size_t)N), *tmp = ps_bench_alloc<int64_t>((size_t)N);
  void *work = ps_bench_alloc<char>(ps_gbdt_partition_work(N));
  /* bag rows */
  std::vector<int64_t> want((size_t)M), scratch((size_t)M);
  int64_t nw = ps_gbdt_bag_rows_cpu(hbag.data(), M, want.data());
  want.resize((size_t)nw);
  long w = (bag(dbag, M, rows, tmp, work) != nw) + ps_bench_diff(ps_bench_fetch(rows, (size_t)nw), want);
  double ms = ps_bench_time_ms(a->reps, [&] { bag(dbag, N, rows, tmp, work); });
  long wrong = ps_bench_row("bag_rows", "half the rows", N, ms, (double)N * 9, w);
  /* partition of all rows 0..M-1, then 0..N-1 */
  want.resize((size_t)M);
  for (int64_t i = 0; i < M; i++) want[i] = i;
  int64_t nl = ps_gbdt_partition_cpu(t.hb.data(), F, want.data(), M, fj, fb, dl, scratch.data());
  bag(NULL, M, rows, tmp, work);
  w = (ps_gbdt_partition_cuda(t.B, F, rows, M, fj, fb, dl, tmp, work, 0) != nl) +
      ps_bench_diff(ps_bench_fetch(rows, (size_t)M), want);
  bag(NULL, N, rows, tmp, work); /* partitioned again each run: a stable partition's work is the same */
  ms = ps_bench_time_ms(a->reps, [&] { ps_gbdt_partition_cuda(t.B, F, rows, N, fj, fb, dl, tmp, work, 0); });
  wrong += ps_bench_row("partition", "feature F/2, bin 128", N, ms, (double)N * 33, w);
  for (void *p : {(void *)dbag, (void *)rows, (void *)tmp, work}) CUDA_CHECK(cudaFree(p));
  ps_bench_trees_free(&t);
  return wrong;
}
