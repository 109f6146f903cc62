/* test_gbdt_kernels.c: every tree kernel against its CPU twin, bitwise, on
 * small and odd shapes -- 1 row, fewer rows than a block, 255 value bins,
 * missing values, constant and duplicated columns (ties), every row in one
 * leaf: bins; histograms (any number of blocks, one feature a group or
 * many, twice: the same bits); chosen splits (with and without a feature
 * mask, min rows, min Hessian); partitions and the bag's rows through a
 * sequence of splits, and each row's leaf; predictions of random forests
 * over raw rows, a head at a time and every head over one read of the rows
 * (predict_heads.cu: three heads, one in two batches of shared memory,
 * trees of 1 to 72 leaves, rows and thresholds of -0.0, +0.0 and
 * infinities; rows wide enough for 256, 128 and 64 rows a tile, one
 * feature more refused; trees of up to 128 leaves refused). Exits 77 (ctest: skipped) with "no CUDA device" when the
 * machine has no GPU (or the emulated one is absent). */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cuda_probe.h"
#include "core/rng.h"
#include "core/util.h"
#include "gbdt/gbdt_cpu.h"
#include "gbdt/gbdt_kernels.h"
#include "gbdt/predict_heads.h"

#include "common/test_device.h"
#include "common/test_expect.h"

static int same_split(const ps_split_t *a, const ps_split_t *b) {
  return a->feature == b->feature && a->bin == b->bin && a->default_left == b->default_left && a->lg == b->lg &&
         a->lh == b->lh && a->ln == b->ln && !memcmp(&a->gain, &b->gain, sizeof(double));
}

/* A random forest over f features (cut values from the cuts), trees of 1..maxl leaves. */
typedef struct {
  int32_t ntrees;
  int64_t *node_off, *leaf_off;
  int32_t *feature, *left, *right;
  float *threshold;
  uint8_t *bin, *dl;
  double *value;
} forest_t;

static void forest_make(forest_t *fo, int ntrees, int maxl, int64_t f, const float *cuts, const int64_t *cut_off,
                        uint64_t seed) {
  int64_t cap = (int64_t)ntrees * maxl;
  fo->ntrees = ntrees;
  fo->node_off = ps_calloc((size_t)ntrees + 1, sizeof(int64_t));
  fo->leaf_off = ps_calloc((size_t)ntrees + 1, sizeof(int64_t));
  fo->feature = ps_malloc(sizeof(int32_t) * (size_t)cap);
  fo->left = ps_malloc(sizeof(int32_t) * (size_t)cap);
  fo->right = ps_malloc(sizeof(int32_t) * (size_t)cap);
  fo->threshold = ps_malloc(sizeof(float) * (size_t)cap);
  fo->bin = ps_malloc((size_t)cap);
  fo->dl = ps_malloc((size_t)cap);
  fo->value = ps_malloc(sizeof(double) * (size_t)cap);
  int64_t nodes = 0, leaves = 0;
  int32_t *pnode = ps_malloc(sizeof(int32_t) * (size_t)maxl), *pside = ps_malloc(sizeof(int32_t) * (size_t)maxl);
  for (int t = 0; t < ntrees; t++) {
    int L = 1 + (int)(ps_rng_unif(seed, 1, (uint64_t)t, 0) * maxl);
    if (t == 0) L = 1; /* a single-leaf tree */
    pnode[0] = -1;
    for (int nl = 1; nl < L; nl++) { /* split a random leaf, as grow.c numbers nodes and leaves */
      int leaf = (int)(ps_rng_unif(seed, 2, (uint64_t)t, (uint64_t)nl) * nl), node = nl - 1;
      int64_t k = nodes + node;
      int32_t j = (int32_t)(ps_rng_unif(seed, 3, (uint64_t)t, (uint64_t)nl) * (double)f);
      int64_t nc = cut_off[j + 1] - cut_off[j];
      int32_t b = 1 + (int32_t)(ps_rng_unif(seed, 4, (uint64_t)t, (uint64_t)nl) * (double)(nc + 1));
      fo->feature[k] = j;
      fo->bin[k] = (uint8_t)b;
      fo->threshold[k] = b <= nc ? cuts[cut_off[j] + b - 1] : INFINITY;
      fo->dl[k] = ps_rng_unif(seed, 5, (uint64_t)t, (uint64_t)nl) < 0.5;
      fo->left[k] = ~leaf;
      fo->right[k] = ~nl;
      if (pnode[leaf] >= 0) {
        if (pside[leaf] == 0) fo->left[nodes + pnode[leaf]] = node;
        else fo->right[nodes + pnode[leaf]] = node;
      }
      pnode[leaf] = pnode[nl] = node;
      pside[leaf] = 0;
      pside[nl] = 1;
    }
    for (int q = 0; q < L; q++) fo->value[leaves + q] = ps_rng_normal(seed, 6, (uint64_t)t, (uint64_t)q) * 0.1;
    nodes += L - 1;
    leaves += L;
    fo->node_off[t + 1] = nodes;
    fo->leaf_off[t + 1] = leaves;
  }
  free(pnode), free(pside);
}

