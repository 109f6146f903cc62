/* propscore_bench.cu: the kernel benchmark (llm.c dev/cuda style). For each
 * case (N rows x F features, K heads, float32 or bfloat16 rows) and each
 * kernel version it first validates the GPU result against the CPU twin on
 * the first rows, then times R runs with CUDA events (L2 flushed before
 * each), and prints ms, GB/s moved and % of the device-to-device copy
 * bandwidth measured in the same run, nccl-tests style, with #wrong.
 *   score v1: cuBLAS SGEMM + sigmoid kernel (what sigmoid(X @ W) does)
 *   score v2: fused kernel (one read of each row, standardize, K logits, sigmoid)
 *   grad  v1: cuBLAS DGEMM path (tiles widened to float64)
 *   grad  v2: fused kernel (one read of X: logits, residual, loss, X^T r)
 * Exits 1 if propscore's kernels (v2) get a checked value wrong.
 * usage: propscore-bench [--rows N] [--features F] [--reps R] [--check-rows M] */
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vector>
#include <algorithm>

extern "C" {
#include "models/logreg/backend.h"
#include "comm/comm.h"
#include "core/util.h"
}
#include "common/cuda_check.h"
#include "common/launch.h"
#include "logreg/logreg_kernels.h"
#include "logreg/logreg_cpu.h"
#include "common/psmath.h"
#include "core/rng.h"

namespace {

__global__ void fill_kernel(float *X, int64_t n, int f, uint64_t seed) {
  int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= n * f) return;
  X[e] = (float)ps_rng_normal(seed, 1, (uint64_t)(e / f), 2 * (uint64_t)(e % f));
}
__global__ void to_bf16_kernel(const float *X, int64_t n, __nv_bfloat16 *B) {
  int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e < n) B[e] = __float2bfloat16_rn(X[e]);
}
__global__ void labels_kernel(uint8_t *Y, int64_t n, int k) {
  int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e < n * k) Y[e] = ps_rng_unif(3, 2, (uint64_t)(e / k), (uint64_t)(e % k)) < 0.1;
}
__global__ void sigmoid_kernel(const float *Z, int64_t n, int k, const double *theta, int c, float *P) {
  int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= n * k) return;
  int64_t i = e / k;
  int h = (int)(e % k);
  P[(size_t)h * n + i] = (float)ps_sigmoid((double)Z[e] + theta[(size_t)h * (c + 1) + c]);
}
__global__ void wf_kernel(const double *theta, int c, int k, float *Wf) {
  int e = blockIdx.x * blockDim.x + threadIdx.x;
  if (e < c * k) Wf[e] = (float)theta[(size_t)(e / c) * (c + 1) + e % c];
}

/* 1-D grid of 256-thread blocks over n items (refused above 2^31-1 blocks) */
unsigned grid(int64_t n) { return ps_grid_1d((uint64_t)n, 256); }

struct Timer {
  cudaEvent_t a, b;
  Timer() {
    CUDA_CHECK(cudaEventCreate(&a));
    CUDA_CHECK(cudaEventCreate(&b));
  }
  ~Timer() {
    CUDA_CHECK(cudaEventDestroy(a));
    CUDA_CHECK(cudaEventDestroy(b));
  }
};

double copy_bandwidth(size_t bytes) {
  void *s, *d;
  CUDA_CHECK(cudaMalloc(&s, bytes));
  CUDA_CHECK(cudaMalloc(&d, bytes));
  CUDA_CHECK(cudaMemset(s, 1, bytes));
  Timer t;
  float best = 1e30f;
  for (int r = 0; r < 5; r++) {
    CUDA_CHECK(cudaEventRecord(t.a));
    CUDA_CHECK(cudaMemcpy(d, s, bytes, cudaMemcpyDeviceToDevice));
    CUDA_CHECK(cudaEventRecord(t.b));
    CUDA_CHECK(cudaEventSynchronize(t.b));
    float ms;
    CUDA_CHECK(cudaEventElapsedTime(&ms, t.a, t.b));
    best = std::min(best, ms);
  }
  CUDA_CHECK(cudaFree(s));
  CUDA_CHECK(cudaFree(d));
  return 2.0 * (double)bytes / (best * 1e-3) / 1e9; /* read + write */
}

