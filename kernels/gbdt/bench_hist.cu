/* bench_hist.cu: histograms (hist.cu) of the binned rows, 255 value bins a
 * feature: the root (every row) and a leaf of every other row (the rows
 * read through their list), each on the first M rows bitwise against
 * hist_cpu.c, then timed over N. GB/s: the bins and gradients read. */
#include <vector>

#include "gbdt/bench_trees.h"

long ps_bench_hist(const ps_bench_args_t *a) {
  ps_bench_trees_t t;
  ps_bench_trees_init(a, &t);
  const int F = a->features;
  const int64_t N = a->rows, M = a->check_rows, hl = t.bin_off[F] * PS_HIST_W;
  ps_gbdt_hist_plan_t *plan = ps_gbdt_hist_plan_create(t.bin_off.data(), F, 0, 0);
  int64_t *hist = ps_bench_alloc<int64_t>((size_t)hl);
  std::vector<int64_t> half((N + 1) / 2), hrows((M + 1) / 2);
  for (size_t r = 0; r < half.size(); r++) half[r] = 2 * (int64_t)r;
  for (size_t r = 0; r < hrows.size(); r++) hrows[r] = 2 * (int64_t)r;
  int64_t *drows = ps_bench_upload(half);
  long wrong = 0;
  for (int leaf = 0; leaf <= 1; leaf++) {
    const int64_t *rows = leaf ? drows : NULL;
    std::vector<int64_t> want((size_t)hl, 0), all;
    if (!leaf)
      for (int64_t i = 0; i < M; i++) all.push_back(i);
    const std::vector<int64_t> &list = leaf ? hrows : all;
    ps_gbdt_hist_cpu(t.hb.data(), F, t.bin_off.data(), list.data(), (int64_t)list.size(), t.hg.data(), t.hh.data(),
                     want.data());
    CUDA_CHECK(cudaMemset(hist, 0, sizeof(int64_t) * hl));
    ps_gbdt_hist_cuda(plan, t.B, rows, (int64_t)list.size(), t.gq, t.hq, hist, 0);
    long w = ps_bench_diff(ps_bench_fetch(hist, (size_t)hl), want);
    const int64_t m = leaf ? (int64_t)half.size() : N;
    double ms = ps_bench_time_ms(a->reps, [&] {
      CUDA_CHECK(cudaMemsetAsync(hist, 0, sizeof(int64_t) * hl));
      ps_gbdt_hist_cuda(plan, t.B, rows, m, t.gq, t.hq, hist, 0);
    });
    wrong += ps_bench_row("hist", leaf ? "every other row" : "root", m, ms, (double)m * (F + 16 + (leaf ? 8 : 0)), w);
  }
  ps_gbdt_hist_plan_destroy(plan);
  CUDA_CHECK(cudaFree(hist));
  CUDA_CHECK(cudaFree(drows));
  ps_bench_trees_free(&t);
  return wrong;
}
