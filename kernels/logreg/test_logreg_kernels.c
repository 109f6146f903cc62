/* test_logreg_kernels.c: each logistic-regression kernel (grad.cu, score.cu)
 * against its CPU twin (grad_cpu.c, score_cpu.c) on small and odd shapes --
 * one row, fewer rows than a tile, columns not a multiple of 32, 1, 2, 3, 16
 * and 17 heads, float32 and bfloat16 rows, dynamic shared memory above
 * 48 KiB, more tiles than blocks (double-buffered copies), rows too wide
 * for a tile -- and each bitwise the same when run twice. Also the bfloat16
 * conversion (round to nearest even), and the plans under the device's
 * opt-in shared memory per block (ctest runs this again on the emulated
 * device with 163 KiB, sm_80, and 99 KiB, sm_86/89: the tiles shrink, the
 * widest gradients go to cuBLAS, the widest scores to the warp-per-row
 * kernel, and the results still match the twins). Runs on a GPU or on the emulated
 * device (tests/cudasim); exits 77 (ctest: skipped) with "no CUDA device"
 * without one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>
#include <cublas_v2.h>

#include "common/cuda_check.h"
#include "common/psmath.h"
#include "core/rng.h"
#include "core/util.h"
#include "logreg/logreg_cpu.h"
#include "logreg/logreg_kernels.h"

#include "common/test_expect.h"

static cudaStream_t stream;
static cublasHandle_t blas;

static void *dev_copy(const void *h, size_t bytes) {
  void *d = NULL;
  CUDA_CHECK(cudaMalloc(&d, bytes ? bytes : 8));
  if (bytes) CUDA_CHECK(cudaMemcpyAsync(d, h, bytes, cudaMemcpyHostToDevice, stream));
  return d;
}
static void *dev_alloc(size_t bytes) {
  void *d = NULL;
  CUDA_CHECK(cudaMalloc(&d, bytes ? bytes : 8));
  return d;
}
static void down(void *h, const void *d, size_t bytes) {
  CUDA_CHECK(cudaMemcpyAsync(h, d, bytes, cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
}

/* Largest |a - b| over the largest |b|; NaN on one side only: infinite. */
static double rel(const double *a, const double *b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    if (isnan(a[i]) != isnan(b[i])) return INFINITY;
    num = fmax(num, fabs(a[i] - b[i]));
    den = fmax(den, fabs(b[i]));
  }
  return num / (den > 0 ? den : 1);
}

typedef struct {
  int64_t n, c;
  int k, xtype;
  float *X;      /* what the CPU twin reads (bf16-rounded for bf16) */
  void *Xs;      /* the device's storage: float or bf16 bits */
  uint8_t *Y;
  double *theta, *wp, *wn;
  void *dX;
  uint8_t *dY;
  double *dtheta, *dwp, *dwn;
} case_t;

static case_t make_case(int64_t n, int64_t c, int k, int xtype) {
  case_t t = {.n = n, .c = c, .k = k, .xtype = xtype};
  size_t cells = (size_t)(n * c);
  t.X = ps_malloc(sizeof(float) * cells + 4);
  uint16_t *xb = ps_malloc(2 * cells + 2);
  for (size_t i = 0; i < cells; i++) {
    float v = (float)ps_rng_normal(21, (uint64_t)c, i, (uint64_t)k);
    xb[i] = ps_float_to_bf16(v);
    t.X[i] = xtype == PS_X_BF16 ? ps_bf16_to_float(xb[i]) : v;
  }
  t.Y = ps_malloc((size_t)(n * k) + 1);
  for (int64_t i = 0; i < n * k; i++) t.Y[i] = ps_rng_unif(22, (uint64_t)k, (uint64_t)i, 0) < 0.3;
  t.theta = ps_malloc(sizeof(double) * (size_t)(k * (c + 1)));
  for (int64_t i = 0; i < k * (c + 1); i++) t.theta[i] = 0.1 * ps_rng_normal(23, 0, (uint64_t)i, 0);
  t.wp = ps_malloc(sizeof(double) * (size_t)k);
  t.wn = ps_malloc(sizeof(double) * (size_t)k);
  for (int h = 0; h < k; h++) {
    t.wp[h] = 2.0 + h;
    t.wn[h] = 0.5;
  }
  t.Xs = xtype == PS_X_BF16 ? (void *)xb : (void *)t.X;
  t.dX = dev_copy(t.Xs, cells * (xtype == PS_X_BF16 ? 2 : 4));
  t.dY = dev_copy(t.Y, (size_t)(n * k));
  t.dtheta = dev_copy(t.theta, sizeof(double) * (size_t)(k * (c + 1)));
  t.dwp = dev_copy(t.wp, sizeof(double) * (size_t)k);
  t.dwn = dev_copy(t.wn, sizeof(double) * (size_t)k);
  if (xtype != PS_X_BF16) free(xb);
  return t;
}

