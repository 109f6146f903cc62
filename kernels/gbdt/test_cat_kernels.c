/* test_cat_kernels.c: categorical splits (gbdt_cat.h) in the predict
 * (predict.cu) and TreeSHAP (shap.cu) kernels against their CPU twins,
 * bitwise: random forests mixing numerical nodes and category sets over
 * rows whose categorical columns hold codes, NaN and values LightGBM's rule
 * must send right or truncate (-3, -0.5, 3.7, 255.5, 300); the
 * contributions add up to the prediction; the partition by a category set
 * (partition.cu) against its twin. Exits 77 (ctest: skipped) with
 * "no CUDA device" when the machine has no GPU. */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cuda_probe.h"
#include "core/rng.h"
#include "core/util.h"
#include "gbdt/gbdt_cat.h"
#include "gbdt/gbdt_cpu.h"
#include "gbdt/gbdt_kernels.h"
#include "gbdt/shap_cpu.h"

#include "common/test_expect.h"

enum { T = 20, NODES = 7, LEAVES = 8, F = 4 }; /* full trees of depth 3; features 1 and 3 categorical */

static void *up(const void *h, size_t bytes) {
  void *d = NULL;
  if (cudaMalloc(&d, bytes ? bytes : 8) != cudaSuccess) ps_die_local("cudaMalloc failed");
  if (h && bytes && cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice) != cudaSuccess) ps_die_local("cudaMemcpy failed");
  return d;
}

typedef struct {
  int64_t node_off[T + 1], leaf_off[T + 1], count[T * LEAVES];
  int32_t feature[T * NODES], left[T * NODES], right[T * NODES], cat[T * NODES];
  float threshold[T * NODES];
  uint8_t bin[T * NODES], dl[T * NODES], set[T * NODES * PS_GBDT_CAT_BYTES];
  double value[T * LEAVES];
} forest_t;

static void forest_make(forest_t *fo, uint64_t seed) {
  int32_t nsets = 0;
  for (int t = 0; t <= T; t++) fo->node_off[t] = (int64_t)t * NODES, fo->leaf_off[t] = (int64_t)t * LEAVES;
  for (int t = 0; t < T; t++)
    for (int q = 0; q < NODES; q++) {
      int k = t * NODES + q, c1 = 2 * q + 1, c2 = 2 * q + 2;
      fo->feature[k] = (int32_t)(ps_rng_unif(seed, 1, (uint64_t)k, 0) * F);
      fo->threshold[k] = (float)(ps_rng_unif(seed, 2, (uint64_t)k, 0) * 2 - 1);
      fo->dl[k] = ps_rng_unif(seed, 3, (uint64_t)k, 0) < 0.5;
      fo->bin[k] = 1;
      fo->left[k] = c1 < NODES ? c1 : ~(c1 - NODES);
      fo->right[k] = c2 < NODES ? c2 : ~(c2 - NODES);
      fo->cat[k] = -1;
      if (fo->feature[k] % 2 == 1) { /* a category set over codes 0..11 (and one high code) */
        uint8_t *s = fo->set + (size_t)nsets * PS_GBDT_CAT_BYTES;
        memset(s, 0, PS_GBDT_CAT_BYTES);
        for (int c = 0; c < 12; c++)
          if (ps_rng_unif(seed, 4, (uint64_t)k, (uint64_t)c) < 0.4) s[c >> 3] |= (uint8_t)(1u << (c & 7));
        s[255 >> 3] |= (uint8_t)(1u << (255 & 7));
        fo->cat[k] = nsets++;
      }
    }
  for (int l = 0; l < T * LEAVES; l++) {
    fo->value[l] = ps_rng_normal(seed, 5, (uint64_t)l, 0) * 0.1;
    fo->count[l] = 1 + (int64_t)(ps_rng_unif(seed, 6, (uint64_t)l, 0) * 100);
  }
}

static ps_forest_view_t view_of(const forest_t *fo) {
  ps_forest_view_t v = {.ntrees = T, .node_off = fo->node_off, .leaf_off = fo->leaf_off, .feature = fo->feature,
                        .threshold = fo->threshold, .bin = fo->bin, .default_left = fo->dl, .left = fo->left,
                        .right = fo->right, .leaf_value = fo->value, .cat = fo->cat, .cat_set = fo->set};
  return v;
}

