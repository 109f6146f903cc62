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
 * Tree kernels (bench_trees, 255 value bins a feature): bin (raw rows ->
 * bins), hist (the root's histogram: GB/s of bins read), split (the best
 * split from it), partition (the root split), predict (100 trees of 31
 * leaves over raw rows: rows/s); each validated bitwise against its CPU
 * twin on the first M rows, then timed on N.
 * Exits 1 if propscore's kernels (v2, and the tree kernels) get a checked
 * value wrong.
 * usage: propscore-bench [--rows N] [--features F] [--reps R] [--check-rows M]
 *                        [--kernels all|logreg|trees] */
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
#include "gbdt/gbdt_kernels.h"
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

/* ---- the tree kernels (kept apart from the logistic-regression cases) ---- */
namespace {

__global__ void grad_fill_kernel(int64_t *gq, int64_t *hq, int64_t n) {
  int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  double u = ps_rng_unif(11, 1, (uint64_t)i, 0);
  gq[i] = (int64_t)((u - 0.3) * 1099511627776.0); /* 2^40 fixed point */
  hq[i] = (int64_t)(u * (1 - u) * 1099511627776.0);
}

template <class T>
T *dalloc(size_t n) {
  T *p;
  CUDA_CHECK(cudaMalloc((void **)&p, sizeof(T) * (n ? n : 1)));
  return p;
}

template <class T>
std::vector<T> fetch(const T *d, size_t n) {
  std::vector<T> h(n);
  CUDA_CHECK(cudaDeviceSynchronize());
  if (n) CUDA_CHECK(cudaMemcpy(h.data(), d, sizeof(T) * n, cudaMemcpyDeviceToHost));
  return h;
}

void tree_row(const char *kernel, double ms, double gb, double rows, long wrong, double copy) {
  double gbs = gb / (ms * 1e-3);
  printf("%10s %10.3f %9.1f %6.1f%% %12.3g %7ld\n", kernel, ms, gbs, 100 * gbs / copy, rows / (ms * 1e-3), wrong);
  wrong_fused += wrong;
}

/* X: the bench's raw rows (device, N x F float32); their first M rows on the host */
void bench_trees(const float *X, int64_t N, int F, int64_t M, const std::vector<float> &hx, int reps, double copy) {
  printf("# tree kernels: N=%lld F=%d, 255 value bins a feature; validated on %lld rows\n", (long long)N, F,
         (long long)M);
  printf("#%9s %10s %9s %7s %12s %7s\n", "kernel", "ms", "GB/s", "%copy", "rows/s", "#wrong");
  const int nc = PS_GBDT_MAX_BIN - 1; /* 254 cuts: codes 0 (missing), 1..255 */
  std::vector<int64_t> cut_off(F + 1), bin_off(F + 1);
  std::vector<float> cuts((size_t)F * nc);
  for (int j = 0; j <= F; j++) cut_off[j] = (int64_t)j * nc, bin_off[j] = (int64_t)j * (nc + 2);
  for (int j = 0; j < F; j++)
    for (int q = 0; q < nc; q++) cuts[(size_t)j * nc + q] = (float)(-3.0 + 6.0 * q / (nc - 1));
  const int64_t total_bins = bin_off[F];
  float *dcuts = dalloc<float>(cuts.size());
  int64_t *dcut_off = dalloc<int64_t>(F + 1), *dbin_off = dalloc<int64_t>(F + 1);
  CUDA_CHECK(cudaMemcpy(dcuts, cuts.data(), sizeof(float) * cuts.size(), cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaMemcpy(dcut_off, cut_off.data(), sizeof(int64_t) * (F + 1), cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaMemcpy(dbin_off, bin_off.data(), sizeof(int64_t) * (F + 1), cudaMemcpyHostToDevice));
  uint8_t *B = dalloc<uint8_t>((size_t)N * F);
  /* bin */
  std::vector<uint8_t> hb((size_t)M * F);
  ps_gbdt_bin_cpu(hx.data(), M, F, cuts.data(), cut_off.data(), hb.data());
  ps_gbdt_bin_cuda(X, M, F, dcuts, dcut_off, B, 0);
  std::vector<uint8_t> gb = fetch(B, (size_t)M * F);
  long wrong = 0;
  for (size_t e = 0; e < hb.size(); e++) wrong += hb[e] != gb[e];
  double ms = time_ms(reps, [&] { ps_gbdt_bin_cuda(X, N, F, dcuts, dcut_off, B, 0); });
  tree_row("bin", ms, (double)N * F * 5 / 1e9, (double)N, wrong, copy);
  /* hist: the root's (every row), then a leaf of every other row */
  int64_t *gq = dalloc<int64_t>(N), *hq = dalloc<int64_t>(N), *hist = dalloc<int64_t>((size_t)total_bins * 3);
  PS_LAUNCH(grid(N), 256, 0, 0, grad_fill_kernel)(gq, hq, N);
  CUDA_CHECK(cudaGetLastError());
  std::vector<int64_t> hg = fetch(gq, M), hh = fetch(hq, M);
  ps_gbdt_hist_plan_t *plan = ps_gbdt_hist_plan_create(bin_off.data(), F, 0, 0);
  const size_t hl = (size_t)total_bins * 3;
  std::vector<int64_t> all(M), href(hl, 0);
  for (int64_t i = 0; i < M; i++) all[i] = i;
  ps_gbdt_hist_cpu(hb.data(), F, bin_off.data(), all.data(), M, hg.data(), hh.data(), href.data());
  CUDA_CHECK(cudaMemset(hist, 0, sizeof(int64_t) * hl));
  ps_gbdt_hist_cuda(plan, B, NULL, M, gq, hq, hist, 0);
  std::vector<int64_t> hgpu = fetch(hist, hl);
  wrong = 0;
  for (size_t e = 0; e < hl; e++) wrong += href[e] != hgpu[e];
  ms = time_ms(reps, [&] {
    CUDA_CHECK(cudaMemsetAsync(hist, 0, sizeof(int64_t) * hl));
    ps_gbdt_hist_cuda(plan, B, NULL, N, gq, hq, hist, 0);
  });
  tree_row("hist", ms, (double)N * F / 1e9, (double)N, wrong, copy); /* GB/s: bins read */
  /* split: the best split of the validated histogram (M rows) */
  int64_t G = 0, H = 0, n = 0;
  for (int q = 0; q < nc + 2; q++) G += href[3 * q], H += href[3 * q + 1], n += href[3 * q + 2];
  ps_split_params_t sp = {1.0, 20, 1e-3, 0.0, 1099511627776.0};
  ps_split_t a, b;
  ps_gbdt_split_cpu(href.data(), F, bin_off.data(), NULL, G, H, n, &sp, &a);
  CUDA_CHECK(cudaMemcpy(hist, href.data(), sizeof(int64_t) * hl, cudaMemcpyHostToDevice));
  void *swork = dalloc<char>(ps_gbdt_split_work(F));
  ps_split_t *dbest = dalloc<ps_split_t>(1);
  ps_gbdt_split_cuda(hist, F, dbin_off, NULL, G, H, n, sp, swork, dbest, 0);
  b = fetch(dbest, 1)[0];
  wrong = !(a.feature == b.feature && a.bin == b.bin && a.default_left == b.default_left && a.ln == b.ln &&
            a.lg == b.lg && a.lh == b.lh && !memcmp(&a.gain, &b.gain, sizeof(double)));
  ms = time_ms(reps, [&] { ps_gbdt_split_cuda(hist, F, dbin_off, NULL, G, H, n, sp, swork, dbest, 0); });
  tree_row("split", ms, (double)hl * 8 / 1e9, 0, wrong, copy);
  /* partition: every row by that split (the first M validated) */
  int64_t *rows = dalloc<int64_t>(N), *tmp = dalloc<int64_t>(N);
  void *pwork = dalloc<char>(ps_gbdt_partition_work(N));
  int32_t fj = a.feature >= 0 ? a.feature : 0, fb = a.feature >= 0 ? a.bin : 128;
  int64_t nl_cpu = ps_gbdt_partition_cpu(hb.data(), F, all.data(), M, fj, fb, a.default_left,
                                         std::vector<int64_t>(M).data());
  ps_gbdt_bag_rows_cuda(NULL, M, rows, tmp, pwork, 0);
  int64_t nl_gpu = ps_gbdt_partition_cuda(B, F, rows, M, fj, fb, a.default_left, tmp, pwork, 0);
  std::vector<int64_t> rg = fetch(rows, M);
  wrong = nl_cpu != nl_gpu;
  for (int64_t i = 0; i < M; i++) wrong += rg[i] != all[i];
  ms = time_ms(reps, [&] {
    ps_gbdt_bag_rows_cuda(NULL, N, rows, tmp, pwork, 0);
    ps_gbdt_partition_cuda(B, F, rows, N, fj, fb, a.default_left, tmp, pwork, 0);
  });
  tree_row("partition", ms, (double)N * (F > 0 ? 1 : 0) / 1e9 + (double)N * 32 / 1e9, (double)N, wrong, copy);
  /* predict: 100 trees of 31 leaves (random splits on the cuts) over the raw rows */
  const int T = 100, L = 31;
  std::vector<int64_t> node_off(T + 1), leaf_off(T + 1);
  std::vector<int32_t> feat((size_t)T * (L - 1)), left((size_t)T * (L - 1)), right((size_t)T * (L - 1));
  std::vector<float> thr((size_t)T * (L - 1));
  std::vector<uint8_t> bin((size_t)T * (L - 1)), dl((size_t)T * (L - 1));
  std::vector<double> val((size_t)T * L);
  std::vector<int32_t> pnode(L), pside(L);
  for (int t = 0; t < T; t++) {
    int64_t nb = (int64_t)t * (L - 1);
    pnode[0] = -1;
    for (int nl = 1; nl < L; nl++) { /* split a random leaf, numbered as grow.c does */
      int leaf = (int)(ps_rng_unif(9, 2, t, nl) * nl), node = nl - 1;
      int64_t k = nb + node;
      feat[k] = (int32_t)(ps_rng_unif(9, 3, t, nl) * F);
      bin[k] = (uint8_t)(1 + ps_rng_unif(9, 4, t, nl) * nc);
      thr[k] = cuts[(size_t)feat[k] * nc + bin[k] - 1];
      dl[k] = ps_rng_unif(9, 5, t, nl) < 0.5;
      left[k] = ~leaf;
      right[k] = ~nl;
      if (pnode[leaf] >= 0) (pside[leaf] == 0 ? left : right)[nb + pnode[leaf]] = node;
      pnode[leaf] = pnode[nl] = node;
      pside[leaf] = 0;
      pside[nl] = 1;
    }
    for (int q = 0; q < L; q++) val[(size_t)t * L + q] = 0.1 * ps_rng_normal(9, 6, t, q);
    node_off[t + 1] = node_off[t] + (L - 1);
    leaf_off[t + 1] = leaf_off[t] + L;
  }
  ps_forest_view_t v = {T, node_off.data(), leaf_off.data(), feat.data(), thr.data(), bin.data(), dl.data(),
                        left.data(), right.data(), val.data()};
  auto up = [](const void *h, size_t bytes) {
    void *d;
    CUDA_CHECK(cudaMalloc(&d, bytes));
    CUDA_CHECK(cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice));
    return d;
  };
  ps_forest_view_t dv = {T,
                         (const int64_t *)up(node_off.data(), 8 * node_off.size()),
                         (const int64_t *)up(leaf_off.data(), 8 * leaf_off.size()),
                         (const int32_t *)up(feat.data(), 4 * feat.size()),
                         (const float *)up(thr.data(), 4 * thr.size()),
                         (const uint8_t *)up(bin.data(), bin.size()),
                         (const uint8_t *)up(dl.data(), dl.size()),
                         (const int32_t *)up(left.data(), 4 * left.size()),
                         (const int32_t *)up(right.data(), 4 * right.size()),
                         (const double *)up(val.data(), 8 * val.size())};
  double *z = dalloc<double>(N);
  std::vector<double> zr(M, 0.0);
  ps_gbdt_predict_cpu(&v, hx.data(), M, F, zr.data());
  CUDA_CHECK(cudaMemset(z, 0, sizeof(double) * M));
  ps_gbdt_predict_cuda(&dv, X, M, F, z, 0);
  std::vector<double> zg = fetch(z, M);
  wrong = 0;
  for (int64_t i = 0; i < M; i++) wrong += memcmp(&zr[i], &zg[i], sizeof(double)) != 0;
  ms = time_ms(reps, [&] { ps_gbdt_predict_cuda(&dv, X, N, F, z, 0); });
  tree_row("predict", ms, (double)N * F * 4 / 1e9, (double)N, wrong, copy);
  for (const void *p : {(const void *)dv.node_off, (const void *)dv.leaf_off, (const void *)dv.feature,
                        (const void *)dv.threshold, (const void *)dv.bin, (const void *)dv.default_left,
                        (const void *)dv.left, (const void *)dv.right, (const void *)dv.leaf_value, (const void *)z,
                        (const void *)rows, (const void *)tmp, (const void *)pwork, (const void *)swork, (const void *)dbest, (const void *)gq,
                        (const void *)hq, (const void *)hist, (const void *)B, (const void *)dcuts,
                        (const void *)dcut_off, (const void *)dbin_off})
    CUDA_CHECK(cudaFree((void *)p));
  ps_gbdt_hist_plan_destroy(plan);
}

} // namespace

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  int64_t N = 20000000, M = 65536;
  int F = 256, reps = 10;
  const char *kernels = "all"; /* all | logreg | trees */
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--rows")) N = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--features")) F = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--check-rows")) M = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--kernels")) kernels = argv[i + 1];
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
  if (strcmp(kernels, "trees"))
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
    if (!strcmp(kernels, "trees")) break;
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
      size_t sb = std::max(ps_grad_scratch(N, F, K, xt), ps_grad_scratch(M, F, K, xt));
      CUDA_CHECK(cudaMalloc(&scratch, sb ? sb : 8));
      CUDA_CHECK(cudaMalloc(&work, ps_grad_blas_work(F, K)));
      CUDA_CHECK(cudaMalloc(&dout, sizeof(double) * out.size()));
      const double grad_bytes = (double)N * F * (xt ? 2 : 4) + (double)N * K;
      const int fused_ok = ps_grad_fused_ok(F, K, xt); /* else a tile does not fit this device's shared memory */
      for (int v = 1; v <= (fused_ok ? 2 : 1); v++) {
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
  if (strcmp(kernels, "logreg")) bench_trees(X, N, F, M, hx, reps, copy);
  CUBLAS_CHECK(cublasDestroy(blas));
  CUDA_CHECK(cudaFree(Xb));
  CUDA_CHECK(cudaFree(X));
  CUDA_CHECK(cudaFree(flush_buf));
  if (wrong_fused) printf("# FAILED: %ld wrong values from propscore's kernels (v2)\n", wrong_fused);
  comm_finalize();
  return wrong_fused ? 1 : 0;
}
