/* bench_split.cu: the split search (split.cu) on the root's histogram of
 * the first M rows: the best split bitwise against split_cpu.c (feature,
 * bin, default side, left sums, gain bits), then timed. Size: histogram
 * bins; GB/s: the histogram read. */
#include <string.h>

#include <vector>

#include "gbdt/bench_trees.h"

long ps_bench_split(const ps_bench_args_t *a) {
  ps_bench_trees_t t;
  ps_bench_trees_init(a, &t);
  const int F = a->features;
  const int64_t M = a->check_rows, bins = t.bin_off[F], hl = bins * PS_HIST_W;
  std::vector<int64_t> all(M), h((size_t)hl, 0);
  for (int64_t i = 0; i < M; i++) all[i] = i;
  ps_gbdt_hist_cpu(t.hb.data(), F, t.bin_off.data(), all.data(), M, t.hg.data(), t.hh.data(), h.data());
  int64_t G = 0, H = 0, n = 0; /* the leaf's sums: feature 0's bins hold every row */
  for (int64_t q = t.bin_off[0]; q < t.bin_off[1]; q++) G += h[3 * q], H += h[3 * q + 1], n += h[3 * q + 2];
  ps_split_params_t p;
  p.l2 = 1.0, p.min_data = 20, p.min_hess = 1e-3, p.min_gain = 0.0, p.scale = PS_BENCH_TREES_SCALE;
  ps_split_t want, got;
  ps_gbdt_split_cpu(h.data(), F, t.bin_off.data(), NULL, G, H, n, &p, &want);
  int64_t *dh = ps_bench_upload(h);
  char *work = ps_bench_alloc<char>(ps_gbdt_split_work(F));
  ps_split_t *best = ps_bench_alloc<ps_split_t>(1);
  ps_gbdt_split_cuda(dh, F, t.dbin_off, NULL, G, H, n, p, work, best, 0);
  got = ps_bench_fetch(best, 1)[0];
  long wrong = !(want.feature == got.feature && want.bin == got.bin && want.default_left == got.default_left &&
                 want.lg == got.lg && want.lh == got.lh && want.ln == got.ln &&
                 !memcmp(&want.gain, &got.gain, sizeof(double)));
  double ms =
      ps_bench_time_ms(a->reps, [&] { ps_gbdt_split_cuda(dh, F, t.dbin_off, NULL, G, H, n, p, work, best, 0); });
  wrong = ps_bench_row("split", "root, 255 bins", bins, ms, (double)hl * 8, wrong);
  for (void *q : {(void *)dh, (void *)work, (void *)best}) CUDA_CHECK(cudaFree(q));
  ps_bench_trees_free(&t);
  return wrong;
}