/* The same view over device copies; mem: what to free (11). */
static ps_forest_view_t device_view(const forest_t *fo, void **mem) {
  ps_forest_view_t d = view_of(fo);
  size_t nodes = T * NODES, sets = (size_t)ps_gbdt_view_sets(&d, (int64_t)nodes);
  mem[0] = (void *)(d.node_off = up(fo->node_off, sizeof fo->node_off));
  mem[1] = (void *)(d.leaf_off = up(fo->leaf_off, sizeof fo->leaf_off));
  mem[2] = (void *)(d.feature = up(fo->feature, sizeof fo->feature));
  mem[3] = (void *)(d.threshold = up(fo->threshold, sizeof fo->threshold));
  mem[4] = (void *)(d.bin = up(fo->bin, sizeof fo->bin));
  mem[5] = (void *)(d.default_left = up(fo->dl, sizeof fo->dl));
  mem[6] = (void *)(d.left = up(fo->left, sizeof fo->left));
  mem[7] = (void *)(d.right = up(fo->right, sizeof fo->right));
  mem[8] = (void *)(d.leaf_value = up(fo->value, sizeof fo->value));
  mem[9] = (void *)(d.cat = up(fo->cat, sizeof fo->cat));
  mem[10] = (void *)(d.cat_set = up(fo->set, sets * PS_GBDT_CAT_BYTES));
  return d;
}

static float value(int64_t i, int64_t j) {
  static const float odd[] = {-3.0f, -0.5f, 3.7f, 255.5f, 300.0f};
  double u = ps_rng_unif(9, 8, (uint64_t)i, (uint64_t)j);
  if (u < 0.1) return NAN;
  if (j % 2 == 0) return (float)(u * 2.4 - 1.2);
  if (u < 0.2) return odd[(int)(u * 50) % 5];
  return (float)(int)(u * 12);
}

static void one_case(int64_t n) {
  forest_t fo;
  forest_make(&fo, 31 + (uint64_t)n);
  ps_forest_view_t v = view_of(&fo);
  void *mem[11];
  ps_forest_view_t dv = device_view(&fo, mem);
  float *X = ps_malloc(sizeof(float) * (size_t)(n * F));
  for (int64_t i = 0; i < n * F; i++) X[i] = value(i / F, i % F);
  float *dX = up(X, sizeof(float) * (size_t)(n * F));
  double *z = ps_calloc((size_t)n, sizeof(double)), *got = ps_calloc((size_t)n, sizeof(double));
  double *dz = up(z, sizeof(double) * (size_t)n);
  ps_gbdt_predict_cpu(&v, X, n, F, z);
  ps_gbdt_predict_cuda(&dv, dX, n, F, dz, 0);
  if (cudaMemcpy(got, dz, sizeof(double) * (size_t)n, cudaMemcpyDeviceToHost) != cudaSuccess)
    ps_die_local("the predict kernel failed");
  EXPECT(!memcmp(got, z, sizeof(double) * (size_t)n), "n=%lld: predictions differ", (long long)n);
  ps_shap_paths_t ps, dp;
  EXPECT(ps_gbdt_shap_paths(&v, fo.count, &ps) == 0, "paths refused");
  size_t bytes = sizeof(double) * (size_t)(n * F);
  double *phi = ps_calloc((size_t)(n * F), sizeof(double)), *dphi_h = ps_malloc(bytes), *dphi = up(phi, bytes);
  ps_gbdt_shap_cpu(&v, &ps, X, n, F, phi);
  dp = ps;
  void *pm[4] = {dp.path_off = up(ps.path_off, sizeof(int64_t) * (T * LEAVES + 1)),
                 dp.node = up(ps.node, sizeof(int64_t) * (size_t)ps.npath), dp.go_left = up(ps.go_left, (size_t)ps.npath),
                 dp.zero = up(ps.zero, sizeof(double) * (size_t)ps.npath)};
  dp.expected = NULL;
  dv.bin = NULL;
  EXPECT(ps_gbdt_shap_cuda(&dv, &dp, dX, n, F, dphi, 0) == 0, "the shap kernel refused");
  if (cudaMemcpy(dphi_h, dphi, bytes, cudaMemcpyDeviceToHost) != cudaSuccess) ps_die_local("the shap kernel failed");
  EXPECT(!memcmp(dphi_h, phi, bytes), "n=%lld: contributions differ", (long long)n);
  double base = ps_gbdt_shap_base(&ps, T, 0.0);
  for (int64_t i = 0; i < n; i++) {
    double s = base;
    for (int j = 0; j < F; j++) s += phi[i * F + j];
    EXPECT(fabs(s - z[i]) < 1e-9, "row %lld: contributions sum to %.17g, the prediction is %.17g", (long long)i, s,
           z[i]);
  }
  for (int i = 0; i < 11; i++) cudaFree(mem[i]);
  for (int i = 0; i < 4; i++) cudaFree(pm[i]);
  cudaFree(dX), cudaFree(dz), cudaFree(dphi);
  free(X), free(z), free(got), free(phi), free(dphi_h);
  ps_gbdt_shap_paths_free(&ps);
}