static void free_case(case_t *t) {
  if (t->Xs != t->X) free(t->Xs);
  free(t->X); free(t->Y); free(t->theta); free(t->wp); free(t->wn);
  void *d[] = {t->dX, t->dY, t->dtheta, t->dwp, t->dwn};
  for (int i = 0; i < 5; i++) CUDA_CHECK(cudaFree(d[i]));
}

/* The CPU twin's sums: out = [k losses][k (c+1) gradient]; H (if hmask) [k][(c+1)^2]. */
static void twin(const case_t *t, double *out, double *H, const uint8_t *hmask) {
  ps_grad_acc_t *a = ps_grad_cpu_begin(t->c, t->k, t->theta, t->wp, t->wn, hmask);
  ps_grad_cpu_rows(a, t->X, t->Y, t->n);
  ps_grad_cpu_end(a, out, out + t->k, H);
}

static void check_grad(int64_t n, int64_t c, int k, int xtype, int fused) {
  case_t t = make_case(n, c, k, xtype);
  size_t len = (size_t)(k + k * (c + 1));
  double *want = ps_malloc(sizeof(double) * len), *got = ps_malloc(sizeof(double) * len);
  double *again = ps_malloc(sizeof(double) * len);
  twin(&t, want, NULL, NULL);
  double *dout = dev_alloc(sizeof(double) * len), *work;
  if (fused && !ps_grad_fused_ok((int)c, k, xtype)) fused = 0; /* as the backend: no tile fits this device */
  if (fused) {
    work = dev_alloc(ps_grad_scratch(n, (int)c, k, xtype));
    ps_grad_fused(t.dX, xtype, t.dY, n, (int)c, k, t.dtheta, t.dwp, t.dwn, work, dout, stream);
    down(got, dout, sizeof(double) * len);
    ps_grad_fused(t.dX, xtype, t.dY, n, (int)c, k, t.dtheta, t.dwp, t.dwn, work, dout, stream);
  } else {
    work = dev_alloc(ps_grad_blas_work((int)c, k));
    ps_grad_blas(blas, t.dX, xtype, t.dY, n, (int)c, k, t.dtheta, t.dwp, t.dwn, work, dout, stream);
    down(got, dout, sizeof(double) * len);
    ps_grad_blas(blas, t.dX, xtype, t.dY, n, (int)c, k, t.dtheta, t.dwp, t.dwn, work, dout, stream);
  }
  down(again, dout, sizeof(double) * len);
  double el = rel(got, want, (size_t)k), eg = rel(got + k, want + k, len - (size_t)k);
  EXPECT(el < 1e-12 && eg < 1e-12, "grad %s n=%lld c=%lld k=%d %s: loss %.2e gradient %.2e (relative)",
         fused ? "fused" : "cuBLAS", (long long)n, (long long)c, k, xtype ? "bf16" : "f32", el, eg);
  EXPECT(memcmp(got, again, sizeof(double) * len) == 0, "grad %s n=%lld c=%lld k=%d: two runs differ",
         fused ? "fused" : "cuBLAS", (long long)n, (long long)c, k);
  CUDA_CHECK(cudaFree(dout));
  CUDA_CHECK(cudaFree(work));
  free(want); free(got); free(again);
  free_case(&t);
}