static ps_forest_view_t view_of(const forest_t *fo) {
  ps_forest_view_t v = {.ntrees = fo->ntrees, .node_off = fo->node_off, .leaf_off = fo->leaf_off,
                        .feature = fo->feature, .threshold = fo->threshold, .bin = fo->bin, .default_left = fo->dl,
                        .left = fo->left, .right = fo->right, .leaf_value = fo->value};
  return v;
}

static void forest_free_(forest_t *fo) {
  free(fo->node_off), free(fo->leaf_off), free(fo->feature), free(fo->left), free(fo->right), free(fo->threshold);
  free(fo->bin), free(fo->dl), free(fo->value);
}

static void test_predict(const float *X, int64_t n, int64_t f, const float *cuts, const int64_t *cut_off,
                         const char *name, int ntrees, int maxl) {
  forest_t fo;
  forest_make(&fo, ntrees, maxl, f, cuts, cut_off, 77 + (uint64_t)n + (uint64_t)maxl);
  ps_forest_view_t v = view_of(&fo), dv = v;
  int64_t nodes = fo.node_off[fo.ntrees], leaves = fo.leaf_off[fo.ntrees];
  dv.node_off = dev_copy(v.node_off, sizeof(int64_t) * (size_t)(fo.ntrees + 1));
  dv.leaf_off = dev_copy(v.leaf_off, sizeof(int64_t) * (size_t)(fo.ntrees + 1));
  dv.feature = dev_copy(v.feature, sizeof(int32_t) * (size_t)nodes);
  dv.threshold = dev_copy(v.threshold, sizeof(float) * (size_t)nodes);
  dv.bin = dev_copy(v.bin, (size_t)nodes);
  dv.default_left = dev_copy(v.default_left, (size_t)nodes);
  dv.left = dev_copy(v.left, sizeof(int32_t) * (size_t)nodes);
  dv.right = dev_copy(v.right, sizeof(int32_t) * (size_t)nodes);
  dv.leaf_value = dev_copy(v.leaf_value, sizeof(double) * (size_t)leaves);
  double *z = ps_malloc(sizeof(double) * (size_t)n), *zg = ps_malloc(sizeof(double) * (size_t)n);
  for (int64_t i = 0; i < n; i++) z[i] = -1.25 + 0.001 * (double)i;
  double *dz = dev_copy(z, sizeof(double) * (size_t)n);
  float *dX = dev_copy(X, sizeof(float) * (size_t)(n * f));
  ps_gbdt_predict_cpu(&v, X, n, f, z);
  ps_gbdt_predict_cuda(&dv, dX, n, f, dz, 0);
  get(zg, dz, sizeof(double) * (size_t)n);
  EXPECT(!memcmp(z, zg, sizeof(double) * (size_t)n), "%s: predictions differ", name);
  const void *ps[] = {dv.node_off, dv.leaf_off, dv.feature, dv.threshold, dv.bin, dv.default_left, dv.left,
                      dv.right, dv.leaf_value, dz, dX};
  for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) cudaFree((void *)ps[i]);
  free(z), free(zg);
  forest_free_(&fo);
}

/* Signed zeros and infinities where an order-preserving key could slip:
 * rows of -0.0, +0.0, +inf and -inf (every 5th to 8th value, NaN kept),
 * thresholds of -0.0, +0.0 and -inf on some nodes. */
