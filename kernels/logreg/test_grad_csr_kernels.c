/* test_grad_csr_kernels.c: the CSR gradient kernel (grad_csr.cu) against its
 * CPU twin (grad_csr_cpu.c), bitwise: each block's loss and gradient on
 * blocks of 1 to 256 rows (groups of four rows and short last groups),
 * empty rows, columns below, at and above a multiple of the 8 logit lanes,
 * 1 to 16 heads, values up to every column of a row; then the exact words
 * of the block sums (core/xsum.h) against ps_xsum_add on the host, split
 * over launches and over slices of 32 blocks within one; and the same bits twice. The same kernel over the rows
 * made dense (ps_grad_dense_blocks: every value stored, stored zeros and
 * -0.0 among them) against the dense twin ps_grad_cpu_block. Runs on a GPU or the emulated
 * device (tests/cudasim); exits 77 ("no CUDA device") without one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "common/cuda_check.h"
#include "core/rng.h"
#include "core/util.h"
#include "core/xsum.h"
#include "logreg/logreg_cpu.h"
#include "logreg/logreg_csr_cpu.h"
#include "logreg/logreg_csr_kernels.h"

#include "common/test_expect.h"

static cudaStream_t stream;

static void *dev_copy(const void *h, size_t bytes) {
  void *d = NULL;
  CUDA_CHECK(cudaMalloc(&d, bytes ? bytes : 8));
  if (bytes) CUDA_CHECK(cudaMemcpyAsync(d, h, bytes, cudaMemcpyHostToDevice, stream));
  return d;
}

typedef struct {
  int64_t n, nnz, nb;
  int64_t *ptr, *blk;
  int32_t *idx;
  float *val;
  uint8_t *Y;
  double *theta, *wp, *wn;
} csr_case_t;

/* n rows of c columns at density dens (some rows empty, some full), k heads, blocks of 1..256 rows. */
static void make_case(csr_case_t *t, int64_t n, int c, int k, double dens, uint64_t seed) {
  memset(t, 0, sizeof *t);
  t->n = n;
  t->ptr = ps_malloc(sizeof(int64_t) * (size_t)(n + 1));
  t->idx = ps_malloc(sizeof(int32_t) * (size_t)(n * c + 1));
  t->val = ps_malloc(sizeof(float) * (size_t)(n * c + 1));
  t->ptr[0] = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = i % 97 == 5 ? 0.0 : i % 89 == 7 ? 1.0 : dens;
    for (int j = 0; j < c; j++)
      if (ps_rng_unif(seed, 1, (uint64_t)i, (uint64_t)j) < d) {
        t->idx[t->nnz] = j;
        t->val[t->nnz++] = (float)ps_rng_normal(seed, 2, (uint64_t)i, (uint64_t)j);
      }
    t->ptr[i + 1] = t->nnz;
  }
  t->Y = ps_malloc((size_t)(n * k));
  for (int64_t e = 0; e < n * k; e++) t->Y[e] = ps_rng_unif(seed, 3, (uint64_t)e, 0) < 0.3;
  t->theta = ps_malloc(sizeof(double) * (size_t)(k * (c + 1)));
  for (int64_t e = 0; e < (int64_t)k * (c + 1); e++) t->theta[e] = 0.3 * ps_rng_normal(seed, 4, (uint64_t)e, 0);
  t->wp = ps_malloc(sizeof(double) * (size_t)k);
  t->wn = ps_malloc(sizeof(double) * (size_t)k);
  for (int h = 0; h < k; h++) {
    t->wp[h] = 1.0 + h;
    t->wn[h] = 0.5;
  }
  t->blk = ps_malloc(sizeof(int64_t) * (size_t)(n + 1));
  t->blk[0] = 0;
  for (int64_t r = 0; r < n; t->nb++) {
    int64_t m = t->nb % 3 == 0 ? 256 : 1 + (int64_t)(ps_rng_unif(seed, 5, (uint64_t)t->nb, 0) * 256);
    r += m < n - r ? m : n - r;
    t->blk[t->nb + 1] = r;
  }
}

static void free_case(csr_case_t *t) {
  free(t->ptr); free(t->blk); free(t->idx); free(t->val); free(t->Y); free(t->theta); free(t->wp); free(t->wn);
}

