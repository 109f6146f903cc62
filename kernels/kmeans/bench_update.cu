/* bench_update.cu: the k-means update (update.cu) at k = 8 and 64: each
 * row added to its cluster's fixed-point sums, counts and the inertia
 * (labels and distances drawn at random). The first M rows' integer sums
 * bitwise against km_update_cpu (as test_kmeans_kernels.c), then timed over
 * N. GB/s: X, labels and distances read. */
#include <stdio.h>
#include <string.h>

#include <vector>

#include "common/bench_common.h"
#include "common/launch.h"
#include "core/rng.h"
extern "C" {
#include "kmeans/kmeans_cpu.h"
}
#include "kmeans/kmeans_kernels.h"

namespace {

__global__ void labels_kernel(int32_t *label, double *d2, int64_t n, int k) {
  int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  label[i] = (int32_t)(ps_rng_unif(17, 1, (uint64_t)i, 0) * k);
  d2[i] = 100.0 * ps_rng_unif(17, 2, (uint64_t)i, 0);
}

long clusters(const ps_bench_args_t *a, int k) {
  const int F = a->features;
  const int64_t N = a->rows, M = a->check_rows;
  const size_t na = (size_t)k * F + k + 1; /* sums [k][F], counts [k], inertia */
  int32_t *lab = ps_bench_alloc<int32_t>((size_t)N);
  double *d2 = ps_bench_alloc<double>((size_t)N);
  int64_t *acc = ps_bench_alloc<int64_t>(na);
  PS_LAUNCH(ps_grid_1d((uint64_t)N, 256), 256, 0, 0, labels_kernel)(lab, d2, N, k);
  CUDA_CHECK(cudaGetLastError());
  std::vector<int32_t> hl = ps_bench_fetch(lab, (size_t)M);
  std::vector<double> hd = ps_bench_fetch(d2, (size_t)M);
  std::vector<int64_t> want(na, 0);
  km_update_cpu(a->hx, M, F, hl.data(), hd.data(), k, want.data(), want.data() + (size_t)k * F, want.data() + na - 1);
  auto run = [&](int64_t n) {
    CUDA_CHECK(cudaMemsetAsync(acc, 0, sizeof(int64_t) * na));
    km_update_cuda(a->X, n, F, lab, d2, k, acc, acc + (size_t)k * F, acc + na - 1, 0);
  };
  run(M);
  long wrong = ps_bench_diff(ps_bench_fetch(acc, na), want);
  char name[32];
  snprintf(name, sizeof name, "k=%d", k);
  double ms = ps_bench_time_ms(a->reps, [&] { run(N); });
  wrong = ps_bench_row("update", name, N, ms, (double)N * F * 4 + (double)N * 12, wrong);
  for (void *p : {(void *)lab, (void *)d2, (void *)acc}) CUDA_CHECK(cudaFree(p));
  return wrong;
}

} // namespace

long ps_bench_update(const ps_bench_args_t *a) { return clusters(a, 8) + clusters(a, 64); }
