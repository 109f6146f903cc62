/* bench_assign.cu: the k-means assignment (assign.cu) at k = 8 and 64
 * centers over the bench's rows: the row norms, then the nearest center
 * (cuBLAS SGEMM G = X C^T, then the argmin kernel). Validated on the first
 * M rows bitwise against assign_cpu.c as test_kmeans_kernels.c does: the
 * norms against km_norms_cpu, the labels and distances against
 * km_argmin_cpu given the device's own G; then timed over N. GB/s: X read,
 * G written and read, norms, labels and distances. */
#include <stdio.h>

#include <vector>

#include "common/bench_common.h"
#include "core/rng.h"
extern "C" {
#include "kmeans/kmeans_cpu.h"
}
#include "kmeans/kmeans_kernels.h"

namespace {

long centers(const ps_bench_args_t *a, int k, const double *dxn, const std::vector<double> &xn, void *blas) {
  const int F = a->features;
  const int64_t N = a->rows, M = a->check_rows;
  std::vector<float> C((size_t)k * F);
  std::vector<double> cn(k);
  for (size_t e = 0; e < C.size(); e++) C[e] = (float)ps_rng_normal(13, 1, e, 0);
  for (int j = 0; j < k; j++) cn[j] = km_norm2(C.data() + (size_t)j * F, F);
  float *dC = ps_bench_upload(C), *G = ps_bench_alloc<float>((size_t)(N * k));
  double *dcn = ps_bench_upload(cn), *d2 = ps_bench_alloc<double>((size_t)N);
  int32_t *lab = ps_bench_alloc<int32_t>((size_t)N);
  km_assign_cuda(blas, a->X, dxn, M, F, dC, dcn, k, G, lab, d2, 0);
  std::vector<float> hG = ps_bench_fetch(G, (size_t)(M * k));
  std::vector<int32_t> want_lab((size_t)M);
  std::vector<double> want_d2((size_t)M);
  km_argmin_cpu(xn.data(), M, hG.data(), cn.data(), k, want_lab.data(), want_d2.data());
  long wrong =
      ps_bench_diff(ps_bench_fetch(lab, (size_t)M), want_lab) + ps_bench_diff(ps_bench_fetch(d2, (size_t)M), want_d2);
  double ms = ps_bench_time_ms(a->reps, [&] { km_assign_cuda(blas, a->X, dxn, N, F, dC, dcn, k, G, lab, d2, 0); });
  char name[32];
  snprintf(name, sizeof name, "k=%d SGEMM+argmin", k);
  wrong = ps_bench_row("assign", name, N, ms, (double)N * F * 4 + (double)N * k * 8 + (double)N * 20, wrong);
  for (void *p : {(void *)dC, (void *)G, (void *)dcn, (void *)d2, (void *)lab}) CUDA_CHECK(cudaFree(p));
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
  cublasHandle_t blas;
  CUBLAS_CHECK(cublasCreate(&blas));
  km_norms_cuda(a->X, N, F, dxn, 0);
  wrong += centers(a, 8, dxn, xn, blas) + centers(a, 64, dxn, xn, blas);
  CUBLAS_CHECK(cublasDestroy(blas));
  CUDA_CHECK(cudaFree(dxn));
  return wrong;
}
