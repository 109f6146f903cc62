/* test_kmeans_backend.c: the k-means CUDA backend (one fused pass a step,
 * labels and distances fetched only for re-seeding) against the CPU
 * backend on the same rows and centers, bit for bit: the sums, counts and
 * inertia of each step, and the labels and distances fetch returns after
 * it -- for several k on one backend (the device keeps the last step's
 * centers for fetch), where the CPU takes its panel kernel (the same dot
 * products; elsewhere the CPU's OpenBLAS path may differ near ties and the
 * test is skipped). Exits 77 with "no CUDA device" without a device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "comm/comm.h"
#include "core/rng.h"
#include "core/util.h"
#include "kmeans/kmeans_cpu.h"
#include "models/kmeans/backend.h"

#include "common/test_expect.h"

/* k centers: row j's values, perturbed (center 1 repeats center 0: ties) */
static void centers(const float *X, int64_t n, int64_t c, int k, float *Cf, double *cn) {
  for (int j = 0; j < k; j++) {
    for (int64_t t = 0; t < c; t++)
      Cf[j * c + t] = j == 1 ? Cf[t] : X[(size_t)((j * 7) % n) * (size_t)c + (size_t)t] + (float)ps_rng_normal(5, 2, j, t);
    cn[j] = km_norm2(Cf + j * c, c);
  }
}

static void one_case(int64_t n, int64_t c, int kmax) {
  float *X = ps_malloc(sizeof(float) * (size_t)(n * c)), *Cf = ps_malloc(sizeof(float) * (size_t)kmax * (size_t)c);
  double *cn = ps_malloc(sizeof(double) * (size_t)kmax);
  for (int64_t e = 0; e < n * c; e++) X[e] = (float)ps_rng_normal(5, 1, (uint64_t)e, 0);
  float *P = km_panels_new(X, n, c);
  km_backend_t *cpu = km_backend_cpu(X, P, n, c, kmax), *gpu = km_backend_cuda(X, n, c, kmax);
  size_t na = (size_t)kmax * (size_t)c + (size_t)kmax + 1;
  int64_t *a = ps_malloc(sizeof(int64_t) * na), *b = ps_malloc(sizeof(int64_t) * na);
  int32_t *la = ps_malloc(sizeof(int32_t) * (size_t)n), *lb = ps_malloc(sizeof(int32_t) * (size_t)n);
  double *da = ps_malloc(sizeof(double) * (size_t)n), *db = ps_malloc(sizeof(double) * (size_t)n);
  for (int k = kmax; k >= 1; k = k > 2 ? k / 2 : k - 1) {
    centers(X, n, c, k, Cf, cn);
    size_t m = (size_t)k * (size_t)c + (size_t)k + 1;
    memset(a, 0, sizeof(int64_t) * m), memset(b, 0, sizeof(int64_t) * m);
    cpu->step(cpu, Cf, cn, k, la, da, a);
    gpu->step(gpu, Cf, cn, k, lb, db, b);
    EXPECT(!memcmp(a, b, sizeof(int64_t) * m), "n %lld c %lld k %d: the step's sums differ", (long long)n,
           (long long)c, k);
    memset(lb, 0xff, sizeof(int32_t) * (size_t)n);
    cpu->fetch(cpu, la, da);
    gpu->fetch(gpu, lb, db);
    EXPECT(!memcmp(la, lb, sizeof(int32_t) * (size_t)n), "n %lld c %lld k %d: fetched labels differ", (long long)n,
           (long long)c, k);
    EXPECT(!memcmp(da, db, sizeof(double) * (size_t)n), "n %lld c %lld k %d: fetched distances differ", (long long)n,
           (long long)c, k);
  }
  cpu->destroy(cpu), gpu->destroy(gpu);
  free(P), free(X), free(Cf), free(cn), free(a), free(b), free(la), free(lb), free(da), free(db);
}

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    printf("no CUDA device: GPU tests skipped\n");
    comm_finalize();
    return 77;
  }
  if (!km_assign_panels_available()) {
    printf("the CPU has no AVX-512: its k-means path is OpenBLAS, not the device's bits: skipped\n");
    comm_finalize();
    return 77;
  }
  one_case(1000, 16, 12);
  one_case(333, 64, 26);
  one_case(100, 150, 110); /* k*c beyond shared memory: the fallback */
  printf("kmeans backend: %s: %d failure%s\n", failures ? "FAILED" : "passed", failures, failures == 1 ? "" : "s");
  comm_finalize();
  return failures ? 1 : 0;
}