static float *special_rows(const float *X, int64_t n, int64_t f) {
  float *Xs = ps_malloc(sizeof(float) * (size_t)(n * f + 1));
  const float sv[4] = {-0.0f, 0.0f, INFINITY, -INFINITY};
  for (int64_t e = 0; e < n * f; e++) Xs[e] = X[e] == X[e] && e % 5 == 1 ? sv[e / 5 % 4] : X[e];
  return Xs;
}
static void special_thresholds(forest_t *fo) {
  for (int64_t k = 0; k < fo->node_off[fo->ntrees]; k++)
    if (k % 6 == 2) fo->threshold[k] = k % 18 == 2 ? -0.0f : k % 18 == 8 ? 0.0f : -INFINITY;
}

/* Three heads' forests (23 x <= 31, 7 x <= 72, 150 x <= 64 leaves: two
 * batches; odd tree counts) over one read of the rows, each head against
 * the CPU twin, bitwise; z [3][n + 3] (a padded stride); twice: the rows as
 * given, then with signed zeros and infinities (special_rows,
 * special_thresholds). A forest whose trees' records pass 2 KiB (128-leaf
 * trees here, 6000 leaves) gets no plan. */
static void test_predict_heads(const float *X0, int64_t n, int64_t f, const float *cuts, const int64_t *cut_off,
                               const char *name0, int special) {
  enum { K = 3 };
  const int ntrees[K] = {23, 7, 150}, maxl[K] = {31, 72, 64};
  forest_t fo[K];
  ps_forest_view_t v[K];
  const int64_t ld = n + 3;
  float *Xs = special ? special_rows(X0, n, f) : NULL;
  const float *X = special ? Xs : X0;
  char name[160];
  snprintf(name, sizeof name, "%s%s", name0, special ? " (signed zeros, infinities)" : "");
  double *z = ps_malloc(sizeof(double) * (size_t)(K * ld)), *zg = ps_malloc(sizeof(double) * (size_t)(K * ld));
  for (int h = 0; h < K; h++) {
    forest_make(&fo[h], ntrees[h], maxl[h], f, cuts, cut_off, 91 + (uint64_t)h + (uint64_t)n);
    if (special) special_thresholds(&fo[h]);
    v[h] = view_of(&fo[h]);
    for (int64_t i = 0; i < ld; i++) z[h * ld + i] = 0.5 * h - 0.002 * (double)i;
  }
  double *dz = dev_copy(z, sizeof(double) * (size_t)(K * ld));
  float *dX = dev_copy(X, sizeof(float) * (size_t)(n * f));
  for (int h = 0; h < K; h++) ps_gbdt_predict_cpu(&v[h], X, n, f, z + h * ld);
  ps_gbdt_predict_plan_t *plan = ps_gbdt_predict_plan_create(v, K, 0);
  EXPECT(plan != NULL, "%s: no plan for every head", name);
  if (plan) {
    EXPECT(ps_gbdt_predict_plan_run(plan, dX, n, f, dz, ld, 0) == 1, "%s: the heads kernel refused the rows", name);
    get(zg, dz, sizeof(double) * (size_t)(K * ld));
    for (int h = 0; h < K; h++)
      EXPECT(!memcmp(z + h * ld, zg + h * ld, sizeof(double) * (size_t)ld), "%s: head %d's predictions differ", name, h);
  }
  ps_gbdt_predict_plan_destroy(plan);
  for (int L = 128; L <= 6000; L += 5872) { /* 20 trees of up to 128 leaves, 3 of up to 6000 */
    forest_t big;
    forest_make(&big, L == 128 ? 20 : 3, L, f, cuts, cut_off, 5);
    ps_forest_view_t bv = view_of(&big);
    EXPECT(ps_gbdt_predict_plan_create(&bv, 1, 0) == NULL, "%s: a plan for trees of up to %d leaves", name, L);
    forest_free_(&big);
  }
  for (int h = 0; h < K; h++) forest_free_(&fo[h]);
  cudaFree(dz), cudaFree(dX);
  free(z), free(zg), free(Xs);
}

/* Rows too wide for 512-row tiles: at the widest f that each of R = 256,
 * 128, 64 rows a tile takes on this device (227 KiB opt-in: 131, 262, 524
 * features), the three heads (two batches) against the twin as above, over
 * several tiles and a partial one; one feature more than R = 64 takes is
 * refused (the caller's head-at-a-time kernels). */
