/* bench_grad.cu: loss + gradient (grad.cu) at K = 2 and 16 heads, float32
 * and bfloat16 resident rows, through both paths: v1 cuBLAS (tiles widened
 * to float64, DGEMM; any width) and v2 fused (one read of X, FP64 tensor
 * cores; when a tile fits the device), and at K = 2 Newton's Hessian of a
 * head (DSYRK over tiles). Each validated on the first M rows against
 * grad_cpu.c within the kernel test's 1e-12 of the largest value
 * (test_logreg_kernels.c), then timed over N. GB/s: X and the labels read. */
#include <cuda_bf16.h>
#include <math.h>
#include <stdio.h>

#include <algorithm>
#include <vector>

#include "common/bench_common.h"
#include "common/launch.h"
#include "core/rng.h"
#include "logreg/logreg_cpu.h"
#include "logreg/logreg_kernels.h"

namespace {

__global__ void to_bf16_kernel(const float *X, int64_t n, __nv_bfloat16 *B) {
  int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e < n) B[e] = __float2bfloat16_rn(X[e]);
}
__global__ void labels_kernel(uint8_t *Y, int64_t n) {
  int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e < n) Y[e] = ps_rng_unif(3, 2, (uint64_t)e, 0) < 0.1;
}

/* values further than 1e-12 of the largest |want| from it (NaN: wrong) */
long off(const double *got, const double *want, size_t n) {
  double den = 0;
  for (size_t i = 0; i < n; i++) den = std::max(den, fabs(want[i]));
  long wrong = 0;
  for (size_t i = 0; i < n; i++) wrong += !(fabs(got[i] - want[i]) <= 1e-12 * den);
  return wrong;
}

struct data_t {
  const void *X;         /* device rows, f32 or bf16 */
  const float *hx;       /* their first M rows as the twin reads them */
  const uint8_t *Y, *hy; /* labels [N][K], device; the first M rows on the host */
  const double *theta, *wp, *wn, *htheta, *hwp, *hwn;
};

long one(const ps_bench_args_t *a, int K, int xt, const data_t &d, void *blas) {
  const int F = a->features;
  const int64_t N = a->rows, M = a->check_rows;
  const size_t len = (size_t)K + (size_t)K * (F + 1);
  std::vector<double> want(len);
  ps_grad_acc_t *acc = ps_grad_cpu_begin(F, K, d.htheta, d.hwp, d.hwn, NULL);
  ps_grad_cpu_rows(acc, d.hx, d.hy, M);
  ps_grad_cpu_end(acc, want.data(), want.data() + K, NULL);
  size_t sb = std::max(ps_grad_scratch(N, F, K, xt), ps_grad_scratch(M, F, K, xt));
  double *scratch = ps_bench_alloc<double>(sb / 8 + 1), *work = ps_bench_alloc<double>(ps_grad_blas_work(F, K) / 8 + 1);
  double *out = ps_bench_alloc<double>(len);
  const double bytes = (double)N * F * (xt ? 2 : 4) + (double)N * K;
  long wrong = 0;
  for (int v = 1; v <= (ps_grad_fused_ok(F, K, xt) ? 2 : 1); v++) {
    auto run = [&](int64_t n) {
      if (v == 1) ps_grad_blas(blas, d.X, xt, d.Y, n, F, K, d.theta, d.wp, d.wn, work, out, 0);
      else ps_grad_fused(d.X, xt, d.Y, n, F, K, d.theta, d.wp, d.wn, scratch, out, 0);
    };
    run(M);
    std::vector<double> got = ps_bench_fetch(out, len);
    long w = off(got.data(), want.data(), K) + off(got.data() + K, want.data() + K, len - K);
    char name[64];
    snprintf(name, sizeof name, "K=%d %s %s", K, xt ? "bf16" : "f32", v == 1 ? "v1 cuBLAS" : "v2 fused");
    wrong += ps_bench_row("grad", name, N, ps_bench_time_ms(a->reps, [&] { run(N); }), bytes, w);
  }
  for (void *p : {(void *)scratch, (void *)work, (void *)out}) CUDA_CHECK(cudaFree(p));
  return wrong;
}

