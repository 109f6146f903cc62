/* bench_score.cu: scoring (score.cu) at K = 2 and 16 heads over the bench's
 * float32 rows: raw rows through an identity transform (the whole
 * standardize path runs) and the same rows as standardized ones; each
 * validated on the first M rows against score_cpu.c within the kernel
 * test's 1e-6 (test_logreg_kernels.c), then timed over N. The reference
 * v1 -- cuBLAS SGEMM, then a sigmoid kernel: what sigmoid(X @ W) costs --
 * is printed too, not counted. GB/s: X read once, K probabilities written. */
#include <math.h>
#include <stdio.h>

#include <vector>

#include "common/bench_common.h"
#include "common/launch.h"
#include "common/psmath.h"
#include "core/rng.h"
#include "logreg/logreg_cpu.h"
#include "logreg/logreg_kernels.h"

namespace {

__global__ void sigmoid_kernel(const float *Z, int64_t n, int k, const double *theta, int c, float *P) {
  int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= n * k) return;
  int64_t i = e / k;
  int h = (int)(e % k);
  P[(size_t)h * n + i] = (float)ps_sigmoid((double)Z[e] + theta[(size_t)h * (c + 1) + c]);
}
__global__ void weights_kernel(const double *theta, int c, int k, float *Wf) {
  int e = blockIdx.x * blockDim.x + threadIdx.x;
  if (e < c * k) Wf[e] = (float)theta[(size_t)(e / c) * (c + 1) + e % c];
}

/* probabilities of the first M rows (head-major [K][M]) off the twin's by more than 1e-6 */
long off(const float *P, const std::vector<float> &want) {
  std::vector<float> got = ps_bench_fetch(P, want.size());
  long wrong = 0;
  for (size_t i = 0; i < got.size(); i++) wrong += !(fabsf(got[i] - want[i]) <= 1e-6f);
  return wrong;
}

long heads(const ps_bench_args_t *a, int K, void *blas) {
  const int F = a->features;
  const int64_t N = a->rows, M = a->check_rows;
  std::vector<double> theta((size_t)K * (F + 1));
  for (size_t i = 0; i < theta.size(); i++) theta[i] = 0.05 * ps_rng_normal(5, 5, i, 0);
  std::vector<int64_t> src(F);
  std::vector<uint8_t> kind(F, PS_COL_VALUE);
  std::vector<double> mean(F, 0.0), scale(F, 1.0);
  for (int j = 0; j < F; j++) src[j] = j;
  double *dth = ps_bench_upload(theta), *dmean = ps_bench_upload(mean), *dscale = ps_bench_upload(scale);
  int64_t *dsrc = ps_bench_upload(src);
  uint8_t *dkind = ps_bench_upload(kind);
  float *P = ps_bench_alloc<float>((size_t)(N * K)), *Z = ps_bench_alloc<float>((size_t)(N * K));
  float *Wf = ps_bench_alloc<float>((size_t)F * K);
  PS_LAUNCH(ps_grid_1d((uint64_t)F * K, 256), 256, 0, 0, weights_kernel)(dth, F, K, Wf);
  CUDA_CHECK(cudaGetLastError());
  const double bytes = (double)N * F * 4 + (double)N * K * 4;
  char name[64];
  long wrong = 0;
  std::vector<float> raw((size_t)(M * K)), std((size_t)(M * K));
  ps_score_raw_cpu(a->hx, M, F, F, K, src.data(), kind.data(), mean.data(), scale.data(), theta.data(), raw.data());
  ps_score_std_cpu(a->hx, M, F, K, theta.data(), std.data());
  auto v1 = [&](int64_t n) { /* Z^T (K x n) = Wf^T (K x F) * X^T (F x n) */
    const float one = 1.f, zero = 0.f;
    CUBLAS_CHECK(cublasSgemm((cublasHandle_t)blas, CUBLAS_OP_T, CUBLAS_OP_N, K, (int)n, F, &one, Wf, F, a->X, F,
                             &zero, Z, K));
    PS_LAUNCH(ps_grid_1d((uint64_t)(n * K), 256), 256, 0, 0, sigmoid_kernel)(Z, n, K, dth, F, P);
    CUDA_CHECK(cudaGetLastError());
  };
  v1(M);
  long w1 = off(P, raw);
  snprintf(name, sizeof name, "K=%d v1 cuBLAS (ref)", K);
  ps_bench_row("score", name, N, ps_bench_time_ms(a->reps, [&] { v1(N); }), bytes, w1);
  auto raw_run = [&](int64_t n) { ps_score_raw(a->X, n, F, F, K, dsrc, dkind, dmean, dscale, dth, P, 0); };
  raw_run(M);
  snprintf(name, sizeof name, "K=%d raw f32", K);
  wrong += ps_bench_row("score", name, N, ps_bench_time_ms(a->reps, [&] { raw_run(N); }), bytes, off(P, raw));
  ps_score_std(a->X, PS_X_F32, M, F, K, dth, P, 0);
  snprintf(name, sizeof name, "K=%d std f32", K);
  long ws = off(P, std);
  double ms = ps_bench_time_ms(a->reps, [&] { ps_score_std(a->X, PS_X_F32, N, F, K, dth, P, 0); });
  wrong += ps_bench_row("score", name, N, ms, bytes, ws);
  for (void *p : {(void *)dth, (void *)dmean, (void *)dscale, (void *)dsrc, (void *)dkind, (void *)P, (void *)Z,
                  (void *)Wf})
    CUDA_CHECK(cudaFree(p));
  return wrong;
}

} // namespace

long ps_bench_score(const ps_bench_args_t *a) {
  cublasHandle_t blas;
  CUBLAS_CHECK(cublasCreate(&blas));
  long wrong = heads(a, 2, blas) + heads(a, 16, blas);
  CUBLAS_CHECK(cublasDestroy(blas));
  return wrong;
}