static void test_predict_heads_wide(void) {
  int optin = 0;
  cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0);
  for (int R = 256; R >= 64; R /= 2) {
    const int64_t f = ((int64_t)optin - (96 << 10)) / (R * 4), n = 2 * R + 37, nc = 8;
    char name[96];
    snprintf(name, sizeof name, "wide rows: n=%lld f=%lld (R = %d)", (long long)n, (long long)f, R);
    EXPECT(ps_gbdt_predict_heads_rows(f) == R, "%s: %d rows a tile", name, ps_gbdt_predict_heads_rows(f));
    int64_t *cut_off = ps_malloc(sizeof(int64_t) * (size_t)(f + 1));
    float *cuts = ps_malloc(sizeof(float) * (size_t)(f * nc)), *X = ps_malloc(sizeof(float) * (size_t)(n * f));
    for (int64_t j = 0; j <= f; j++) cut_off[j] = j * nc;
    for (int64_t e = 0; e < f * nc; e++) cuts[e] = (float)(-2.0 + 4.0 * (double)(e % nc) / (nc - 1));
    for (int64_t e = 0; e < n * f; e++)
      X[e] = ps_rng_unif(77, 4, (uint64_t)e, 0) < 0.05 ? NAN : (float)ps_rng_normal(77, 3, (uint64_t)e, 0);
    test_predict_heads(X, n, f, cuts, cut_off, name, 0);
    test_predict_heads(X, n, f, cuts, cut_off, name, 1);
    free(cut_off), free(cuts), free(X);
    if (R == 64) EXPECT(ps_gbdt_predict_heads_rows(f + 1) == 0, "%s: f + 1 features taken", name);
  }
}

/* n rows, f features with up to ncut cuts each (feature j % 4 == 3: ncut exactly,
 * i.e. 255 value bins when ncut = 254), NaN with probability nan_rate */
