/* test_leafhist_kernels.c: the kernels of a leaf's round trip on the device
 * (issue 28) against their CPU twins, bitwise: the subtraction trick
 * (hist_sub.cu vs hist_sub_cpu.c: extreme int64 values, lengths around the
 * grid's stride) and the split search of a quantized histogram (split.cu's
 * quantized path vs split_q_cpu.c: every field of the split, the gain's
 * bits), on histograms of random rows with 4-, 8- and 16-bit gradients,
 * missing values or none, every feature or a mask, min-rows and
 * min-Hessian constraints that bind; and the twin against the host's
 * widening (grow.c) + split_cpu.c. Exits 77 (ctest: skipped) with "no
 * CUDA device" without a GPU (or the emulated one). */
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cuda_probe.h"
#include "core/rng.h"
#include "core/util.h"
#include "gbdt/gbdt_kernels.h"
#include "gbdt/gbdt_math.h"
#include "gbdt/leafhist_kernels.h"

#include "common/test_device.h"
#include "common/test_expect.h"

static void check_sub(int64_t n) {
  int64_t *a = ps_malloc(sizeof(int64_t) * (size_t)(n + 1)), *b = ps_malloc(sizeof(int64_t) * (size_t)(n + 1));
  int64_t *got = ps_malloc(sizeof(int64_t) * (size_t)(n + 1));
  for (int64_t i = 0; i < n; i++) {
    uint64_t u = ps_rng_u64(21, 1, (uint64_t)i, 0);
    a[i] = i % 7 == 0 ? INT64_MAX - (int64_t)(u % 1000) : (int64_t)(u >> 2) - ((int64_t)1 << 60);
    b[i] = i % 7 == 0 ? (int64_t)(u % 1000) : (int64_t)(ps_rng_u64(21, 2, (uint64_t)i, 0) >> 3) - ((int64_t)1 << 59);
  }
  int64_t *da = dev_copy(a, sizeof(int64_t) * (size_t)n), *db = dev_copy(b, sizeof(int64_t) * (size_t)n);
  ps_gbdt_hist_sub_cuda(da, db, n, 0);
  get(got, da, sizeof(int64_t) * (size_t)n);
  ps_gbdt_hist_sub_cpu(a, b, n);
  EXPECT(n == 0 || memcmp(a, got, sizeof(int64_t) * (size_t)n) == 0, "hist_sub n=%lld: kernel != twin", (long long)n);
  cudaFree(da), cudaFree(db);
  free(a), free(b), free(got);
}

/* The host's search of a quantized histogram (grow.c: widened, then split_cpu.c). */
static void host_search(const int64_t *h2, int64_t f, const int64_t *bin_off, const uint8_t *use, int64_t G,
                        int64_t H, int64_t N, const ps_split_params_t *p, const ps_split_q_t *q, ps_split_t *best) {
  int64_t *x = ps_malloc(sizeof(int64_t) * 3 * (size_t)(bin_off[f] + 1));
  for (int64_t b = 0; b < bin_off[f]; b++) {
    x[3 * b] = h2[2 * b] * q->qg_step;
    x[3 * b + 1] = h2[2 * b + 1] * q->qh_step;
    x[3 * b + 2] = (int64_t)((double)h2[2 * b + 1] * q->per + 0.5);
  }
  ps_gbdt_split_cpu(x, f, bin_off, use, G, H, N, p, best);
  free(x);
}

static int same_split(const ps_split_t *a, const ps_split_t *b) {
  return a->feature == b->feature && (a->feature < 0 || (memcmp(&a->gain, &b->gain, sizeof a->gain) == 0 &&
                                                          a->bin == b->bin && a->default_left == b->default_left &&
                                                          a->lg == b->lg && a->lh == b->lh && a->ln == b->ln));
}