static void check(int64_t n, int c, int k, double dens, uint64_t seed) {
  csr_case_t t;
  make_case(&t, n, c, k, dens, seed);
  const int64_t V = k + (int64_t)k * (c + 1), W = V * PS_XS_WORDS;
  int64_t *dptr = dev_copy(t.ptr, sizeof(int64_t) * (size_t)(n + 1)), *dblk = dev_copy(t.blk, sizeof(int64_t) * (size_t)(t.nb + 1));
  int32_t *didx = dev_copy(t.idx, sizeof(int32_t) * (size_t)t.nnz);
  float *dval = dev_copy(t.val, sizeof(float) * (size_t)t.nnz);
  uint8_t *dY = dev_copy(t.Y, (size_t)(n * k));
  double *dth = dev_copy(t.theta, sizeof(double) * (size_t)(k * (c + 1)));
  double *dwp = dev_copy(t.wp, sizeof(double) * (size_t)k), *dwn = dev_copy(t.wn, sizeof(double) * (size_t)k);
  double *dout = NULL;
  int64_t *dacc = NULL;
  CUDA_CHECK(cudaMalloc((void **)&dout, sizeof(double) * (size_t)(t.nb * V)));
  CUDA_CHECK(cudaMalloc((void **)&dacc, sizeof(int64_t) * (size_t)W));
  double *out = ps_malloc(sizeof(double) * (size_t)(t.nb * V)), *out2 = ps_malloc(sizeof(double) * (size_t)(t.nb * V));
  for (int rep = 0; rep < 2; rep++) {
    ps_grad_csr_blocks(dptr, didx, dval, dY, dblk, t.nb, c, k, dth, dwp, dwn, dout, stream);
    CUDA_CHECK(cudaMemcpyAsync(rep ? out2 : out, dout, sizeof(double) * (size_t)(t.nb * V), cudaMemcpyDeviceToHost, stream));
    CUDA_CHECK(cudaStreamSynchronize(stream));
  }
  EXPECT(!memcmp(out, out2, sizeof(double) * (size_t)(t.nb * V)), "n=%lld c=%d k=%d: two runs differ", (long long)n, c, k);
  /* the twin, block by block; the host's exact words of its sums */
  ps_grad_csr_t *a = ps_grad_csr_begin(c, k, t.theta, t.wp, t.wn, NULL);
  double *tw = ps_malloc(sizeof(double) * (size_t)V);
  int64_t *acc = ps_calloc((size_t)W, sizeof(int64_t)), *dacc_h = ps_malloc(sizeof(int64_t) * (size_t)W);
  int bad = 0;
  for (int64_t b = 0; b < t.nb; b++) {
    const int64_t *p = t.ptr + t.blk[b];
    ps_grad_csr_block(a, p, t.idx + p[0], t.val + p[0], t.Y + t.blk[b] * k, t.blk[b + 1] - t.blk[b], tw, tw + k, NULL);
    for (int64_t v = 0; v < V; v++) {
      ps_xsum_add(acc + v * PS_XS_WORDS, tw[v]);
      if (memcmp(&tw[v], &out[b * V + v], sizeof(double)) && bad++ < 3)
        EXPECT(0, "n=%lld c=%d k=%d block %lld value %lld: kernel %.17g, twin %.17g", (long long)n, c, k, (long long)b,
               (long long)v, out[b * V + v], tw[v]);
    }
  }
  EXPECT(!bad, "n=%lld c=%d k=%d: %d sums differ from the twin's", (long long)n, c, k, bad);
  /* exact words: the blocks in two launches into one accumulator */
  CUDA_CHECK(cudaMemsetAsync(dacc, 0, sizeof(int64_t) * (size_t)W, stream));
  int64_t half = t.nb / 2;
  ps_xsum_blocks(dout, half, V, dacc, stream);
  ps_xsum_blocks(dout + half * V, t.nb - half, V, dacc, stream);
  CUDA_CHECK(cudaMemcpyAsync(dacc_h, dacc, sizeof(int64_t) * (size_t)W, cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
  for (int64_t v = 0; v < V; v++) {
    ps_xsum_norm(acc + v * PS_XS_WORDS);
    ps_xsum_norm(dacc_h + v * PS_XS_WORDS);
  }
  EXPECT(!memcmp(acc, dacc_h, sizeof(int64_t) * (size_t)W), "n=%lld c=%d k=%d: exact words differ", (long long)n, c, k);
  ps_grad_csr_end(a);
  void *d[] = {dptr, dblk, didx, dval, dY, dth, dwp, dwn, dout, dacc};
  for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) CUDA_CHECK(cudaFree(d[i]));
  free(out); free(out2); free(tw); free(acc); free(dacc_h);
  free_case(&t);
}

/* The case's rows made dense (a few zeros made -0.0): ps_grad_dense_blocks against ps_grad_cpu_block, bitwise. */
static void check_dense(int64_t n, int c, int k, double dens, uint64_t seed) {
  csr_case_t t;
  make_case(&t, n, c, k, dens, seed);
  const int64_t V = k + (int64_t)k * (c + 1);
  float *X = ps_calloc((size_t)(n * c + 1), sizeof(float));
  for (int64_t i = 0; i < n; i++)
    for (int64_t p = t.ptr[i]; p < t.ptr[i + 1]; p++) X[i * c + t.idx[p]] = t.val[p];
  for (int64_t e = 0; e < n * c; e += 13) X[e] = X[e] == 0.0f ? -0.0f : X[e];
  float *dX = dev_copy(X, sizeof(float) * (size_t)(n * c));
  int64_t *dblk = dev_copy(t.blk, sizeof(int64_t) * (size_t)(t.nb + 1));
  uint8_t *dY = dev_copy(t.Y, (size_t)(n * k));
  double *dth = dev_copy(t.theta, sizeof(double) * (size_t)(k * (c + 1)));
  double *dwp = dev_copy(t.wp, sizeof(double) * (size_t)k), *dwn = dev_copy(t.wn, sizeof(double) * (size_t)k);
  double *dout = NULL, *out = ps_malloc(sizeof(double) * (size_t)(t.nb * V)), *tw = ps_malloc(sizeof(double) * (size_t)V);
  CUDA_CHECK(cudaMalloc((void **)&dout, sizeof(double) * (size_t)(t.nb * V)));
  ps_grad_dense_blocks(dX, dY, dblk, t.nb, c, k, dth, dwp, dwn, dout, stream);
  CUDA_CHECK(cudaMemcpyAsync(out, dout, sizeof(double) * (size_t)(t.nb * V), cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
  ps_grad_acc_t *a = ps_grad_cpu_begin(c, k, t.theta, t.wp, t.wn, NULL);
  int bad = 0;
  for (int64_t b = 0; b < t.nb; b++) {
    ps_grad_cpu_block(a, X + t.blk[b] * c, t.Y + t.blk[b] * k, t.blk[b + 1] - t.blk[b], tw, tw + k, NULL);
    for (int64_t v = 0; v < V; v++)
      if (memcmp(&tw[v], &out[b * V + v], sizeof(double)) && bad++ < 3)
        EXPECT(0, "dense n=%lld c=%d k=%d block %lld value %lld: kernel %.17g, twin %.17g", (long long)n, c, k,
               (long long)b, (long long)v, out[b * V + v], tw[v]);
  }
  EXPECT(!bad, "dense n=%lld c=%d k=%d: %d sums differ from the twin's", (long long)n, c, k, bad);
  double *dummy = ps_malloc(sizeof(double) * (size_t)V);
  ps_grad_cpu_end(a, dummy, dummy + k, NULL);
  void *d[] = {dX, dblk, dY, dth, dwp, dwn, dout};
  for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) CUDA_CHECK(cudaFree(d[i]));
  free(X); free(out); free(tw); free(dummy);
  free_case(&t);
}

int main(void) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    printf("no CUDA device: GPU tests skipped\n");
    return 77;
  }
  double t0 = ps_now();
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  check(1, 1, 1, 1.0, 1);
  check(3, 7, 2, 0.5, 2);    /* one short group only */
  check(257, 8, 1, 0.3, 3);  /* a full block and a one-row block */
  check(700, 9, 3, 0.4, 4);  /* columns past the lanes' multiple */
  check(900, 300, 2, 0.02, 5);
  check(300, 40, 16, 0.1, 6);
  check(600, 2000, 1, 0.005, 7);
  check(12000, 6, 3, 0.5, 8); /* ~90 blocks: the block sums' words over several slices (xsum_kernel) */
  check_dense(1, 1, 1, 1.0, 11);
  check_dense(3, 7, 2, 0.5, 12);
  check_dense(257, 8, 1, 0.3, 13);
  check_dense(700, 9, 3, 0.9, 14);
  check_dense(600, 40, 16, 0.5, 15);
  check_dense(300, 300, 2, 0.7, 16);
  CUDA_CHECK(cudaStreamDestroy(stream));
  printf("CSR and dense gradient kernel: %s: %d failure%s (%.1f s)\n", failures ? "FAILED" : "passed", failures,
         failures == 1 ? "" : "s", ps_now() - t0);
  return failures ? 1 : 0;
}