static void one_case(int64_t n, int64_t f, int ncut, double nan_rate, int64_t min_data) {
  char name[128];
  snprintf(name, sizeof name, "n=%lld f=%lld cuts<=%d nan=%.2f min_data=%lld", (long long)n, (long long)f, ncut,
           nan_rate, (long long)min_data);
  uint64_t seed = 1000 + (uint64_t)n * 7 + (uint64_t)f;
  /* cut points: strictly increasing, a feature's count varies; feature 2 constant (no cuts) */
  int64_t *cut_off = ps_malloc(sizeof(int64_t) * (size_t)(f + 1)), *bin_off = ps_malloc(sizeof(int64_t) * (size_t)(f + 1));
  cut_off[0] = bin_off[0] = 0;
  for (int64_t j = 0; j < f; j++) {
    int64_t nc = j % 4 == 3 ? ncut : (int64_t)(ps_rng_unif(seed, 1, (uint64_t)j, 0) * ncut);
    if (j == 2) nc = 0;
    cut_off[j + 1] = cut_off[j] + nc;
    bin_off[j + 1] = bin_off[j] + nc + 2;
  }
  float *cuts = ps_malloc(sizeof(float) * (size_t)(cut_off[f] + 1));
  for (int64_t j = 0; j < f; j++) {
    int64_t nc = cut_off[j + 1] - cut_off[j];
    for (int64_t q = 0; q < nc; q++) cuts[cut_off[j] + q] = (float)(-2.5 + 5.0 * (double)q / (double)(nc > 1 ? nc - 1 : 1));
  }
  int64_t total_bins = bin_off[f];
  float *X = ps_malloc(sizeof(float) * (size_t)(n * f + 1));
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < f; j++) {
      double u = ps_rng_unif(seed, 2, (uint64_t)i, (uint64_t)j);
      float v = (float)ps_rng_normal(seed, 3, (uint64_t)i, (uint64_t)j);
      if (u < 0.05) v = cuts[cut_off[j] + (cut_off[j + 1] > cut_off[j] ? (int64_t)(u * 20 * (double)(cut_off[j + 1] - cut_off[j])) : 0)];
      if (j == 2) v = 1.0f;
      if (j == 0) v = rintf(v); /* a few occupied bins among many empty ones: tied gains within the feature */
      if (ps_rng_unif(seed, 4, (uint64_t)i, (uint64_t)j) < nan_rate) v = NAN;
      X[i * f + j] = v;
    }
  if (f > 2) /* the last feature: a copy of feature 1 (ties go to the lower feature) */
    for (int64_t i = 0; i < n; i++) X[i * f + f - 1] = X[i * f + 1];
  /* ---- bins ---- */
  uint8_t *B = ps_malloc((size_t)(n * f + 1)), *Bg = ps_malloc((size_t)(n * f + 1));
  ps_gbdt_bin_cpu(X, n, f, cuts, cut_off, B);
  float *dX = dev_copy(X, sizeof(float) * (size_t)(n * f)), *dcuts = dev_copy(cuts, sizeof(float) * (size_t)cut_off[f]);
  int64_t *dcut_off = dev_copy(cut_off, sizeof(int64_t) * (size_t)(f + 1));
  uint8_t *dB = dev_copy(B, (size_t)(n * f));
  cudaMemset(dB, 0x5a, (size_t)(n * f));
  ps_gbdt_bin_cuda(dX, n, f, dcuts, dcut_off, dB, 0);
  get(Bg, dB, (size_t)(n * f));
  EXPECT(!memcmp(B, Bg, (size_t)(n * f)), "%s: bins differ", name);
  /* ---- gradients (the twin's fixed point), rows of a leaf ---- */
  double *score = ps_malloc(sizeof(double) * (size_t)n);
  uint8_t *y = ps_malloc((size_t)n);
  for (int64_t i = 0; i < n; i++) {
    y[i] = ps_rng_unif(seed, 5, (uint64_t)i, 0) < (X[i * f] > 0.0f ? 0.8 : 0.2); /* feature 0 (a plateau) wins */
    score[i] = ps_rng_normal(seed, 6, (uint64_t)i, 0);
  }
  double scale = ldexp(1.0, 40);
  int64_t *gq = ps_malloc(sizeof(int64_t) * (size_t)n), *hq = ps_malloc(sizeof(int64_t) * (size_t)n);
  int64_t top[2];
  ps_gbdt_grad_q_cpu(score, y, 1, n, 3.0, 1.0, scale, gq, hq, top);
  int64_t *dgq = dev_copy(gq, sizeof(int64_t) * (size_t)n), *dhq = dev_copy(hq, sizeof(int64_t) * (size_t)n);
  uint8_t *bag = ps_malloc((size_t)n);
  for (int64_t i = 0; i < n; i++) bag[i] = ps_rng_unif(seed, 7, (uint64_t)i, 0) < 0.7;
  int64_t *rows = ps_malloc(sizeof(int64_t) * (size_t)n), *rows_g = ps_malloc(sizeof(int64_t) * (size_t)n);
  int64_t *tmp = ps_malloc(sizeof(int64_t) * (size_t)n);
  int64_t *drows = dev_copy(NULL, sizeof(int64_t) * (size_t)n), *dtmp = dev_copy(NULL, sizeof(int64_t) * (size_t)n);
  void *work = dev_copy(NULL, ps_gbdt_partition_work(n));
  uint8_t *dbag = dev_copy(bag, (size_t)n);
  for (int b = 0; b < 2; b++) { /* the bag's rows, and every row */
    int64_t m = ps_gbdt_bag_rows_cpu(b ? NULL : bag, n, rows);
    int64_t mg = ps_gbdt_bag_rows_cuda(b ? NULL : dbag, n, drows, dtmp, work, 0);
    get(rows_g, drows, sizeof(int64_t) * (size_t)n); /* the bag's rows, then the others */
    EXPECT(m == mg && !memcmp(rows, rows_g, sizeof(int64_t) * (size_t)n), "%s: the %s rows differ (%lld vs %lld)", name,
           b ? "tree's" : "bag's", (long long)m, (long long)mg);
  }
  /* ---- histograms: every row (one leaf), the bag's rows; block counts and groups ---- */
  size_t hl = (size_t)PS_HIST_W * (size_t)total_bins;
  int64_t *h = ps_calloc(hl, sizeof(int64_t)), *hg = ps_calloc(hl, sizeof(int64_t));
  int64_t *dh = dev_copy(NULL, sizeof(int64_t) * hl);
  ps_gbdt_hist_plan_t *plans[2] = {ps_gbdt_hist_plan_create(bin_off, f, 0, 0),
                                   ps_gbdt_hist_plan_create(bin_off, f, 6144, 0)}; /* 96 KiB; a feature a group */
  int64_t m = ps_gbdt_bag_rows_cpu(bag, n, rows);
  int64_t *drs = dev_copy(rows, sizeof(int64_t) * (size_t)(m + 1));
  for (int which = 0; which < 2; which++) {
    memset(h, 0, sizeof(int64_t) * hl);
    int64_t *all = ps_malloc(sizeof(int64_t) * (size_t)n);
    for (int64_t i = 0; i < n; i++) all[i] = i;
    ps_gbdt_hist_cpu(B, f, bin_off, which ? rows : all, which ? m : n, gq, hq, h);
    free(all);
    for (int pl = 0; pl < 2; pl++)
      for (int blocks = 0; blocks <= 7; blocks += (blocks == 0 ? 1 : 3)) { /* auto, 1, 4, 7 */
        ps_gbdt_hist_plan_set_blocks(plans[pl], blocks);
        for (int rep = 0; rep < (blocks == 0 ? 2 : 1); rep++) {
          cudaMemset(dh, 0, sizeof(int64_t) * hl);
          ps_gbdt_hist_cuda(plans[pl], dB, which ? drs : NULL, which ? m : n, dgq, dhq, dh, 0);
          get(hg, dh, sizeof(int64_t) * hl);
          EXPECT(!memcmp(h, hg, sizeof(int64_t) * hl), "%s: histogram of %s differs (plan %d, %d blocks, run %d)",
                 name, which ? "the bag" : "every row", pl, blocks, rep + 1);
        }
      }
  }
  /* ---- split search on the histogram of the bag's rows ---- */
  int64_t G = 0, H = 0, N = 0;
  for (int64_t q = bin_off[0]; q < bin_off[1]; q++) G += h[3 * q], H += h[3 * q + 1], N += h[3 * q + 2];
  uint8_t *use = ps_malloc((size_t)f);
  for (int64_t j = 0; j < f; j++) use[j] = j != 0 && j % 5 != 3; /* without the plateau feature */
  uint8_t *duse = dev_copy(use, (size_t)f);
  int64_t *dbin_off = dev_copy(bin_off, sizeof(int64_t) * (size_t)(f + 1));
  void *swork = dev_copy(NULL, ps_gbdt_split_work(f));
  ps_split_t *dbest = dev_copy(NULL, sizeof(ps_split_t));
  cudaMemcpy(dh, h, sizeof(int64_t) * hl, cudaMemcpyHostToDevice);
  ps_split_t chosen = {0};
  for (int c = 0; c < 4; c++) {
    ps_split_params_t p = {.l2 = c == 2 ? 10.0 : 1.0, .min_data = c == 1 ? min_data * 5 : min_data,
                           .min_hess = c == 3 ? 1e30 : 1e-3, .min_gain = 0.0, .scale = scale};
    ps_split_t a, b;
    ps_gbdt_split_cpu(h, f, bin_off, c == 2 ? use : NULL, G, H, N, &p, &a);
    ps_gbdt_split_cuda(dh, f, dbin_off, c == 2 ? duse : NULL, G, H, N, p, swork, dbest, 0);
    get(&b, dbest, sizeof b);
    EXPECT(same_split(&a, &b), "%s: split %d differs: cpu f%d b%d dl%d gain %.17g, gpu f%d b%d dl%d gain %.17g", name, c,
           a.feature, a.bin, a.default_left, a.gain, b.feature, b.bin, b.default_left, b.gain);
    if (c == 0) chosen = a;
    if (c == 3) EXPECT(a.feature < 0, "%s: no split can meet an infinite min Hessian", name);
  }
  if (n >= 2 * min_data && f > 2 && N > 0 && chosen.feature >= 0)
    EXPECT(chosen.feature != f - 1, "%s: a tie must go to the lower feature", name);
  /* ---- partitions: a sequence of splits from the bag's rows, then each row's leaf ---- */
  int64_t begin[8] = {0}, count[8] = {m}, gbegin[8] = {0}, gcount[8] = {m};
  int64_t *rows_c = ps_malloc(sizeof(int64_t) * (size_t)(m + 1));
  memcpy(rows_c, rows, sizeof(int64_t) * (size_t)m);
  int64_t *drp = dev_copy(rows, sizeof(int64_t) * (size_t)(m + 1));
  int nleaves = 1;
  for (int s = 0; s < 7; s++) {
    int leaf = s % nleaves, right = nleaves;
    int32_t j = (int32_t)(s * 5 % f), nb = (int32_t)(bin_off[j + 1] - bin_off[j]);
    int32_t bin = s <= 1 ? nb : 1 + s * 37 % (nb > 1 ? nb - 1 : 1), dl = s % 2; /* s <= 1: every row left */
    if (s <= 1) dl = 1;
    if (s == 0 && chosen.feature >= 0) { /* the chosen split first (its left rows must match its count) */
      j = chosen.feature, bin = chosen.bin, dl = chosen.default_left;
    }
    int64_t nl = ps_gbdt_partition_cpu(B, f, rows_c + begin[leaf], count[leaf], j, bin, dl, tmp);
    int64_t nlg = ps_gbdt_partition_cuda(dB, f, drp + gbegin[leaf], gcount[leaf], j, bin, dl, dtmp, work, 0);
    if (s == 0 && chosen.feature >= 0) EXPECT(nl == chosen.ln, "%s: the chosen split's left rows", name);
    begin[right] = begin[leaf] + nl, count[right] = count[leaf] - nl, count[leaf] = nl;
    gbegin[right] = gbegin[leaf] + nlg, gcount[right] = gcount[leaf] - nlg, gcount[leaf] = nlg;
    nleaves++;
    get(rows_g, drp, sizeof(int64_t) * (size_t)m);
    EXPECT(nl == nlg && !memcmp(rows_c, rows_g, sizeof(int64_t) * (size_t)m),
           "%s: partition %d (feature %d bin %d) differs: %lld vs %lld left", name, s, j, bin, (long long)nl,
           (long long)nlg);
  }
  int32_t *lof = ps_malloc(sizeof(int32_t) * (size_t)n), *lofg = ps_malloc(sizeof(int32_t) * (size_t)n);
  for (int64_t i = 0; i < n; i++) lof[i] = -1;
  for (int L = 0; L < nleaves; L++)
    for (int64_t r = begin[L]; r < begin[L] + count[L]; r++) lof[rows_c[r]] = L;
  int64_t *dbeg = dev_copy(begin, sizeof begin), *dcnt = dev_copy(count, sizeof count);
  int32_t *dlof = dev_copy(NULL, sizeof(int32_t) * (size_t)n);
  cudaMemset(dlof, 0xff, sizeof(int32_t) * (size_t)n);
  ps_gbdt_leaf_of_cuda(drp, dbeg, dcnt, nleaves, m, dlof, 0);
  get(lofg, dlof, sizeof(int32_t) * (size_t)n);
  EXPECT(!memcmp(lof, lofg, sizeof(int32_t) * (size_t)n), "%s: the rows' leaves differ", name);
  /* ---- predictions over raw rows ---- */
  test_predict(X, n, f, cuts, cut_off, name, 23, 31);
  test_predict(X, n, f, cuts, cut_off, name, 5, 6000); /* trees too large to stage in shared memory */
  test_predict_heads(X, n, f, cuts, cut_off, name, 0);
  test_predict_heads(X, n, f, cuts, cut_off, name, 1);

  ps_gbdt_hist_plan_destroy(plans[0]);
  ps_gbdt_hist_plan_destroy(plans[1]);
  const void *dp[] = {dX, dcuts, dcut_off, dB, dgq, dhq, drows, dtmp, work, dbag, dh, drs, duse, dbin_off, swork, dbest,
                      drp, dbeg, dcnt, dlof};
  for (size_t i = 0; i < sizeof dp / sizeof dp[0]; i++) cudaFree((void *)dp[i]);
  free(cut_off), free(bin_off), free(cuts), free(X), free(B), free(Bg), free(score), free(y), free(gq), free(hq);
  free(bag), free(rows), free(rows_g), free(tmp), free(h), free(hg), free(use), free(rows_c), free(lof), free(lofg);
}

int main(void) {
  char desc[256];
  if (ps_cuda_probe(desc, sizeof desc) < 1) {
    printf("no CUDA device: skipped\n");
    return 77;
  }
  printf("%s\n", desc);
  one_case(1, 3, 254, 0.0, 1);        /* one row */
  one_case(2, 1, 3, 0.5, 1);          /* one feature */
  one_case(100, 5, 16, 0.1, 1);       /* fewer rows than a block */
  one_case(777, 9, 254, 0.0, 20);     /* 255 value bins, no missing values */
  one_case(5003, 40, 254, 0.2, 20);   /* many features: several groups of shared memory; missing values */
  one_case(3000, 6, 254, 1.0, 1);     /* every value missing (but the copy) */
  test_predict_heads_wide();          /* 256, 128, 64 rows a tile */
  if (failures) fprintf(stderr, "%d failure(s)\n", failures);
  else printf("tree kernels match their CPU twins\n");
  return failures ? 1 : 0;
}