long wrong_fused = 0; /* wrong values from propscore's kernels (v2) */

void *flush_buf;
size_t flush_bytes = (size_t)256 << 20;
void flush_l2() { CUDA_CHECK(cudaMemsetAsync(flush_buf, 0, flush_bytes)); }

template <typename F>
double time_ms(int reps, F &&f) {
  Timer t;
  std::vector<float> v;
  for (int r = 0; r < reps; r++) {
    flush_l2();
    CUDA_CHECK(cudaEventRecord(t.a));
    f();
    CUDA_CHECK(cudaEventRecord(t.b));
    CUDA_CHECK(cudaEventSynchronize(t.b));
    float ms;
    CUDA_CHECK(cudaEventElapsedTime(&ms, t.a, t.b));
    v.push_back(ms);
  }
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  int64_t N = 20000000, M = 65536;
  int F = 256, reps = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--rows")) N = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--features")) F = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--check-rows")) M = atoll(argv[i + 1]);
  }
  if (backend_cuda_devices() == 0) {
    printf("no CUDA device: nothing to benchmark\n");
    comm_finalize();
    return 77;
  }
  if (M > N) M = N;
  cudaDeviceProp prop;
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  CUDA_CHECK(cudaMalloc(&flush_buf, flush_bytes));
  /* 2 GiB copies, less for small runs (smoke tests: at least 64 MiB) */
  double copy = copy_bandwidth(std::min((size_t)2 << 30, std::max((size_t)64 << 20, (size_t)(4 * N * F))));
  printf("# propscore-bench  %s  N=%lld F=%d reps=%d (median)  device-to-device copy %.0f GB/s\n", prop.name,
         (long long)N, F, reps, copy);
  printf("#%9s %4s %5s %-10s %10s %9s %7s %7s\n", "kernel", "K", "dtype", "version", "ms", "GB/s", "%copy", "#wrong");
  cublasHandle_t blas;
  CUBLAS_CHECK(cublasCreate(&blas));
  CUBLAS_CHECK(cublasSetAtomicsMode(blas, CUBLAS_ATOMICS_NOT_ALLOWED));
  float *X;
  CUDA_CHECK(cudaMalloc(&X, sizeof(float) * (size_t)N * F));
  PS_LAUNCH(grid(N * F), 256, 0, 0, fill_kernel)(X, N, F, (uint64_t)42);
  CUDA_CHECK(cudaGetLastError());
  __nv_bfloat16 *Xb;
  CUDA_CHECK(cudaMalloc(&Xb, 2 * (size_t)N * F));
  PS_LAUNCH(grid(N * F), 256, 0, 0, to_bf16_kernel)(X, N * F, Xb);
  CUDA_CHECK(cudaGetLastError());
  std::vector<float> hx((size_t)M * F), hxb((size_t)M * F);
  CUDA_CHECK(cudaMemcpy(hx.data(), X, sizeof(float) * hx.size(), cudaMemcpyDeviceToHost));
  for (size_t i = 0; i < hx.size(); i++) hxb[i] = ps_bf16_to_float(ps_float_to_bf16(hx[i]));
  ps_backend_t *cpu = backend_cpu_create();
  for (int K : {2, 16}) {
    const int c1 = F + 1;
    std::vector<double> theta((size_t)K * c1);
    for (size_t i = 0; i < theta.size(); i++) theta[i] = 0.05 * ps_rng_normal(5, 5, i, 0);
    double *dth, *wp, *wn;
    CUDA_CHECK(cudaMalloc(&dth, sizeof(double) * theta.size()));
    CUDA_CHECK(cudaMemcpy(dth, theta.data(), sizeof(double) * theta.size(), cudaMemcpyHostToDevice));
    std::vector<double> ones(K, 1.0);
    CUDA_CHECK(cudaMalloc(&wp, sizeof(double) * K));
    CUDA_CHECK(cudaMalloc(&wn, sizeof(double) * K));
    CUDA_CHECK(cudaMemcpy(wp, ones.data(), sizeof(double) * K, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(wn, ones.data(), sizeof(double) * K, cudaMemcpyHostToDevice));
    uint8_t *Y;
    CUDA_CHECK(cudaMalloc(&Y, (size_t)N * K));
    PS_LAUNCH(grid(N * K), 256, 0, 0, labels_kernel)(Y, N, K);
    CUDA_CHECK(cudaGetLastError());
    std::vector<uint8_t> hy((size_t)M * K);
    CUDA_CHECK(cudaMemcpy(hy.data(), Y, hy.size(), cudaMemcpyDeviceToHost));
    float *P, *Z, *Wf;
    CUDA_CHECK(cudaMalloc(&P, sizeof(float) * (size_t)N * K));
    CUDA_CHECK(cudaMalloc(&Z, sizeof(float) * (size_t)N * K));
    CUDA_CHECK(cudaMalloc(&Wf, sizeof(float) * (size_t)F * K));
    PS_LAUNCH(grid(F * K), 256, 0, 0, wf_kernel)(dth, F, K, Wf);
    CUDA_CHECK(cudaGetLastError());
    /* identity transform: the raw-row kernel does all its work, the CPU twin matches */
    std::vector<int64_t> src(F);
    std::vector<uint8_t> kind(F, 0);
    std::vector<double> mean(F, 0.0), scale(F, 1.0);
    for (int j = 0; j < F; j++) src[j] = j;
    int64_t *dsrc; uint8_t *dkind; double *dmean, *dscale;
    CUDA_CHECK(cudaMalloc(&dsrc, sizeof(int64_t) * F));
    CUDA_CHECK(cudaMalloc(&dkind, F));
    CUDA_CHECK(cudaMalloc(&dmean, sizeof(double) * F));
    CUDA_CHECK(cudaMalloc(&dscale, sizeof(double) * F));
    CUDA_CHECK(cudaMemcpy(dsrc, src.data(), sizeof(int64_t) * F, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(dkind, kind.data(), F, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(dmean, mean.data(), sizeof(double) * F, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(dscale, scale.data(), sizeof(double) * F, cudaMemcpyHostToDevice));
    ps_transform_t tf = {F, F, src.data(), kind.data(), mean.data(), scale.data()};

    /* ---- scoring (float32 rows: the raw input) ---- */
    std::vector<float> pref((size_t)M * K), pgpu((size_t)N * K);
    cpu->predict_raw(cpu, &tf, theta.data(), K, hx.data(), M, pref.data());
    auto score_v1 = [&](int64_t n) {
      const float one = 1.f, zero = 0.f; /* Z^T (K x n) = Wf^T (K x F) * X^T (F x n) */
      CUBLAS_CHECK(cublasSgemm(blas, CUBLAS_OP_T, CUBLAS_OP_N, K, (int)n, F, &one, Wf, F, X, F, &zero, Z, K));
      PS_LAUNCH(grid(n * K), 256, 0, 0, sigmoid_kernel)(Z, n, K, dth, F, P);
      CUDA_CHECK(cudaGetLastError());
    };
    auto score_v2 = [&](int64_t n) { ps_score_raw(X, n, F, F, K, dsrc, dkind, dmean, dscale, dth, P, 0); };
    const double score_bytes = (double)N * F * 4 + (double)N * K * 4;
    for (int v = 1; v <= 2; v++) {
      if (v == 1) score_v1(M); else score_v2(M);
      CUDA_CHECK(cudaDeviceSynchronize());
      std::vector<float> pm((size_t)M * K);
      for (int h = 0; h < K; h++) /* P is head-major [K][n]: the first M of each head */
        CUDA_CHECK(cudaMemcpy(pm.data() + (size_t)h * M, P + (size_t)h * M, sizeof(float) * M, cudaMemcpyDeviceToHost));
      long wrong = 0;
      for (size_t i = 0; i < pm.size(); i++) wrong += fabsf(pm[i] - pref[i]) > 1e-6f;
      double ms = time_ms(reps, [&] { if (v == 1) score_v1(N); else score_v2(N); });
      double gbs = score_bytes / (ms * 1e-3) / 1e9;
      printf("%10s %4d %5s %-10s %10.3f %9.1f %6.1f%% %7ld\n", "score", K, "f32", v == 1 ? "v1 cublas" : "v2 fused",
             ms, gbs, 100 * gbs / copy, wrong);
      if (v == 2) wrong_fused += wrong;
    }
    /* ---- loss + gradient, float32 and bfloat16 resident rows ---- */
    for (int xt = 0; xt <= 1; xt++) {
      const void *Xd = xt ? (const void *)Xb : (const void *)X;
      ps_backend_t *c2 = backend_cpu_create();
      c2->set_train(c2, xt ? hxb.data() : hx.data(), hy.data(), M, F, K, ones.data(), ones.data());
      std::vector<double> l((size_t)K), g((size_t)K * c1), out((size_t)K + (size_t)K * c1);
      c2->eval(c2, theta.data(), l.data(), g.data(), NULL, NULL);
      double *scratch, *work, *dout;
      size_t sb = std::max(ps_grad_scratch(N, F, K), ps_grad_scratch(M, F, K));
      CUDA_CHECK(cudaMalloc(&scratch, sb));
      CUDA_CHECK(cudaMalloc(&work, ps_grad_blas_work(F, K)));
      CUDA_CHECK(cudaMalloc(&dout, sizeof(double) * out.size()));
      const double grad_bytes = (double)N * F * (xt ? 2 : 4) + (double)N * K;
      for (int v = 1; v <= 2; v++) {
        auto run = [&](int64_t n) {
          if (v == 1) ps_grad_blas(blas, Xd, xt, Y, n, F, K, dth, wp, wn, work, dout, 0);
          else ps_grad_fused(Xd, xt, Y, n, F, K, dth, wp, wn, scratch, dout, 0);
        };
        run(M);
        CUDA_CHECK(cudaMemcpy(out.data(), dout, sizeof(double) * out.size(), cudaMemcpyDeviceToHost));
        double num = 0, den = 0;
        long wrong = 0;
        for (size_t i = 0; i < g.size(); i++) { num = std::max(num, fabs(out[K + i] - g[i])); den = std::max(den, fabs(g[i])); }
        for (size_t i = 0; i < g.size(); i++) wrong += fabs(out[K + i] - g[i]) > 1e-5 * den;
        for (int h = 0; h < K; h++) wrong += fabs(out[h] - l[h]) > 1e-9 * fabs(l[h]);
        double ms = time_ms(reps, [&] { run(N); });
        double gbs = grad_bytes / (ms * 1e-3) / 1e9;
        printf("%10s %4d %5s %-10s %10.3f %9.1f %6.1f%% %7ld\n", "grad", K, xt ? "bf16" : "f32",
               v == 1 ? "v1 cublas" : "v2 fused", ms, gbs, 100 * gbs / copy, wrong);
        if (v == 2) wrong_fused += wrong;
      }
      CUDA_CHECK(cudaFree(scratch));
      CUDA_CHECK(cudaFree(work));
      CUDA_CHECK(cudaFree(dout));
      c2->destroy(c2);
    }
    for (void *p : {(void *)dth, (void *)wp, (void *)wn, (void *)Y, (void *)P, (void *)Z, (void *)Wf, (void *)dsrc,
                    (void *)dkind, (void *)dmean, (void *)dscale})
      CUDA_CHECK(cudaFree(p));
  }
  cpu->destroy(cpu);
  CUBLAS_CHECK(cublasDestroy(blas));
  CUDA_CHECK(cudaFree(Xb));
  CUDA_CHECK(cudaFree(X));
  CUDA_CHECK(cudaFree(flush_buf));
  if (wrong_fused) printf("# FAILED: %ld wrong values from propscore's kernels (v2)\n", wrong_fused);
  comm_finalize();
  return wrong_fused ? 1 : 0;
}