/* n rows over f features (2..256 bins, feature 3 always missing-free), Q, missing rate, a mask or not. */
static void check_split_q(int64_t n, int64_t f, int32_t qmax, double miss, int masked, int64_t min_data) {
  int64_t *bin_off = ps_malloc(sizeof(int64_t) * (size_t)(f + 1));
  bin_off[0] = 0;
  for (int64_t j = 0; j < f; j++)
    bin_off[j + 1] = bin_off[j] + (j % 4 == 0 ? 256 : 2 + (int64_t)(ps_rng_unif(22, 1, (uint64_t)j, 0) * 255));
  int64_t tb = bin_off[f], sg = 3 + qmax % 5, sh = 1 + qmax % 3, G = 0, H = 0;
  int64_t *h2 = ps_calloc(2 * (size_t)tb, sizeof(int64_t));
  uint8_t *use = ps_malloc((size_t)f);
  for (int64_t j = 0; j < f; j++) use[j] = ps_rng_unif(22, 2, (uint64_t)j, 0) < 0.6;
  for (int64_t i = 0; i < n; i++) {
    int64_t g = (int64_t)(ps_rng_unif(22, 3, (uint64_t)i, 0) * (2 * qmax + 1)) - qmax + (i % 3 == 0 ? qmax / 2 : 0);
    int64_t h = (int64_t)(ps_rng_unif(22, 4, (uint64_t)i, 0) * (qmax + 1));
    g = g > qmax ? qmax : g;
    G += g * sg, H += h * sh;
    for (int64_t j = 0; j < f; j++) {
      int64_t nb = bin_off[j + 1] - bin_off[j], v = 1 + (int64_t)(ps_rng_unif(22, 5, (uint64_t)i, (uint64_t)j) * (double)(nb - 1));
      if (g > 0 && j % 2 == 1) v = 1 + (v - 1) / 2; /* a signal: good splits exist */
      if (j != 3 && ps_rng_unif(22, 6, (uint64_t)i, (uint64_t)j) < miss) v = 0;
      h2[2 * (bin_off[j] + v)] += g, h2[2 * (bin_off[j] + v) + 1] += h;
    }
  }
  int64_t hq = H / sh;
  ps_split_q_t q = {.qg_step = sg, .qh_step = sh, .per = hq > 0 ? (double)n / (double)hq : 0.0};
  ps_split_params_t p = {.l2 = 1.0, .min_data = min_data, .min_hess = 1e-3, .min_gain = 0.0, .scale = 1 << 10};
  ps_split_t want, twin, *dbest = dev_copy(NULL, sizeof(ps_split_t)), got;
  int64_t *work = ps_malloc(sizeof(int64_t) * 3 * (size_t)(tb + 1));
  const uint8_t *u = masked ? use : NULL;
  host_search(h2, f, bin_off, u, G, H, n, &p, &q, &want);
  ps_gbdt_split_q_cpu(h2, f, bin_off, u, G, H, n, &p, &q, work, &twin);
  int64_t *dh = dev_copy(h2, sizeof(int64_t) * 2 * (size_t)tb), *doff = dev_copy(bin_off, sizeof(int64_t) * (size_t)(f + 1));
  uint8_t *duse = dev_copy(use, (size_t)f);
  void *dwork = dev_copy(NULL, ps_gbdt_split_work(f));
  ps_gbdt_split_q_cuda(dh, f, doff, masked ? duse : NULL, G, H, n, p, q, dwork, dbest, 0);
  get(&got, dbest, sizeof got);
  EXPECT(same_split(&want, &twin), "split_q n=%lld f=%lld Q=%d: twin != host search", (long long)n, (long long)f, qmax);
  EXPECT(same_split(&twin, &got), "split_q n=%lld f=%lld Q=%d miss=%g mask=%d: kernel (f %d bin %d gain %.17g) != twin "
         "(f %d bin %d gain %.17g)", (long long)n, (long long)f, qmax, miss, masked, got.feature, got.bin, got.gain,
         twin.feature, twin.bin, twin.gain);
  EXPECT(twin.feature >= 0 || min_data > n / 2, "split_q n=%lld: no split found", (long long)n);
  cudaFree(dh), cudaFree(doff), cudaFree(duse), cudaFree(dwork), cudaFree(dbest);
  free(bin_off), free(h2), free(use), free(work);
}

int main(void) {
  char desc[256];
  if (ps_cuda_probe(desc, sizeof desc) < 1) {
    printf("no CUDA device: skipped\n");
    return 77;
  }
  printf("%s\n", desc);
  int64_t lens[] = {0, 1, 255, 257, 1000, 262144, 262145, 600001}; /* around 1024 blocks x 256: the stride */
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) check_sub(lens[i]);
  int32_t qs[] = {7, 127, 32767};
  for (int k = 0; k < 3; k++) {
    check_split_q(3000, 9, qs[k], 0.1, 0, 20);
    check_split_q(3000, 9, qs[k], 0.0, 1, 20);
    check_split_q(800, 33, qs[k], 0.3, 1, 1);
  }
  check_split_q(40, 5, 127, 0.2, 0, 25); /* min rows above half the leaf: no split */
  check_split_q(1, 3, 127, 0.0, 0, 1);   /* one row */
  if (failures) fprintf(stderr, "%d failure(s)\n", failures);
  else printf("leaf round-trip kernels match their CPU twins\n");
  return failures ? 1 : 0;
}
