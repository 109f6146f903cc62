/* bench_assign.cu: the k-means Lloyd pass (assign.cu) at k = 8, 26 and 64
 * centers over the bench's rows: the row norms, then the fused pass
 * (nearest center + fixed-point update, no labels stored). Validated on
 * the first M rows bitwise as test_kmeans_kernels.c does: the norms against
 * km_norms_cpu, labels and distances against km_assign_panels_ref, the sums
 * against km_update_cpu; then timed over N. GB/s: X and norms read. */
#include <stdio.h>

#include <vector>

#include "common/bench_common.h"
#include "core/rng.h"
extern "C" {
#include "kmeans/kmeans_cpu.h"
}
#include "kmeans/kmeans_kernels.h"

namespace {

long centers(const ps_bench_args_t *a, int k, const double *dxn, const std::vector<double> &xn) {
  const int F = a->features;
  const int64_t N = a->rows, M = a->check_rows;
  const size_t na = (size_t)k * F + k + 1; /* sums [k][F], counts [k], inertia */
  std::vector<float> C((size_t)k * F);
  std::vector<double> cn(k);
  for (size_t e = 0; e < C.size(); e++) C[e] = (float)ps_rng_normal(13, 1, e, 0);
  for (int j = 0; j < k; j++) cn[j] = km_norm2(C.data() + (size_t)j * F, F);
  float *dC = ps_bench_upload(C);
  double *dcn = ps_bench_upload(cn), *d2 = ps_bench_alloc<double>((size_t)N);
  int32_t *lab = ps_bench_alloc<int32_t>((size_t)N);
  int64_t *acc = ps_bench_alloc<int64_t>(na), *work = ps_bench_alloc<int64_t>((size_t)km_lloyd_work(N, F, k) + 1);
  auto run = [&](int64_t n, int store) {
    CUDA_CHECK(cudaMemsetAsync(acc, 0, sizeof(int64_t) * na));
    km_lloyd_cuda(a->X, dxn, n, F, dC, dcn, k, lab, d2, store, acc, work, 0);
  };
  run(M, 1);
  std::vector<float> P((size_t)km_panel_floats(M, F)); /* the reference needs no alignment */
  km_pack_panels(a->hx, M, F, P.data());
  std::vector<int32_t> want_lab((size_t)M);
  std::vector<double> want_d2((size_t)M);
  std::vector<int64_t> want(na, 0);
  km_assign_panels_ref(P.data(), xn.data(), M, F, C.data(), cn.data(), k, want_lab.data(), want_d2.data());
  km_update_cpu(a->hx, M, F, want_lab.data(), want_d2.data(), k, want.data(), want.data() + (size_t)k * F,
                want.data() + na - 1);
  long wrong = ps_bench_diff(ps_bench_fetch(lab, (size_t)M), want_lab) +
               ps_bench_diff(ps_bench_fetch(d2, (size_t)M), want_d2) + ps_bench_diff(ps_bench_fetch(acc, na), want);
  double ms = ps_bench_time_ms(a->reps, [&] { run(N, 0); });
  char name[40];
  snprintf(name, sizeof name, "k=%d fused lloyd pass", k);
  wrong = ps_bench_row("assign", name, N, ms, (double)N * F * 4 + (double)N * 8, wrong);
  for (void *p : {(void *)dC, (void *)dcn, (void *)d2, (void *)lab, (void *)acc, (void *)work}) CUDA_CHECK(cudaFree(p));
  return wrong;
}

} // namespace

long ps_bench_assign(const ps_bench_args_t *a) {
  const int F = a->features;
  const int64_t N = a->rows, M = a->check_rows;
  double *dxn = ps_bench_alloc<double>((size_t)N);
  std::vector<double> xn((size_t)M);
  km_norms_cpu(a->hx, M, F, xn.data());
  km_norms_cuda(a->X, M, F, dxn, 0);
  long wrong = ps_bench_diff(ps_bench_fetch(dxn, (size_t)M), xn);
  double ms = ps_bench_time_ms(a->reps, [&] { km_norms_cuda(a->X, N, F, dxn, 0); });
  wrong = ps_bench_row("assign", "row norms", N, ms, (double)N * F * 4 + (double)N * 8, wrong);
  km_norms_cuda(a->X, N, F, dxn, 0);
  wrong += centers(a, 8, dxn, xn) + centers(a, 26, dxn, xn) + centers(a, 64, dxn, xn);
  CUDA_CHECK(cudaFree(dxn));
  return wrong;
}
