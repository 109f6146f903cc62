/* bench_trees.cu: the tree benches' shared data (bench_trees.h). */
#include "common/launch.h"
#include "core/rng.h"
#include "gbdt/bench_trees.h"

namespace {

__global__ void grad_kernel(int64_t *gq, int64_t *hq, int64_t n) {
  int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  double u = ps_rng_unif(11, 1, (uint64_t)i, 0);
  gq[i] = (int64_t)((u - 0.3) * PS_BENCH_TREES_SCALE);
  hq[i] = (int64_t)(u * (1 - u) * PS_BENCH_TREES_SCALE);
}

} // namespace

void ps_bench_trees_init(const ps_bench_args_t *a, ps_bench_trees_t *t) {
  const int F = a->features, nc = PS_GBDT_MAX_BIN - 1;
  const int64_t N = a->rows, M = a->check_rows;
  t->nc = nc;
  t->cut_off.assign(F + 1, 0);
  t->bin_off.assign(F + 1, 0);
  t->cuts.resize((size_t)F * nc);
  for (int j = 0; j <= F; j++) t->cut_off[j] = (int64_t)j * nc, t->bin_off[j] = (int64_t)j * (nc + 2);
  for (int j = 0; j < F; j++)
    for (int q = 0; q < nc; q++) t->cuts[(size_t)j * nc + q] = (float)(-3.0 + 6.0 * q / (nc - 1));
  t->dcuts = ps_bench_upload(t->cuts);
  t->dcut_off = ps_bench_upload(t->cut_off);
  t->dbin_off = ps_bench_upload(t->bin_off);
  t->B = ps_bench_alloc<uint8_t>((size_t)(N * F));
  ps_gbdt_bin_cuda(a->X, N, F, t->dcuts, t->dcut_off, t->B, 0);
  t->hb.resize((size_t)(M * F));
  ps_gbdt_bin_cpu(a->hx, M, F, t->cuts.data(), t->cut_off.data(), t->hb.data());
  t->gq = ps_bench_alloc<int64_t>((size_t)N);
  t->hq = ps_bench_alloc<int64_t>((size_t)N);
  PS_LAUNCH(ps_grid_1d((uint64_t)N, 256), 256, 0, 0, grad_kernel)(t->gq, t->hq, N);
  CUDA_CHECK(cudaGetLastError());
  t->hg = ps_bench_fetch(t->gq, (size_t)M);
  t->hh = ps_bench_fetch(t->hq, (size_t)M);
}

void ps_bench_trees_free(ps_bench_trees_t *t) {
  for (void *p : {(void *)t->dcuts, (void *)t->dcut_off, (void *)t->dbin_off, (void *)t->B, (void *)t->gq,
                  (void *)t->hq})
    CUDA_CHECK(cudaFree(p));
}
