/* shap_backend_cuda.c: score --explain on the device (see shap_backend_cuda.h). */
#include "models/gbdt/shap_backend_cuda.h"

#include <cuda_runtime_api.h>
#include <stdlib.h>

#include "comm/comm.h"
#include "common/cuda_check.h"
#include "core/util.h"
#include "gbdt/gbdt_cat.h"
#include "gbdt/gbdt_kernels.h"

struct gbdt_cuda_explainer {
  cudaStream_t s;
  int k;
  ps_forest_view_t *fo; /* [k] device arrays */
  ps_shap_paths_t *ps;  /* [k] device arrays */
  float *X;
  double *phi;
  size_t cap; /* values the buffers hold */
};

static void *up(const void *h, size_t bytes, cudaStream_t s) {
  void *d = NULL;
  CUDA_CHECK(cudaMalloc(&d, bytes ? bytes : 8));
  if (bytes) CUDA_CHECK(cudaMemcpyAsync(d, h, bytes, cudaMemcpyHostToDevice, s));
  return d;
}

static void upload(gbdt_cuda_explainer_t *c, int h, const ps_forest_view_t *v, const ps_shap_paths_t *p) {
  ps_forest_view_t *d = &c->fo[h];
  ps_shap_paths_t *q = &c->ps[h];
  size_t nt = (size_t)v->ntrees, nodes = (size_t)v->node_off[nt], leaves = (size_t)v->leaf_off[nt];
  size_t np = (size_t)p->npath;
  *d = *v;
  d->node_off = up(v->node_off, sizeof(int64_t) * (nt + 1), c->s);
  d->leaf_off = up(v->leaf_off, sizeof(int64_t) * (nt + 1), c->s);
  d->feature = up(v->feature, sizeof(int32_t) * nodes, c->s);
  d->threshold = up(v->threshold, sizeof(float) * nodes, c->s);
  d->default_left = up(v->default_left, nodes, c->s);
  d->left = up(v->left, sizeof(int32_t) * nodes, c->s);
  d->right = up(v->right, sizeof(int32_t) * nodes, c->s);
  d->leaf_value = up(v->leaf_value, sizeof(double) * leaves, c->s);
  d->bin = NULL;
  d->cat = v->cat ? up(v->cat, sizeof(int32_t) * nodes, c->s) : NULL; /* categorical splits (gbdt/gbdt_cat.h) */
  d->cat_set = v->cat ? up(v->cat_set, PS_GBDT_CAT_BYTES * (size_t)ps_gbdt_view_sets(v, (int64_t)nodes), c->s) : NULL;
  *q = *p;
  q->path_off = up(p->path_off, sizeof(int64_t) * (leaves + 1), c->s);
  q->node = up(p->node, sizeof(int64_t) * np, c->s);
  q->go_left = up(p->go_left, np, c->s);
  q->zero = up(p->zero, sizeof(double) * np, c->s);
  q->expected = NULL;
}

gbdt_cuda_explainer_t *gbdt_cuda_explainer_create(const ps_forest_view_t *heads, const ps_shap_paths_t *paths, int k) {
  for (int h = 0; h < k; h++)
    if (paths[h].max_depth > PS_SHAP_MAX_DEPTH) return NULL;
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    cudaGetLastError();
    ps_die_local("--device cuda: no CUDA device visible to rank %d", ps_rank);
  }
  CUDA_CHECK(cudaSetDevice(comm_local_rank() % count));
  gbdt_cuda_explainer_t *c = ps_calloc(1, sizeof *c);
  CUDA_CHECK(cudaStreamCreateWithFlags(&c->s, cudaStreamNonBlocking));
  c->k = k;
  c->fo = ps_calloc((size_t)(k > 0 ? k : 1), sizeof(ps_forest_view_t));
  c->ps = ps_calloc((size_t)(k > 0 ? k : 1), sizeof(ps_shap_paths_t));
  for (int h = 0; h < k; h++) upload(c, h, &heads[h], &paths[h]);
  CUDA_CHECK(cudaStreamSynchronize(c->s));
  return c;
}

void gbdt_cuda_explainer_contrib(gbdt_cuda_explainer_t *c, int h, const float *X, int64_t n, int64_t f, double *phi) {
  if (n <= 0) return;
  size_t need = (size_t)n * (size_t)(f > 0 ? f : 1);
  if (need > c->cap) {
    if (c->X) CUDA_CHECK(cudaFree(c->X));
    if (c->phi) CUDA_CHECK(cudaFree(c->phi));
    CUDA_CHECK(cudaMalloc((void **)&c->X, sizeof(float) * need));
    CUDA_CHECK(cudaMalloc((void **)&c->phi, sizeof(double) * need));
    c->cap = need;
  }
  CUDA_CHECK(cudaMemcpyAsync(c->X, X, sizeof(float) * need, cudaMemcpyHostToDevice, c->s));
  CUDA_CHECK(cudaMemsetAsync(c->phi, 0, sizeof(double) * need, c->s));
  if (ps_gbdt_shap_cuda(&c->fo[h], &c->ps[h], c->X, n, f, c->phi, c->s) != 0)
    ps_die_local("TreeSHAP kernel: a path longer than %d nodes [%s:%d]", PS_SHAP_MAX_DEPTH, __FILE__, __LINE__);
  CUDA_CHECK(cudaMemcpyAsync(phi, c->phi, sizeof(double) * need, cudaMemcpyDeviceToHost, c->s));
  CUDA_CHECK(cudaStreamSynchronize(c->s));
}

void gbdt_cuda_explainer_destroy(gbdt_cuda_explainer_t *c) {
  if (!c) return;
  for (int h = 0; h < c->k; h++) {
    ps_forest_view_t *d = &c->fo[h];
    ps_shap_paths_t *q = &c->ps[h];
    const void *ps[] = {d->node_off, d->leaf_off, d->feature, d->threshold, d->default_left, d->left, d->right,
                        d->leaf_value, q->path_off, q->node, q->go_left, q->zero};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) CUDA_CHECK(cudaFree((void *)ps[i]));
    if (d->cat) CUDA_CHECK(cudaFree((void *)d->cat));
    if (d->cat_set) CUDA_CHECK(cudaFree((void *)d->cat_set));
  }
  if (c->X) CUDA_CHECK(cudaFree(c->X));
  if (c->phi) CUDA_CHECK(cudaFree(c->phi));
  CUDA_CHECK(cudaStreamDestroy(c->s));
  free(c->fo);
  free(c->ps);
  free(c);
}
