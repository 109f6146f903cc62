/* test_shap_kernels.c: the TreeSHAP kernel (shap.cu) against its CPU twin
 * (shap_cpu.c), bitwise: random forests (single-leaf trees, features
 * repeated along paths, uneven covers) over rows with NaN and values on
 * the thresholds; 1 row, fewer rows than a block, many blocks; twice (the
 * same bits); contributions added to what phi held; a path longer than
 * PS_SHAP_MAX_DEPTH refused (-1, phi untouched). Exits 77 (ctest: skipped)
 * with "no CUDA device" when the machine has no GPU. */
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
#include "gbdt/shap_cpu.h"

#include "common/test_expect.h"

static void *up(const void *h, size_t bytes) {
  void *d = NULL;
  if (cudaMalloc(&d, bytes ? bytes : 8) != cudaSuccess) ps_die_local("cudaMalloc failed");
  if (h && bytes && cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice) != cudaSuccess) ps_die_local("cudaMemcpy failed");
  return d;
}

typedef struct {
  int32_t ntrees;
  int64_t *node_off, *leaf_off, *count;
  int32_t *feature, *left, *right;
  float *threshold;
  uint8_t *bin, *dl;
  double *value;
} forest_t;

/* ntrees trees of 1..maxl leaves (tree 0 a single leaf; chain: every split on the last leaf, a deep path). */
static void forest_make(forest_t *fo, int ntrees, int maxl, int64_t f, int chain, uint64_t seed) {
  size_t cap = (size_t)ntrees * (size_t)maxl;
  fo->ntrees = ntrees;
  fo->node_off = ps_calloc((size_t)ntrees + 1, sizeof(int64_t));
  fo->leaf_off = ps_calloc((size_t)ntrees + 1, sizeof(int64_t));
  fo->count = ps_malloc(sizeof(int64_t) * cap);
  fo->feature = ps_malloc(sizeof(int32_t) * cap);
  fo->left = ps_malloc(sizeof(int32_t) * cap);
  fo->right = ps_malloc(sizeof(int32_t) * cap);
  fo->threshold = ps_malloc(sizeof(float) * cap);
  fo->bin = ps_calloc(cap, 1);
  fo->dl = ps_malloc(cap);
  fo->value = ps_malloc(sizeof(double) * cap);
  int64_t nodes = 0, leaves = 0;
  int32_t *pnode = ps_malloc(sizeof(int32_t) * (size_t)maxl), *pside = ps_malloc(sizeof(int32_t) * (size_t)maxl);
  for (int t = 0; t < ntrees; t++) {
    int L = t == 0 ? 1 : chain ? maxl : 1 + (int)(ps_rng_unif(seed, 1, (uint64_t)t, 0) * maxl);
    pnode[0] = -1;
    for (int nl = 1; nl < L; nl++) {
      int leaf = chain ? nl - 1 : (int)(ps_rng_unif(seed, 2, (uint64_t)t, (uint64_t)nl) * nl), node = nl - 1;
      int64_t k = nodes + node;
      fo->feature[k] = (int32_t)(ps_rng_unif(seed, 3, (uint64_t)t, (uint64_t)nl) * (double)f);
      fo->threshold[k] = (float)(int)(ps_rng_unif(seed, 4, (uint64_t)t, (uint64_t)nl) * 8) * 0.25f;
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
    for (int q = 0; q < L; q++) {
      fo->value[leaves + q] = ps_rng_normal(seed, 6, (uint64_t)t, (uint64_t)q) * 0.1;
      fo->count[leaves + q] = 1 + (int64_t)(ps_rng_unif(seed, 7, (uint64_t)t, (uint64_t)q) * 500);
    }
    nodes += L - 1;
    leaves += L;
    fo->node_off[t + 1] = nodes;
    fo->leaf_off[t + 1] = leaves;
  }
  free(pnode), free(pside);
}

static void forest_free_(forest_t *fo) {
  free(fo->node_off), free(fo->leaf_off), free(fo->count), free(fo->feature), free(fo->left), free(fo->right);
  free(fo->threshold), free(fo->bin), free(fo->dl), free(fo->value);
}

static ps_forest_view_t view_of(const forest_t *fo) {
  ps_forest_view_t v = {.ntrees = fo->ntrees, .node_off = fo->node_off, .leaf_off = fo->leaf_off,
                        .feature = fo->feature, .threshold = fo->threshold, .bin = fo->bin, .default_left = fo->dl,
                        .left = fo->left, .right = fo->right, .leaf_value = fo->value};
  return v;
}

/* The same forest and paths with device arrays; *mem: what to free. */
static void device_views(const forest_t *fo, const ps_shap_paths_t *ps, ps_forest_view_t *dv, ps_shap_paths_t *dp,
                         void **mem) {
  int64_t T = fo->ntrees, nodes = fo->node_off[T], leaves = fo->leaf_off[T];
  *dv = view_of(fo);
  mem[0] = (void *)(dv->node_off = up(fo->node_off, sizeof(int64_t) * (size_t)(T + 1)));
  mem[1] = (void *)(dv->leaf_off = up(fo->leaf_off, sizeof(int64_t) * (size_t)(T + 1)));
  mem[2] = (void *)(dv->feature = up(fo->feature, sizeof(int32_t) * (size_t)nodes));
  mem[3] = (void *)(dv->threshold = up(fo->threshold, sizeof(float) * (size_t)nodes));
  mem[4] = (void *)(dv->default_left = up(fo->dl, (size_t)nodes));
  mem[5] = (void *)(dv->left = up(fo->left, sizeof(int32_t) * (size_t)nodes));
  mem[6] = (void *)(dv->right = up(fo->right, sizeof(int32_t) * (size_t)nodes));
  mem[7] = (void *)(dv->leaf_value = up(fo->value, sizeof(double) * (size_t)leaves));
  *dp = *ps;
  mem[8] = dp->path_off = up(ps->path_off, sizeof(int64_t) * (size_t)(leaves + 1));
  mem[9] = dp->node = up(ps->node, sizeof(int64_t) * (size_t)ps->npath);
  mem[10] = dp->go_left = up(ps->go_left, (size_t)ps->npath);
  mem[11] = dp->zero = up(ps->zero, sizeof(double) * (size_t)ps->npath);
  mem[12] = dp->expected = NULL;
  dv->bin = NULL;
}

static void one_case(int64_t n, int64_t f, int ntrees, int maxl, int chain) {
  forest_t fo;
  forest_make(&fo, ntrees, maxl, f, chain, 11 + (uint64_t)n);
  ps_forest_view_t v = view_of(&fo), dv;
  ps_shap_paths_t ps, dp;
  EXPECT(ps_gbdt_shap_paths(&v, fo.count, &ps) == 0, "paths refused");
  float *X = ps_malloc(sizeof(float) * (size_t)(n * f));
  for (int64_t i = 0; i < n * f; i++) {
    double u = ps_rng_unif(5, 8, (uint64_t)i, 0);
    X[i] = u < 0.15 ? NAN : u < 0.3 ? (float)(int)(u * 26) * 0.25f : (float)(u * 2.2 - 0.4);
  }
  size_t bytes = sizeof(double) * (size_t)(n * f);
  double *phi0 = ps_malloc(bytes), *phi = ps_malloc(bytes), *got = ps_malloc(bytes);
  for (int64_t e = 0; e < n * f; e++) phi0[e] = phi[e] = (double)e * 0.5; /* contributions are added */
  void *mem[13];
  device_views(&fo, &ps, &dv, &dp, mem);
  float *dX = up(X, sizeof(float) * (size_t)(n * f));
  double *dphi = up(NULL, bytes);
  ps_gbdt_shap_cpu(&v, &ps, X, n, f, phi);
  int deep = ps.max_depth > PS_SHAP_MAX_DEPTH;
  for (int rep = 0; rep < 2; rep++) {
    if (cudaMemcpy(dphi, phi0, bytes, cudaMemcpyHostToDevice) != cudaSuccess) ps_die_local("cudaMemcpy failed");
    int rc = ps_gbdt_shap_cuda(&dv, &dp, dX, n, f, dphi, 0);
    if (cudaDeviceSynchronize() != cudaSuccess) ps_die_local("the shap kernel failed");
    if (cudaMemcpy(got, dphi, bytes, cudaMemcpyDeviceToHost) != cudaSuccess) ps_die_local("cudaMemcpy failed");
    if (deep) EXPECT(rc == -1 && !memcmp(got, phi0, bytes), "n=%lld: a path of %d nodes not refused", (long long)n,
                     ps.max_depth);
    else EXPECT(rc == 0 && !memcmp(got, phi, bytes), "n=%lld f=%lld trees=%d: contributions differ (run %d)",
                (long long)n, (long long)f, ntrees, rep);
  }
  EXPECT(deep == (ps.max_depth == 65), "n=%lld: longest path %d", (long long)n, ps.max_depth);
  for (int i = 0; i < 12; i++) cudaFree(mem[i]);
  cudaFree(dX), cudaFree(dphi);
  free(X), free(phi0), free(phi), free(got);
  ps_gbdt_shap_paths_free(&ps);
  forest_free_(&fo);
}

int main(void) {
  char desc[256];
  if (ps_cuda_probe(desc, sizeof desc) < 1) {
    printf("no CUDA device: skipped\n");
    return 77;
  }
  printf("%s\n", desc);
  one_case(1, 3, 5, 31, 0);     /* one row */
  one_case(50, 6, 12, 31, 0);   /* fewer rows than a block; features repeat along paths */
  one_case(1000, 9, 30, 63, 0); /* many blocks */
  one_case(70, 4, 3, 65, 1);    /* paths of 64 nodes: the kernel's longest */
  one_case(30, 4, 3, 66, 1);    /* paths of 65 nodes: refused */
  if (failures) fprintf(stderr, "%d failure(s)\n", failures);
  else printf("the TreeSHAP kernel matches its CPU twin\n");
  return failures ? 1 : 0;
}