/* Newton's Hessian of head 0 (ps_hess: DSYRK over tiles), its upper triangle against the twin's */
long hess(const ps_bench_args_t *a, int K, int xt, const data_t &d, void *blas) {
  const int F = a->features, c1 = F + 1;
  const int64_t N = a->rows, M = a->check_rows;
  const size_t hl = (size_t)c1 * c1;
  std::vector<double> sums((size_t)K + (size_t)K * c1), want(hl * K);
  std::vector<uint8_t> mask(K, 0);
  mask[0] = 1;
  ps_grad_acc_t *acc = ps_grad_cpu_begin(F, K, d.htheta, d.hwp, d.hwn, mask.data());
  ps_grad_cpu_rows(acc, d.hx, d.hy, M);
  ps_grad_cpu_end(acc, sums.data(), sums.data() + K, want.data());
  double *work = ps_bench_alloc<double>(ps_hess_work(F) / 8 + 1), *H = ps_bench_alloc<double>(hl);
  auto run = [&](int64_t n) {
    CUDA_CHECK(cudaMemsetAsync(H, 0, sizeof(double) * hl));
    ps_hess(blas, d.X, xt, d.Y, n, F, K, 0, d.theta, d.wp, d.wn, work, H, 0);
  };
  run(M);
  std::vector<double> got = ps_bench_fetch(H, hl), up, up_want; /* column-major upper triangle */
  for (int col = 0; col < c1; col++)
    for (int row = 0; row <= col; row++) {
      up.push_back(got[(size_t)col * c1 + row]);
      up_want.push_back(want[(size_t)col * c1 + row]);
    }
  long w = off(up.data(), up_want.data(), up.size());
  char name[64];
  snprintf(name, sizeof name, "K=%d %s hess head 0", K, xt ? "bf16" : "f32");
  double ms = ps_bench_time_ms(a->reps, [&] { run(N); });
  w = ps_bench_row("grad", name, N, ms, (double)N * F * (xt ? 2 : 4) + (double)N * K, w);
  CUDA_CHECK(cudaFree(work));
  CUDA_CHECK(cudaFree(H));
  return w;
}

} // namespace

long ps_bench_grad(const ps_bench_args_t *a) {
  const int F = a->features;
  const int64_t N = a->rows, M = a->check_rows;
  cublasHandle_t blas;
  CUBLAS_CHECK(cublasCreate(&blas));
  CUBLAS_CHECK(cublasSetAtomicsMode(blas, CUBLAS_ATOMICS_NOT_ALLOWED));
  __nv_bfloat16 *Xb = ps_bench_alloc<__nv_bfloat16>((size_t)(N * F));
  PS_LAUNCH(ps_grid_1d((uint64_t)(N * F), 256), 256, 0, 0, to_bf16_kernel)(a->X, N * F, Xb);
  CUDA_CHECK(cudaGetLastError());
  std::vector<float> hxb((size_t)(M * F));
  for (size_t i = 0; i < hxb.size(); i++) hxb[i] = ps_bf16_to_float(ps_float_to_bf16(a->hx[i]));
  long wrong = 0;
  for (int K : {2, 16}) {
    std::vector<double> theta((size_t)K * (F + 1)), wp(K), wn(K, 0.5);
    for (size_t i = 0; i < theta.size(); i++) theta[i] = 0.05 * ps_rng_normal(5, 5, i, 0);
    for (int h = 0; h < K; h++) wp[h] = 2.0 + h;
    uint8_t *Y = ps_bench_alloc<uint8_t>((size_t)(N * K));
    PS_LAUNCH(ps_grid_1d((uint64_t)(N * K), 256), 256, 0, 0, labels_kernel)(Y, N * K);
    CUDA_CHECK(cudaGetLastError());
    std::vector<uint8_t> hy = ps_bench_fetch(Y, (size_t)(M * K));
    double *dth = ps_bench_upload(theta), *dwp = ps_bench_upload(wp), *dwn = ps_bench_upload(wn);
    for (int xt : {PS_X_F32, PS_X_BF16}) {
      data_t d;
      d.X = xt ? (const void *)Xb : (const void *)a->X, d.hx = xt ? hxb.data() : a->hx;
      d.Y = Y, d.hy = hy.data(), d.theta = dth, d.wp = dwp, d.wn = dwn;
      d.htheta = theta.data(), d.hwp = wp.data(), d.hwn = wn.data();
      wrong += one(a, K, xt, d, blas);
      if (K == 2) wrong += hess(a, K, xt, d, blas);
    }
    for (void *p : {(void *)Y, (void *)dth, (void *)dwp, (void *)dwn}) CUDA_CHECK(cudaFree(p));
  }
  CUDA_CHECK(cudaFree(Xb));
  CUBLAS_CHECK(cublasDestroy(blas));
  return wrong;
}
