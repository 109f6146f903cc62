/* test_cuda_backend.c: the CUDA backend against its CPU twin on the same
 * rows -- loss, gradient, Hessian, scores (raw and standardized), float32
 * and bfloat16 storage, the fused and the cuBLAS gradient -- and bitwise
 * repeatability. Exits 77 (ctest: skipped) with "no CUDA device" when the
 * machine has no GPU. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/logreg/backend.h"
#include "comm/comm.h"
#include "logreg/logreg_kernels.h"
#include "common/psmath.h"
#include "core/rng.h"
#include "core/util.h"

static int failures = 0;
#define EXPECT(cond, ...)                                          \
  do {                                                             \
    if (!(cond)) {                                                 \
      failures++;                                                  \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);         \
      fprintf(stderr, __VA_ARGS__);                                \
      fputc('\n', stderr);                                         \
    }                                                              \
  } while (0)

static double max_rel(const double *a, const double *b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    num = fmax(num, fabs(a[i] - b[i]));
    den = fmax(den, fabs(b[i]));
  }
  return num / (den > 0 ? den : 1);
}

static void case_eval(int64_t n, int64_t c, int k, int bf16) {
  float *X = ps_malloc(sizeof(float) * (size_t)(n * c));
  uint8_t *Y = ps_malloc((size_t)(n * k));
  for (int64_t i = 0; i < n; i++) {
    for (int64_t j = 0; j < c; j++) {
      float v = (float)ps_rng_normal(7, 1, (uint64_t)i, 2 * (uint64_t)j);
      X[i * c + j] = bf16 ? ps_bf16_to_float(ps_float_to_bf16(v)) : v; /* the CPU sees the rounded rows */
    }
    for (int h = 0; h < k; h++) Y[i * k + h] = ps_rng_unif(7, 2, (uint64_t)i, (uint64_t)h) < 0.1 + 0.05 * h;
  }
  double *wp = ps_malloc(sizeof(double) * (size_t)k), *wn = ps_malloc(sizeof(double) * (size_t)k);
  for (int h = 0; h < k; h++) { wp[h] = 1.0 + h; wn[h] = 1.0; }
  int64_t c1 = c + 1;
  double *theta = ps_malloc(sizeof(double) * (size_t)(k * c1));
  for (int64_t i = 0; i < k * c1; i++) theta[i] = 0.05 * ps_rng_normal(9, 9, (uint64_t)i, 0);
  ps_backend_t *cpu = backend_cpu_create(), *gpu = backend_cuda_create(bf16 ? PS_X_BF16 : PS_X_F32);
  cpu->set_train(cpu, X, Y, n, c, k, wp, wn);
  gpu->set_train(gpu, X, Y, n, c, k, wp, wn);
  size_t gl = (size_t)(k * c1), hl = (size_t)(k * c1 * c1);
  double *l1 = ps_malloc(sizeof(double) * (size_t)k), *l2 = ps_malloc(sizeof(double) * (size_t)k);
  double *g1 = ps_malloc(sizeof(double) * gl), *g2 = ps_malloc(sizeof(double) * gl), *g3 = ps_malloc(sizeof(double) * gl);
  int want_h = c1 <= 300;
  double *h1 = want_h ? ps_malloc(sizeof(double) * hl) : NULL, *h2 = want_h ? ps_malloc(sizeof(double) * hl) : NULL;
  uint8_t *mask = ps_malloc((size_t)k);
  memset(mask, 1, (size_t)k);
  cpu->eval(cpu, theta, l1, g1, h1, mask);
  gpu->eval(gpu, theta, l2, g2, h2, mask);
  double el = max_rel(l2, l1, (size_t)k), eg = max_rel(g2, g1, gl), eh = want_h ? max_rel(h2, h1, hl) : 0;
  printf("eval n=%lld c=%lld k=%d %s%s: loss %.2e grad %.2e hess %.2e (relative)\n", (long long)n, (long long)c, k,
         bf16 ? "bf16" : "f32", (c1 * k > PS_GRAD_MAX_PAIRS || c > PS_GRAD_MAX_COLS) ? " (cuBLAS path)" : " (fused)", el, eg, eh);
  EXPECT(el < 1e-10, "loss differs %.3e", el);
  EXPECT(eg < 1e-5, "gradient differs %.3e", eg);
  EXPECT(eh < 1e-5, "Hessian differs %.3e", eh);
  gpu->eval(gpu, theta, l2, g3, NULL, NULL);
  EXPECT(memcmp(g2, g3, sizeof(double) * gl) == 0, "two GPU evaluations differ");

  /* scores of standardized rows and of raw rows with a transform */
  float *P1 = ps_malloc(sizeof(float) * (size_t)(n * k)), *P2 = ps_malloc(sizeof(float) * (size_t)(n * k));
  if (k <= PS_KMAX) {
    cpu->predict_std(cpu, theta, k, X, n, c, P1);
    gpu->predict_std(gpu, theta, k, X, n, c, P2);
    double e = 0;
    for (int64_t i = 0; i < n * k; i++) e = fmax(e, fabs(P1[i] - P2[i]));
    printf("predict_std: max |dp| %.2e\n", e);
    EXPECT(e < 1e-6, "standardized scores differ %.3e", e);
    int64_t *src = ps_malloc(sizeof(int64_t) * (size_t)c);
    uint8_t *kind = ps_malloc((size_t)c);
    double *mean = ps_malloc(sizeof(double) * (size_t)c), *scale = ps_malloc(sizeof(double) * (size_t)c);
    for (int64_t j = 0; j < c; j++) {
      src[j] = (j * 7) % c;
      kind[j] = j % 5 == 4 ? PS_COL_MISSING : PS_COL_VALUE;
      mean[j] = 0.1 * (double)(j % 3);
      scale[j] = j % 11 == 10 ? 0.0 : 1.0 + 0.01 * (double)j;
    }
    for (int64_t i = 0; i < n; i += 13) X[i * c + (i % c)] = NAN;
    ps_transform_t t = {c, c, src, kind, mean, scale};
    cpu->predict_raw(cpu, &t, theta, k, X, n, P1);
    gpu->predict_raw(gpu, &t, theta, k, X, n, P2);
    e = 0;
    for (int64_t i = 0; i < n * k; i++) e = fmax(e, fabs(P1[i] - P2[i]));
    printf("predict_raw: max |dp| %.2e\n", e);
    EXPECT(e < 1e-6, "raw scores differ %.3e", e);
    float *P3 = ps_malloc(sizeof(float) * (size_t)(n * k));
    gpu->predict_raw(gpu, &t, theta, k, X, n, P3);
    EXPECT(memcmp(P2, P3, sizeof(float) * (size_t)(n * k)) == 0, "two GPU scorings differ");
    free(P3); free(src); free(kind); free(mean); free(scale);
  }
  cpu->destroy(cpu);
  gpu->destroy(gpu);
  free(X); free(Y); free(wp); free(wn); free(theta); free(l1); free(l2); free(g1); free(g2); free(g3);
  free(h1); free(h2); free(mask); free(P1); free(P2);
}

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  if (backend_cuda_devices() == 0) {
    printf("no CUDA device: GPU tests skipped\n");
    comm_finalize();
    return 77;
  }
  case_eval(100003, 64, 2, 0);   /* odd n: partial last tile */
  case_eval(100003, 64, 2, 1);   /* bf16 storage */
  case_eval(50000, 256, 16, 0);  /* wide K, fused */
  case_eval(20000, 255, 3, 0);
  case_eval(4000, 5000, 2, 0);   /* (c+1) k > 8192: cuBLAS path */
  case_eval(6000, 2000, 3, 1);   /* c > 1536: cuBLAS path, bf16 rows */
  printf("%s: %d failure%s\n", failures ? "FAILED" : "passed", failures, failures == 1 ? "" : "s");
  comm_finalize();
  return failures ? 1 : 0;
}