/* The partition by a category set (partition.cu) against its twin: every
 * other row of n, bins 0..12 (0: missing). */
static void partition_case(int64_t n) {
  int64_t f = 3, m = (n + 1) / 2, nw = m > 0 ? m : 1;
  uint8_t *B = ps_malloc((size_t)(n * f)), set[PS_GBDT_CAT_BYTES] = {0};
  for (int64_t i = 0; i < n * f; i++) B[i] = (uint8_t)(ps_rng_unif(12, 1, (uint64_t)i, 0) * 13);
  set[0] = 0x25, set[1] = 0x08; /* codes 0, 2, 5, 11 */
  int64_t *rows = ps_malloc(sizeof(int64_t) * (size_t)nw), *tmp = ps_malloc(sizeof(int64_t) * (size_t)nw);
  int64_t *got = ps_malloc(sizeof(int64_t) * (size_t)nw);
  for (int64_t r = 0; r < m; r++) rows[r] = 2 * r;
  uint8_t *dB = up(B, (size_t)(n * f));
  int64_t *drows = up(rows, sizeof(int64_t) * (size_t)nw), *dtmp = up(NULL, sizeof(int64_t) * (size_t)nw);
  void *work = up(NULL, ps_gbdt_partition_work(m));
  int64_t nl = ps_gbdt_partition_set_cpu(B, f, rows, m, 1, set, tmp);
  int64_t dnl = ps_gbdt_partition_set_cuda(dB, f, drows, m, 1, set, dtmp, work, 0);
  if (cudaMemcpy(got, drows, sizeof(int64_t) * (size_t)m, cudaMemcpyDeviceToHost) != cudaSuccess)
    ps_die_local("the partition kernel failed");
  EXPECT(nl == dnl && !memcmp(got, rows, sizeof(int64_t) * (size_t)m), "n=%lld: partitions differ (%lld, %lld left)",
         (long long)n, (long long)nl, (long long)dnl);
  for (int64_t r = 0; r < m; r++)
    EXPECT((r < nl) == ps_gbdt_cat_left_bin(B[rows[r] * f + 1], set), "row %lld on the wrong side", (long long)r);
  cudaFree(dB), cudaFree(drows), cudaFree(dtmp), cudaFree(work);
  free(B), free(rows), free(tmp), free(got);
}

/* LightGBM's rule on raw values, and bins = codes + 1. */
static void rules(void) {
  uint8_t s[PS_GBDT_CAT_BYTES] = {0};
  s[0] = 1u << 3; /* code 3 */
  EXPECT(ps_gbdt_cat_left_raw(3.0f, s) && ps_gbdt_cat_left_raw(3.7f, s), "3 and 3.7 go left");
  EXPECT(!ps_gbdt_cat_left_raw(NAN, s) && !ps_gbdt_cat_left_raw(-3.0f, s) && !ps_gbdt_cat_left_raw(2.0f, s) &&
             !ps_gbdt_cat_left_raw(300.0f, s) && !ps_gbdt_cat_left_raw(INFINITY, s),
         "NaN, negatives, other codes go right");
  EXPECT(ps_gbdt_cat_left_bin(4, s) && !ps_gbdt_cat_left_bin(0, s) && !ps_gbdt_cat_left_bin(3, s), "bins");
}

int main(void) {
  char desc[256];
  rules();
  if (ps_cuda_probe(desc, sizeof desc) < 1) {
    printf("no CUDA device: skipped\n");
    return failures ? 1 : 77;
  }
  printf("%s\n", desc);
  one_case(1);
  one_case(50);
  one_case(1000);
  partition_case(1);
  partition_case(5000);
  if (failures) fprintf(stderr, "%d failure(s)\n", failures);
  else printf("categorical splits: the predict, TreeSHAP and partition kernels match their CPU twins\n");
  return failures ? 1 : 0;
}
