/* bench_grad_csr.cu: the CSR loss + gradient (grad_csr.cu) on N rows of
 * 10,000 columns at 0.5% and 2% density (the issue 30 shapes), K = 2 heads,
 * grid blocks of 256 rows: each block's sums (ps_grad_csr_blocks), then
 * their exact words (ps_xsum_blocks), in 64 MiB chunks of block sums as the
 * training backend (host/models/logreg/csr_backend_cuda.c) runs them. The
 * first M rows' block sums validated bitwise against grad_csr_cpu.c, then
 * timed over N. Bytes: 12 a stored value (column, value), 8 + K a row (row
 * pointer, labels); the block sums written and read again are printed
 * beside (B/nz: the least bytes a stored value). Then the same kernel over
 * dense rows of 64 columns (ps_grad_dense_blocks: train --device cuda's
 * exact passes over resident float32 rows), validated against
 * ps_grad_cpu_block; bytes 4 a value + K a row. */
#include <stdio.h>

#include <vector>

#include "common/bench_common.h"
#include "core/rng.h"
#include "core/xsum.h"
#include "logreg/logreg_cpu.h"
#include "logreg/logreg_csr_cpu.h"
#include "logreg/logreg_csr_kernels.h"

namespace {

constexpr int C = 10000, K = 2, BR = 256;

long one(const ps_bench_args_t *a, double dens) {
  const int64_t N = a->rows, M = a->check_rows < N ? a->check_rows : N, V = K + (int64_t)K * (C + 1);
  std::vector<int64_t> ptr(1, 0), blk;
  std::vector<int32_t> idx;
  std::vector<float> val;
  for (int64_t i = 0; i < N; i++) { /* about dens C values a row, at columns spread by the row's own draws */
    const int m = (int)(dens * C * 2 * ps_rng_unif(7, 1, (uint64_t)i, 0));
    int j = (int)(ps_rng_unif(7, 2, (uint64_t)i, 0) * (C / (m + 1)));
    for (int q = 0; q < m && j < C; q++) {
      idx.push_back(j);
      val.push_back((float)ps_rng_normal(7, 3, (uint64_t)i, (uint64_t)q));
      j += 1 + (int)(ps_rng_unif(7, 4, (uint64_t)i, (uint64_t)q) * 2 * (C / (m + 1)));
    }
    ptr.push_back((int64_t)idx.size());
  }
  for (int64_t r = 0; r <= N; r += BR) blk.push_back(r);
  if (blk.back() != N) blk.push_back(N);
  const int64_t nb = (int64_t)blk.size() - 1, mb = (M + BR - 1) / BR;
  std::vector<uint8_t> Y((size_t)(N * K));
  for (size_t e = 0; e < Y.size(); e++) Y[e] = ps_rng_unif(7, 5, e, 0) < 0.1;
  std::vector<double> theta((size_t)K * (C + 1)), wp(K, 2.0), wn(K, 0.5);
  for (size_t e = 0; e < theta.size(); e++) theta[e] = 0.05 * ps_rng_normal(7, 6, e, 0);
  int64_t *dptr = ps_bench_upload(ptr), *dblk = ps_bench_upload(blk);
  int32_t *didx = ps_bench_upload(idx);
  float *dval = ps_bench_upload(val);
  uint8_t *dY = ps_bench_upload(Y);
  double *dth = ps_bench_upload(theta), *dwp = ps_bench_upload(wp), *dwn = ps_bench_upload(wn);
  const int64_t chunk = ((int64_t)64 << 20) / (8 * V) > 0 ? ((int64_t)64 << 20) / (8 * V) : 1;
  double *out = ps_bench_alloc<double>((size_t)((chunk > mb ? chunk : mb) * V));
  int64_t *acc = ps_bench_alloc<int64_t>((size_t)(V * PS_XS_WORDS));
  /* the twin on the first mb blocks, bitwise */
  ps_grad_csr_blocks(dptr, didx, dval, dY, dblk, mb, C, K, dth, dwp, dwn, out, 0);
  std::vector<double> got = ps_bench_fetch(out, (size_t)(mb * V)), want((size_t)(mb * V));
  ps_grad_csr_t *tw = ps_grad_csr_begin(C, K, theta.data(), wp.data(), wn.data(), NULL);
  for (int64_t b = 0; b < mb; b++) {
    const int64_t *p = ptr.data() + blk[b];
    double *w = want.data() + b * V;
    ps_grad_csr_block(tw, p, idx.data() + p[0], val.data() + p[0], Y.data() + blk[b] * K, blk[b + 1] - blk[b], w,
                      w + K, NULL);
  }
  ps_grad_csr_end(tw);
  long wrong = ps_bench_diff(got, want);
  auto run = [&] {
    CUDA_CHECK(cudaMemsetAsync(acc, 0, sizeof(int64_t) * (size_t)(V * PS_XS_WORDS)));
    for (int64_t b0 = 0; b0 < nb; b0 += chunk) {
      const int64_t n = nb - b0 < chunk ? nb - b0 : chunk;
      ps_grad_csr_blocks(dptr, didx, dval, dY, dblk + b0, n, C, K, dth, dwp, dwn, out, 0);
      ps_xsum_blocks(out, n, V, acc, 0);
    }
  };
  const double nnz = (double)idx.size(), bytes = 12.0 * nnz + (8.0 + K) * (double)N;
  char name[96];
  snprintf(name, sizeof name, "K=%d c=%d density %.3g (%.1f B/nz; block sums %.0f MB)", K, C, nnz / ((double)N * C),
           bytes / nnz, 16e-6 * (double)nb * (double)V);
  wrong = ps_bench_row("grad_csr", name, N, ps_bench_time_ms(a->reps, run), bytes, wrong);
  for (void *p : {(void *)dptr, (void *)dblk, (void *)didx, (void *)dval, (void *)dY, (void *)dth, (void *)dwp,
                  (void *)dwn, (void *)out, (void *)acc})
    CUDA_CHECK(cudaFree(p));
  return wrong;
}

/* Dense rows [N][CD] through ps_grad_dense_blocks (exact words as above). */
long dense(const ps_bench_args_t *a) {
  constexpr int CD = 64;
  const int64_t N = a->rows, M = a->check_rows < N ? a->check_rows : N, V = K + (int64_t)K * (CD + 1);
  std::vector<float> X((size_t)(N * CD));
  for (size_t e = 0; e < X.size(); e++) X[e] = (float)ps_rng_normal(8, 1, e, 0);
  std::vector<int64_t> blk;
  for (int64_t r = 0; r <= N; r += BR) blk.push_back(r);
  if (blk.back() != N) blk.push_back(N);
  const int64_t nb = (int64_t)blk.size() - 1, mb = (M + BR - 1) / BR;
  std::vector<uint8_t> Y((size_t)(N * K));
  for (size_t e = 0; e < Y.size(); e++) Y[e] = ps_rng_unif(8, 2, e, 0) < 0.1;
  std::vector<double> theta((size_t)K * (CD + 1)), wp(K, 2.0), wn(K, 0.5);
  for (size_t e = 0; e < theta.size(); e++) theta[e] = 0.05 * ps_rng_normal(8, 3, e, 0);
  float *dX = ps_bench_upload(X);
  int64_t *dblk = ps_bench_upload(blk);
  uint8_t *dY = ps_bench_upload(Y);
  double *dth = ps_bench_upload(theta), *dwp = ps_bench_upload(wp), *dwn = ps_bench_upload(wn);
  const int64_t chunk = ((int64_t)64 << 20) / (8 * V);
  double *out = ps_bench_alloc<double>((size_t)((chunk > mb ? chunk : mb) * V));
  int64_t *acc = ps_bench_alloc<int64_t>((size_t)(V * PS_XS_WORDS));
  ps_grad_dense_blocks(dX, dY, dblk, mb, CD, K, dth, dwp, dwn, out, 0);
  std::vector<double> got = ps_bench_fetch(out, (size_t)(mb * V)), want((size_t)(mb * V));
  ps_grad_acc_t *tw = ps_grad_cpu_begin(CD, K, theta.data(), wp.data(), wn.data(), NULL);
  for (int64_t b = 0; b < mb; b++) {
    double *w = want.data() + b * V;
    ps_grad_cpu_block(tw, X.data() + blk[b] * CD, Y.data() + blk[b] * K, blk[b + 1] - blk[b], w, w + K, NULL);
  }
  std::vector<double> sink((size_t)V);
  ps_grad_cpu_end(tw, sink.data(), sink.data() + K, NULL);
  long wrong = ps_bench_diff(got, want);
  auto run = [&] {
    CUDA_CHECK(cudaMemsetAsync(acc, 0, sizeof(int64_t) * (size_t)(V * PS_XS_WORDS)));
    for (int64_t b0 = 0; b0 < nb; b0 += chunk) {
      const int64_t n = nb - b0 < chunk ? nb - b0 : chunk;
      ps_grad_dense_blocks(dX, dY, dblk + b0, n, CD, K, dth, dwp, dwn, out, 0);
      ps_xsum_blocks(out, n, V, acc, 0);
    }
  };
  char name[96];
  snprintf(name, sizeof name, "dense K=%d c=%d (exact, the CPU's bits)", K, CD);
  wrong = ps_bench_row("grad_csr", name, N, ps_bench_time_ms(a->reps, run), (4.0 * CD + K) * (double)N, wrong);
  for (void *p : {(void *)dX, (void *)dblk, (void *)dY, (void *)dth, (void *)dwp, (void *)dwn, (void *)out,
                  (void *)acc})
    CUDA_CHECK(cudaFree(p));
  return wrong;
}

} // namespace

long ps_bench_grad_csr(const ps_bench_args_t *a) { return one(a, 0.005) + one(a, 0.02) + dense(a); }
