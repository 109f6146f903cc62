/* test_kmeans_kernels.c: every k-means CUDA kernel against its CPU twin on
 * the same rows, bit for bit -- the row norms, the fused Lloyd pass
 * (labels and distances as the panels' assignment, ties included; integer
 * sums as km_update_cpu; with and without stored labels, assignment only;
 * the fallback where shared memory is too small) and the update kernel. Exits 77 (ctest: skipped) with "no CUDA device"
 * when the machine has no GPU (or the emulated one is absent). */
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
  if (bytes && h) cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice);
  return d;
}

static void one_case(int64_t n, int64_t c, int k) {
  float *X = ps_malloc(sizeof(float) * (size_t)(n * c)), *Cf = ps_malloc(sizeof(float) * (size_t)k * (size_t)c);
  double *cn = ps_malloc(sizeof(double) * (size_t)k);
  for (int j = 0; j < k; j++) /* center 1 repeats center 0: ties go to the lowest index */
    for (int64_t t = 0; t < c; t++)
      Cf[j * c + t] = j == 1 ? Cf[t] : (float)(2.0 * ps_rng_normal(3, 1, (uint64_t)j, 2 * (uint64_t)t));
  for (int j = 0; j < k; j++) cn[j] = km_norm2(Cf + j * c, c);
  for (int64_t i = 0; i < n; i++) {
    int q = (int)(ps_rng_unif(3, 2, (uint64_t)i, 0) * k);
    for (int64_t t = 0; t < c; t++)
      X[i * c + t] = Cf[q * c + t] + (float)ps_rng_normal(3, 3, (uint64_t)i, 2 * (uint64_t)t);
  }
  /* CPU twin: the panels' assignment (reference and the CPU backend's), the update */
  float *P = aligned_alloc(64, (sizeof(float) * (size_t)km_panel_floats(n, c) + 63) / 64 * 64); /* aligned loads */
  km_pack_panels(X, n, c, P);
  int32_t *lab = ps_malloc(sizeof(int32_t) * (size_t)n), *lab_g = ps_malloc(sizeof(int32_t) * (size_t)n);
  double *d2 = ps_malloc(sizeof(double) * (size_t)n), *d2_g = ps_malloc(sizeof(double) * (size_t)n);
  double *xn = ps_malloc(sizeof(double) * (size_t)n), *xn_g = ps_malloc(sizeof(double) * (size_t)n);
  km_norms_cpu(X, n, c, xn);
  km_assign_panels_cpu(P, xn, n, c, Cf, cn, k, lab_g, d2_g);
  km_assign_panels_ref(P, xn, n, c, Cf, cn, k, lab, d2);
  EXPECT(!memcmp(lab, lab_g, sizeof(int32_t) * (size_t)n) && !memcmp(d2, d2_g, sizeof(double) * (size_t)n),
         "panels: the CPU backend's assignment differs from its reference");
  size_t na = (size_t)k * (size_t)c + (size_t)k + 1;
  int64_t *acc = ps_calloc(na, sizeof(int64_t)), *acc_g = ps_calloc(na, sizeof(int64_t));
  km_update_cpu(X, n, c, lab, d2, k, acc, acc + (size_t)k * (size_t)c, acc + na - 1);
  /* device */
  float *dX = dev_copy(X, sizeof(float) * (size_t)(n * c)), *dC = dev_copy(Cf, sizeof(float) * (size_t)(k * c));
  double *dcn = dev_copy(cn, sizeof(double) * (size_t)k), *dd2 = dev_copy(NULL, sizeof(double) * (size_t)n);
  int32_t *dlab = dev_copy(NULL, sizeof(int32_t) * (size_t)n);
  double *dxn = dev_copy(NULL, sizeof(double) * (size_t)n);
  int64_t *dacc = dev_copy(acc_g, sizeof(int64_t) * na);
  int64_t *dwork = dev_copy(NULL, sizeof(int64_t) * (size_t)km_lloyd_work(n, c, k));
  km_norms_cuda(dX, n, c, dxn, 0);
  cudaMemcpy(xn_g, dxn, sizeof(double) * (size_t)n, cudaMemcpyDeviceToHost);
  EXPECT(!memcmp(xn, xn_g, sizeof(double) * (size_t)n), "row norms differ");
  /* the fused pass twice: stored assignment, then sums only (added: twice the twin's) */
  km_lloyd_cuda(dX, dxn, n, c, dC, dcn, k, dlab, dd2, 1, dacc, dwork, 0);
  km_lloyd_cuda(dX, dxn, n, c, dC, dcn, k, dlab, dd2, 0, dacc, dwork, 0);
  cudaMemcpy(lab_g, dlab, sizeof(int32_t) * (size_t)n, cudaMemcpyDeviceToHost);
  cudaMemcpy(d2_g, dd2, sizeof(double) * (size_t)n, cudaMemcpyDeviceToHost);
  cudaMemcpy(acc_g, dacc, sizeof(int64_t) * na, cudaMemcpyDeviceToHost);
  EXPECT(!memcmp(lab, lab_g, sizeof(int32_t) * (size_t)n), "lloyd: labels differ (n %lld c %lld k %d)", (long long)n,
         (long long)c, k);
  EXPECT(!memcmp(d2, d2_g, sizeof(double) * (size_t)n), "lloyd: distances differ");
  int64_t diff = 0;
  for (size_t e = 0; e < na; e++) diff += acc_g[e] != 2 * acc[e];
  EXPECT(diff == 0, "lloyd: %lld integer sums differ", (long long)diff);
  /* assignment only */
  cudaMemset(dlab, 0xff, sizeof(int32_t) * (size_t)n);
  km_lloyd_cuda(dX, dxn, n, c, dC, dcn, k, dlab, dd2, 1, NULL, NULL, 0);
  cudaMemcpy(lab_g, dlab, sizeof(int32_t) * (size_t)n, cudaMemcpyDeviceToHost);
  EXPECT(!memcmp(lab, lab_g, sizeof(int32_t) * (size_t)n), "assignment only: labels differ");
  /* the update kernel (the fallback's) */
  cudaMemset(dacc, 0, sizeof(int64_t) * na);
  cudaMemcpy(dlab, lab, sizeof(int32_t) * (size_t)n, cudaMemcpyHostToDevice);
  km_update_cuda(dX, n, c, dlab, dd2, k, dacc, dacc + (size_t)k * (size_t)c, dacc + na - 1, 0);
  cudaMemcpy(acc_g, dacc, sizeof(int64_t) * na, cudaMemcpyDeviceToHost);
  EXPECT(!memcmp(acc, acc_g, sizeof(int64_t) * na), "update: integer sums differ");
  cudaFree(dX), cudaFree(dC), cudaFree(dcn), cudaFree(dd2), cudaFree(dlab), cudaFree(dacc), cudaFree(dxn);
  cudaFree(dwork);
  free(xn), free(xn_g), free(P);
  free(X), free(Cf), free(cn), free(lab), free(lab_g), free(d2), free(d2_g), free(acc), free(acc_g);
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
  one_case(300, 63, 3);   /* odd columns, rows short of a tile */
  one_case(257, 150, 200); /* k*c too big for shared memory: the fallback */
  if (failures) fprintf(stderr, "%d failure(s)\n", failures);
  else printf("k-means kernels match their CPU twins\n");
  return failures ? 1 : 0;
}