static void check_hess(int64_t n, int64_t c, int k, int xtype) {
  case_t t = make_case(n, c, k, xtype);
  int64_t c1 = c + 1;
  size_t hl = (size_t)(c1 * c1);
  uint8_t *mask = ps_malloc((size_t)k);
  memset(mask, 1, (size_t)k);
  double *out = ps_malloc(sizeof(double) * (size_t)(k + k * c1)), *want = ps_malloc(sizeof(double) * hl * (size_t)k);
  double *got = ps_malloc(sizeof(double) * hl), *again = ps_malloc(sizeof(double) * hl);
  twin(&t, out, want, mask);
  double *dH = dev_alloc(sizeof(double) * hl), *work = dev_alloc(ps_hess_work((int)c));
  for (int h = 0; h < k; h++) {
    for (int rep = 0; rep < 2; rep++) {
      CUDA_CHECK(cudaMemsetAsync(dH, 0, sizeof(double) * hl, stream));
      ps_hess(blas, t.dX, xtype, t.dY, n, (int)c, k, h, t.dtheta, t.dwp, t.dwn, work, dH, stream);
      down(rep ? again : got, dH, sizeof(double) * hl);
    }
    for (int64_t i = 0; i < c1; i++) /* upper triangle, column-major: mirror */
      for (int64_t j = i + 1; j < c1; j++) got[i * c1 + j] = got[j * c1 + i];
    double e = rel(got, want + (size_t)h * hl, hl);
    EXPECT(e < 1e-12, "hess n=%lld c=%lld k=%d head %d %s: %.2e (relative)", (long long)n, (long long)c, k, h,
           xtype ? "bf16" : "f32", e);
    for (int64_t i = 0; i < c1; i++)
      for (int64_t j = i + 1; j < c1; j++) again[i * c1 + j] = again[j * c1 + i];
    EXPECT(memcmp(got, again, sizeof(double) * hl) == 0, "hess n=%lld c=%lld head %d: two runs differ", (long long)n,
           (long long)c, h);
  }
  CUDA_CHECK(cudaFree(dH));
  CUDA_CHECK(cudaFree(work));
  free(mask); free(out); free(want); free(got); free(again);
  free_case(&t);
}

static void check_score(int64_t n, int64_t c, int k, int xtype) {
  case_t t = make_case(n, c, k, xtype);
  size_t np = (size_t)(n * k);
  float *want = ps_malloc(sizeof(float) * np + 4), *got = ps_malloc(sizeof(float) * np + 4);
  float *again = ps_malloc(sizeof(float) * np + 4);
  float *dP = dev_alloc(sizeof(float) * np);
  /* standardized rows */
  ps_score_std_cpu(t.X, n, c, k, t.theta, want);
  ps_score_std(t.dX, xtype, n, (int)c, k, t.dtheta, dP, stream);
  down(got, dP, sizeof(float) * np);
  ps_score_std(t.dX, xtype, n, (int)c, k, t.dtheta, dP, stream);
  down(again, dP, sizeof(float) * np);
  double e = 0;
  for (size_t i = 0; i < np; i++) e = isnan(got[i]) ? INFINITY : fmax(e, fabs((double)got[i] - (double)want[i]));
  EXPECT(e < 1e-6, "score_std n=%lld c=%lld k=%d %s: max |dp| %.2e", (long long)n, (long long)c, k,
         xtype ? "bf16" : "f32", e);
  EXPECT(memcmp(got, again, sizeof(float) * np) == 0, "score_std n=%lld c=%lld k=%d: two runs differ", (long long)n,
         (long long)c, k);
  if (xtype == PS_X_F32) { /* raw rows: f = c + 3 inputs, a shuffled transform, NaN imputed */
    int64_t f = c + 3;
    float *R = ps_malloc(sizeof(float) * (size_t)(n * f) + 4);
    for (int64_t i = 0; i < n * f; i++) R[i] = (float)ps_rng_normal(24, 0, (uint64_t)i, 0);
    for (int64_t i = 0; i < n; i += 7) R[i * f + (i % f)] = NAN;
    int64_t *src = ps_malloc(sizeof(int64_t) * (size_t)c);
    uint8_t *kind = ps_malloc((size_t)c);
    double *mean = ps_malloc(sizeof(double) * (size_t)c), *scale = ps_malloc(sizeof(double) * (size_t)c);
    for (int64_t j = 0; j < c; j++) {
      src[j] = (j * 5 + 2) % f;
      kind[j] = j % 4 == 3 ? PS_COL_MISSING : PS_COL_VALUE;
      mean[j] = 0.2 * (double)(j % 3);
      scale[j] = j % 9 == 8 ? 0.0 : 0.9 + 0.02 * (double)j;
    }
    ps_score_raw_cpu(R, n, f, c, k, src, kind, mean, scale, t.theta, want);
    float *dR = dev_copy(R, sizeof(float) * (size_t)(n * f));
    int64_t *dsrc = dev_copy(src, sizeof(int64_t) * (size_t)c);
    uint8_t *dkind = dev_copy(kind, (size_t)c);
    double *dmean = dev_copy(mean, sizeof(double) * (size_t)c), *dscale = dev_copy(scale, sizeof(double) * (size_t)c);
    ps_score_raw(dR, n, (int)f, (int)c, k, dsrc, dkind, dmean, dscale, t.dtheta, dP, stream);
    down(got, dP, sizeof(float) * np);
    e = 0;
    for (size_t i = 0; i < np; i++) e = isnan(got[i]) ? INFINITY : fmax(e, fabs((double)got[i] - (double)want[i]));
    EXPECT(e < 1e-6, "score_raw n=%lld c=%lld k=%d: max |dp| %.2e", (long long)n, (long long)c, k, e);
    void *d[] = {dR, dsrc, dkind, dmean, dscale};
    for (int i = 0; i < 5; i++) CUDA_CHECK(cudaFree(d[i]));
    free(R); free(src); free(kind); free(mean); free(scale);
  }
  CUDA_CHECK(cudaFree(dP));
  free(want); free(got); free(again);
  free_case(&t);
}

