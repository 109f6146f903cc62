/* bench_hist_q.cu: the quantized histogram (hist_q.cu) of the binned rows,
 * 255 value bins a feature, 8-bit (Q = 127) and 4-bit (Q = 7) packed
 * gradients: the root (every row) and a leaf of every other row (read
 * through their list), each on the first M rows bitwise against
 * hist_q_cpu.c, then timed over N. GB/s: the bins, packed gradients (and
 * row list) read. */
#include <vector>

#include "common/launch.h"
#include "core/rng.h"
#include "gbdt/bench_trees.h"
#include "gbdt/gbdt_math.h"
#include "gbdt/hist_q.h"

namespace {

__global__ void pack_kernel(int32_t *gh, int64_t n, int32_t qmax) {
  int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  int32_t g = (int32_t)(ps_rng_unif(12, 1, (uint64_t)i, 0) * (2 * qmax + 1)) - qmax;
  int32_t h = (int32_t)(ps_rng_unif(12, 2, (uint64_t)i, 0) * (qmax + 1));
  gh[i] = PS_GBDT_QPACK(g, h);
}

} // namespace

long ps_bench_hist_q(const ps_bench_args_t *a) {
  ps_bench_trees_t t;
  ps_bench_trees_init(a, &t);
  const int F = a->features;
  const int64_t N = a->rows, M = a->check_rows, hl = t.bin_off[F] * 2;
  ps_gbdt_hist_q_plan_t *plan = ps_gbdt_hist_q_plan_create(t.bin_off.data(), F, 0, 0);
  int64_t *hist = ps_bench_alloc<int64_t>((size_t)hl);
  int32_t *gh = ps_bench_alloc<int32_t>((size_t)N);
  std::vector<int64_t> half((N + 1) / 2), hrows((M + 1) / 2), all((size_t)M);
  for (size_t r = 0; r < half.size(); r++) half[r] = 2 * (int64_t)r;
  for (size_t r = 0; r < hrows.size(); r++) hrows[r] = 2 * (int64_t)r;
  for (int64_t i = 0; i < M; i++) all[(size_t)i] = i;
  int64_t *drows = ps_bench_upload(half);
  std::vector<uint64_t> work((size_t)t.bin_off[F] + 1);
  long wrong = 0;
  for (int32_t qmax : {127, 7}) {
    PS_LAUNCH(ps_grid_1d((uint64_t)N, 256), 256, 0, 0, pack_kernel)(gh, N, qmax);
    CUDA_CHECK(cudaGetLastError());
    std::vector<int32_t> hgh = ps_bench_fetch(gh, (size_t)M);
    for (int leaf = 0; leaf <= 1; leaf++) {
      const int64_t *rows = leaf ? drows : NULL;
      const std::vector<int64_t> &list = leaf ? hrows : all;
      const int64_t ml = (int64_t)list.size();
      std::vector<int64_t> want((size_t)hl, 0);
      ps_gbdt_hist_q_cpu(t.hb.data(), F, t.bin_off.data(), t.bin_off[F], list.data(), ml, hgh.data(),
                         ps_gbdt_hist_q_width(ml, qmax), work.data(), want.data());
      ps_gbdt_hist_q_cuda(plan, t.B, rows, ml, gh, qmax, hist, 0);
      long w = ps_bench_diff(ps_bench_fetch(hist, (size_t)hl), want);
      const int64_t m = leaf ? (int64_t)half.size() : N;
      double ms = ps_bench_time_ms(a->reps, [&] { ps_gbdt_hist_q_cuda(plan, t.B, rows, m, gh, qmax, hist, 0); });
      const char *name = qmax == 127 ? (leaf ? "8-bit, every other row" : "8-bit, root")
                                     : (leaf ? "4-bit, every other row" : "4-bit, root");
      wrong += ps_bench_row("hist_q", name, m, ms, (double)m * (F + 4 + (leaf ? 8 : 0)), w);
    }
  }
  ps_gbdt_hist_q_plan_destroy(plan);
  CUDA_CHECK(cudaFree(hist));
  CUDA_CHECK(cudaFree(gh));
  CUDA_CHECK(cudaFree(drows));
  ps_bench_trees_free(&t);
  return wrong;
}
