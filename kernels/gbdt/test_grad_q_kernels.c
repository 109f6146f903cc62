/* test_grad_q_kernels.c: a tree's gradients on the device (grad_q.cu)
 * against the twin (grad_q_cpu.c), bitwise: gq, hq, the loss sum and the
 * maxima for both labels, scores at 0, -0, +-35, +-64, +-745 and random,
 * two heads' labels (stride 2), the fix51 path and nearbyint's (class
 * weight near 2^51 / scale), lengths around the grid's stride; then the
 * packed quantized words at Q = 7, 127, 32767 with gradients on the steps'
 * boundaries (g = +-k sg, h = 0 and the maxima). Exits 77 (ctest: skipped)
 * with "no CUDA device" without a GPU (or the emulated one). */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cuda_probe.h"
#include "core/rng.h"
#include "core/util.h"
#include "gbdt/gbdt_cpu.h"
#include "gbdt/grad_q.h"

#include "common/test_device.h"
#include "common/test_expect.h"

static void check_quant(const int64_t *gq0, const int64_t *hq0, const int64_t *ids, int64_t n, const int64_t *top,
                        int32_t qmax, const char *name) {
  size_t b8 = sizeof(int64_t) * (size_t)(n + 1), b4 = sizeof(int32_t) * (size_t)(n + 1);
  int64_t *gq = ps_malloc(b8), *hq = ps_malloc(b8);
  int32_t *gh = ps_malloc(b4), *got = ps_malloc(b4);
  memcpy(gq, gq0, b8), memcpy(hq, hq0, b8);
  int64_t sg = (top[0] + qmax - 1) / qmax, sh = (top[1] + qmax - 1) / qmax;
  sg = sg > 0 ? sg : 1, sh = sh > 0 ? sh : 1;
  for (int64_t i = 0; i < n && i < 24; i++) { /* on the steps' boundaries */
    gq[i] = (i % 2 ? -1 : 1) * (i % 5) * sg * (qmax / 4);
    hq[i] = i % 3 == 0 ? 0 : i % 3 == 1 ? top[1] : sh * (qmax / 2);
  }
  int64_t *dg = dev_copy(gq, b8), *dh = dev_copy(hq, b8), *di = dev_copy(ids, b8);
  int32_t *dgh = dev_copy(NULL, b4);
  uint64_t key = (1ull << 32) | 9;
  ps_gbdt_quant_cpu(gq, hq, ids, n, 77, key, sg, sh, gh);
  ps_gbdt_quant_cuda(dg, dh, di, n, 77, key, sg, sh, dgh, 0);
  get(got, dgh, sizeof(int32_t) * (size_t)n);
  EXPECT(n == 0 || !memcmp(gh, got, sizeof(int32_t) * (size_t)n), "%s Q=%d: packed words differ", name, qmax);
  cudaFree(dg), cudaFree(dh), cudaFree(di), cudaFree(dgh);
  free(gq), free(hq), free(gh), free(got);
}

static void check(int64_t n, double wp, double wn, double scale, const char *name) {
  static const double edge[] = {0.0, -0.0, 35.0, -35.0, 64.0, -64.0, 745.0, -745.0, 1e-300, 80.0};
  size_t b8 = sizeof(int64_t) * (size_t)(n + 1);
  double *z = ps_malloc(sizeof(double) * (size_t)(n + 1));
  uint8_t *y = ps_malloc(2 * (size_t)(n + 1));
  int64_t *ids = ps_malloc(b8), *gq = ps_malloc(b8), *hq = ps_malloc(b8), *g2 = ps_malloc(b8), *h2 = ps_malloc(b8);
  for (int64_t i = 0; i < n; i++) {
    z[i] = i < 20 ? edge[i % 10] : ps_rng_normal(8, 1, (uint64_t)i, 0) * (i % 3 ? 4.0 : 0.3) - 1.0;
    y[2 * i] = 0;
    y[2 * i + 1] = (uint8_t)(i < 20 ? i / 10 : ps_rng_unif(8, 2, (uint64_t)i, 0) < 0.3); /* head 1 */
    ids[i] = (int64_t)(ps_rng_u64(8, 3, (uint64_t)i, 0) >> 2);
  }
  int64_t top[2], out[3];
  int64_t loss = ps_gbdt_grad_q_cpu(z, y + 1, 2, n, wp, wn, scale, gq, hq, top);
  double *dz = dev_copy(z, sizeof(double) * (size_t)(n + 1));
  uint8_t *dy = dev_copy(y, 2 * (size_t)(n + 1));
  int64_t *dg = dev_copy(NULL, b8), *dh = dev_copy(NULL, b8), *dout = dev_copy(NULL, 3 * sizeof(int64_t));
  ps_gbdt_grad_q_cuda(dz, dy + 1, 2, n, wp, wn, scale, dg, dh, dout, 0);
  get(g2, dg, sizeof(int64_t) * (size_t)n), get(h2, dh, sizeof(int64_t) * (size_t)n), get(out, dout, sizeof out);
  EXPECT(n == 0 || !memcmp(gq, g2, sizeof(int64_t) * (size_t)n), "%s n=%lld: gq differ", name, (long long)n);
  EXPECT(n == 0 || !memcmp(hq, h2, sizeof(int64_t) * (size_t)n), "%s n=%lld: hq differ", name, (long long)n);
  EXPECT(out[0] == loss && out[1] == top[0] && out[2] == top[1], "%s n=%lld: loss/maxima %lld %lld %lld vs %lld %lld %lld",
         name, (long long)n, (long long)out[0], (long long)out[1], (long long)out[2], (long long)loss,
         (long long)top[0], (long long)top[1]);
  int32_t qs[] = {7, 127, 32767};
  for (int k = 0; k < 3; k++) check_quant(gq, hq, ids, n, top, qs[k], name);
  cudaFree(dz), cudaFree(dy), cudaFree(dg), cudaFree(dh), cudaFree(dout);
  free(z), free(y), free(ids), free(gq), free(hq), free(g2), free(h2);
}

int main(void) {
  char desc[256];
  if (ps_cuda_probe(desc, sizeof desc) < 1) {
    printf("no CUDA device: skipped\n");
    return 77;
  }
  printf("%s\n", desc);
  int64_t lens[] = {0, 1, 31, 257, 5000, 262145}; /* around 1024 blocks x 256: the stride */
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) check(lens[i], 1.0, 1.0, ldexp(1.0, 41), "1M rows' scale");
  check(3001, 3.0, 0.6, ldexp(1.0, 48), "largest scale, class weights");
  check(3001, 9.0, 1.0, ldexp(1.0, 48), "w scale >= 2^50 (nearbyint)");
  if (failures) fprintf(stderr, "%d failure(s)\n", failures);
  else printf("gradient kernels match their CPU twin\n");
  return failures ? 1 : 0;
}