/* Which gradients the fused kernel takes under the device's opt-in shared
 * memory per block: a tile of 16 rows (the smallest) of c 512, k 5, float32
 * needs 104,768 bytes and of c 504, k 16, bfloat16 110,208 (so not at
 * 99 KiB); c 400, k 2 needs 85,312 (fits everywhere). */
static void check_plans(void) {
  int optin = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0));
  printf("opt-in shared memory per block: %d bytes\n", optin);
  EXPECT(ps_grad_fused_ok(512, 5, PS_X_F32) == (optin >= 104768), "fused c 512 k 5 f32 at %d bytes: %d", optin,
         ps_grad_fused_ok(512, 5, PS_X_F32));
  EXPECT(ps_grad_fused_ok(504, 16, PS_X_BF16) == (optin >= 110208), "fused c 504 k 16 bf16 at %d bytes: %d", optin,
         ps_grad_fused_ok(504, 16, PS_X_BF16));
  EXPECT(ps_grad_fused_ok(400, 2, PS_X_F32) && ps_grad_fused_ok(256, 16, PS_X_F32), "fused c 400 k 2 / c 256 k 16");
  EXPECT(!ps_grad_fused_ok(513, 1, PS_X_F32) && !ps_grad_fused_ok(8, 17, PS_X_F32), "fused beyond its columns/heads");
}

static void check_bf16(void) {
  static const struct {
    uint32_t in;
    uint16_t out;
  } cases[] = {{0x3f800000u, 0x3f80}, {0x3f808000u, 0x3f80}, {0x3f818000u, 0x3f82}, {0x3f808001u, 0x3f81},
               {0x7f7fffffu, 0x7f80}, {0xff800000u, 0xff80}, {0x7fc00000u, 0x7fff}, {0x80000001u, 0x8000}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    float f;
    memcpy(&f, &cases[i].in, 4);
    uint16_t b = ps_float_to_bf16(f);
    EXPECT(b == cases[i].out, "bf16 of %08x: %04x, expected %04x (round to nearest even)", cases[i].in, b, cases[i].out);
  }
  EXPECT(ps_bf16_to_float(0x4049) == 3.140625f, "bf16 0x4049 -> %g", ps_bf16_to_float(0x4049));
}

