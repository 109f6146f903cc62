/* test_kmeans_kernels.c: every k-means CUDA kernel against its CPU twin on
 * the same rows -- the argmin given the same GEMM result (identical labels
 * and distances), the full assignment through cuBLAS (identical labels
 * away from near-ties), the update (identical integer sums, so centroids
 * within 1e-9 relative). Exits 77 (ctest: skipped) with "no CUDA device"
 * when the machine has no GPU (or the emulated one is absent). */
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cuda_probe.h"
#include "core/rng.h"
#include "core/util.h"
#include "kmeans/kmeans_cpu.h"
#include "kmeans/kmeans_kernels.h"

#include "common/test_expect.h"

static void *dev_copy(const void *h, size_t bytes) {
  void *d = NULL;
  if (cudaMalloc(&d, bytes ? bytes : 1) != cudaSuccess) ps_die_local("cudaMalloc failed");
  if (bytes) cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice);
  return d;
}

static void one_case(int64_t n, int64_t c, int k) {
  float *X = ps_malloc(sizeof(float) * (size_t)(n * c)), *Cf = ps_malloc(sizeof(float) * (size_t)k * (size_t)c);
  double *cn = ps_malloc(sizeof(double) * (size_t)k);
  for (int j = 0; j < k; j++) {
    for (int64_t t = 0; t < c; t++) Cf[j * c + t] = (float)(2.0 * ps_rng_normal(3, 1, (uint64_t)j, 2 * (uint64_t)t));
    cn[j] = km_norm2(Cf + j * c, c);
  }
  for (int64_t i = 0; i < n; i++) {
    int q = (int)(ps_rng_unif(3, 2, (uint64_t)i, 0) * k);
    for (int64_t t = 0; t < c; t++)
      X[i * c + t] = Cf[q * c + t] + (float)ps_rng_normal(3, 3, (uint64_t)i, 2 * (uint64_t)t);
  }
  /* CPU twin */
  float *G = ps_malloc(sizeof(float) * (size_t)(n * k)), *work = ps_malloc(sizeof(float) * (size_t)km_assign_work(c, k));
  int32_t *lab = ps_malloc(sizeof(int32_t) * (size_t)n), *lab_g = ps_malloc(sizeof(int32_t) * (size_t)n);
  double *d2 = ps_malloc(sizeof(double) * (size_t)n), *d2_g = ps_malloc(sizeof(double) * (size_t)n);
  for (int64_t i = 0; i < n; i++)
    for (int j = 0; j < k; j++) {
      double s = 0;
      for (int64_t t = 0; t < c; t++) s += (double)X[i * c + t] * Cf[j * c + t];
      G[i * k + j] = (float)s;
    }
  double *xn = ps_malloc(sizeof(double) * (size_t)n), *xn_g = ps_malloc(sizeof(double) * (size_t)n);
  km_norms_cpu(X, n, c, xn);
  km_argmin_cpu(xn, n, G, cn, k, lab, d2);
  /* device: the same G */
  float *dX = dev_copy(X, sizeof(float) * (size_t)(n * c)), *dG = dev_copy(G, sizeof(float) * (size_t)(n * k));
  float *dC = dev_copy(Cf, sizeof(float) * (size_t)(k * c));
  double *dcn = dev_copy(cn, sizeof(double) * (size_t)k), *dd2 = dev_copy(d2, sizeof(double) * (size_t)n);
  int32_t *dlab = dev_copy(lab, sizeof(int32_t) * (size_t)n);
  double *dxn = dev_copy(xn, sizeof(double) * (size_t)n);
  km_norms_cuda(dX, n, c, dxn, 0);
  cudaMemcpy(xn_g, dxn, sizeof(double) * (size_t)n, cudaMemcpyDeviceToHost);
  EXPECT(!memcmp(xn, xn_g, sizeof(double) * (size_t)n), "row norms differ");
  km_argmin_cuda(dxn, n, dG, dcn, k, dlab, dd2, 0);
  cudaMemcpy(lab_g, dlab, sizeof(int32_t) * (size_t)n, cudaMemcpyDeviceToHost);
  cudaMemcpy(d2_g, dd2, sizeof(double) * (size_t)n, cudaMemcpyDeviceToHost);
  EXPECT(!memcmp(lab, lab_g, sizeof(int32_t) * (size_t)n), "argmin labels differ (n %lld c %lld k %d)", (long long)n,
         (long long)c, k);
  EXPECT(!memcmp(d2, d2_g, sizeof(double) * (size_t)n), "argmin distances differ");
  /* the full assignment through cuBLAS vs OpenBLAS: labels identical */
  km_assign_cpu(X, xn, n, c, Cf, cn, k, lab, d2, work);
  cublasHandle_t h;
  cublasCreate(&h);
  km_assign_cuda(h, dX, dxn, n, c, dC, dcn, k, dG, dlab, dd2, 0);
  cudaMemcpy(lab_g, dlab, sizeof(int32_t) * (size_t)n, cudaMemcpyDeviceToHost);
  cudaMemcpy(d2_g, dd2, sizeof(double) * (size_t)n, cudaMemcpyDeviceToHost);
  int64_t diff = 0;
  double maxd = 0;
  for (int64_t i = 0; i < n; i++) {
    diff += lab[i] != lab_g[i];
    maxd = fmax(maxd, fabs(d2[i] - d2_g[i]) / fmax(1.0, d2[i]));
  }
  EXPECT(diff == 0, "assign: %lld labels differ", (long long)diff);
  EXPECT(maxd < 1e-4, "assign: distances differ by %g relative", maxd);
  /* update: integer sums identical -> centroids identical */
  size_t na = (size_t)k * (size_t)c + (size_t)k + 1;
  int64_t *acc = ps_calloc(na, sizeof(int64_t)), *acc_g = ps_calloc(na, sizeof(int64_t));
  km_update_cpu(X, n, c, lab_g, d2_g, k, acc, acc + (size_t)k * (size_t)c, acc + na - 1);
  int64_t *dacc = dev_copy(acc_g, sizeof(int64_t) * na);
  km_update_cuda(dX, n, c, dlab, dd2, k, dacc, dacc + (size_t)k * (size_t)c, dacc + na - 1, 0);
  cudaMemcpy(acc_g, dacc, sizeof(int64_t) * na, cudaMemcpyDeviceToHost);
  double rel = 0;
  for (int j = 0; j < k; j++)
    for (int64_t t = 0; t < c; t++) {
      int64_t cnt = acc[(size_t)k * (size_t)c + (size_t)j];
      if (!cnt) continue;
      double a = (double)acc[j * c + t] / KM_FIX_X / (double)cnt, b = (double)acc_g[j * c + t] / KM_FIX_X / (double)cnt;
      rel = fmax(rel, fabs(a - b) / fmax(1e-300, fabs(a)));
    }
  EXPECT(!memcmp(acc, acc_g, sizeof(int64_t) * na), "update: integer sums differ");
  EXPECT(rel <= 1e-9, "update: centroids differ by %g relative", rel);
  cublasDestroy(h);
  cudaFree(dX), cudaFree(dG), cudaFree(dC), cudaFree(dcn), cudaFree(dd2), cudaFree(dlab), cudaFree(dacc), cudaFree(dxn);
  free(xn), free(xn_g);
  free(X), free(Cf), free(cn), free(G), free(work), free(lab), free(lab_g), free(d2), free(d2_g), free(acc),
      free(acc_g);
}

int main(void) {
  char desc[256];
  if (ps_cuda_probe(desc, sizeof desc) < 1) {
    printf("no CUDA device: skipped\n");
    return 77;
  }
  printf("%s\n", desc);
  one_case(1, 3, 1);
  one_case(1000, 8, 5);
  one_case(5003, 32, 26);
  one_case(777, 1, 4);
  if (failures) fprintf(stderr, "%d failure(s)\n", failures);
  else printf("k-means kernels match their CPU twins\n");
  return failures ? 1 : 0;
}