int main(void) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    printf("no CUDA device: GPU tests skipped\n");
    return 77;
  }
  double t0 = ps_now();
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  CUBLAS_CHECK(cublasCreate(&blas));
  CUBLAS_CHECK(cublasSetAtomicsMode(blas, CUBLAS_ATOMICS_NOT_ALLOWED));
  check_bf16();
  check_plans();
  /* shapes: rows 1, < one tile (32), just over, many tiles; columns 1, odd, not a multiple of 32, one warp + 1 */
  static const int64_t rows[] = {1, 31, 33, 1000};
  static const int64_t cols[] = {1, 5, 33, 64};
  static const int heads[] = {1, 2, 3, 16};
  for (size_t i = 0; i < 4; i++)
    for (size_t j = 0; j < 4; j++)
      for (size_t h = 0; h < 4; h++) {
        if (rows[i] == 1000 && heads[h] == 16 && cols[j] > 5) continue; /* keep it quick */
        check_grad(rows[i], cols[j], heads[h], PS_X_F32, 1);
        if (h == 1) check_grad(rows[i], cols[j], heads[h], PS_X_BF16, 1);
        if (h <= 1 || j == 2) check_grad(rows[i], cols[j], heads[h], j % 2 ? PS_X_BF16 : PS_X_F32, 0);
        check_score(rows[i], cols[j], heads[h], PS_X_F32);
        if (h == 2) check_score(rows[i], cols[j], heads[h], PS_X_BF16);
      }
  check_grad(37, 400, 2, PS_X_F32, 1);   /* 56 KiB of dynamic shared memory: needs the attribute */
  check_grad(37, 400, 2, PS_X_BF16, 1);
  check_grad(33, 512, 5, PS_X_F32, 1);   /* the widest fused case */
  check_grad(40, 504, 16, PS_X_BF16, 1); /* the widest at 16 heads */
  check_grad(300, 20, 11, PS_X_F32, 1);  /* 9..15 heads: the second head tile part padding (its own warps) */
  check_grad(33, 1536, 5, PS_X_F32, 0);  /* wider: cuBLAS, tiles of 682 rows */
  /* more tiles than blocks: each block walks several tiles (double-buffered copies) */
  check_grad(17500, 8, 3, PS_X_F32, 1);
  check_grad(17500, 12, 9, PS_X_BF16, 1);
  check_score(17500, 8, 3, PS_X_F32);
  check_score(17500, 16, 9, PS_X_BF16);
  check_score(40, 3000, 2, PS_X_F32);    /* rows too wide for a tile: the warp-per-row kernel */
  check_score(40, 600, 2, PS_X_F32);     /* tiles of 16-32 rows; at 99 KiB the warp-per-row kernel */
  check_grad(40, 400, 2, PS_X_F32, 1);   /* tiles of 16-32 rows, whatever the opt-in limit */
  check_grad(40, 256, 16, PS_X_F32, 1);
  check_grad(300, 7, 17, PS_X_F32, 0);   /* 17 heads: cuBLAS only */
  check_grad(16500, 3, 2, PS_X_BF16, 0); /* two cuBLAS tiles of rows */
  check_score(300, 7, 17, PS_X_F32);     /* 17 heads: two head groups */
  check_score(70, 40, 33, PS_X_BF16);
  static const int64_t hrows[] = {1, 37, 1000};
  static const int64_t hcols[] = {1, 5, 33};
  for (size_t i = 0; i < 3; i++)
    for (size_t j = 0; j < 3; j++) {
      check_hess(hrows[i], hcols[j], 1, PS_X_F32);
      check_hess(hrows[i], hcols[j], 3, i == 1 ? PS_X_BF16 : PS_X_F32);
    }
  check_hess(16500, 2, 2, PS_X_F32); /* two tiles of rows */
  CUBLAS_CHECK(cublasDestroy(blas));
  CUDA_CHECK(cudaStreamDestroy(stream));
  printf("logreg kernels: %s: %d failure%s (%.1f s)\n", failures ? "FAILED" : "passed", failures,
         failures == 1 ? "" : "s", ps_now() - t0);
  return failures ? 1 : 0;
}
