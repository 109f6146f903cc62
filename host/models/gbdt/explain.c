/* explain.c: the gradient-boosted trees model as an explainer
 * (models/explain.h): every head's exact TreeSHAP contributions of raw rows
 * by the CPU twin of the TreeSHAP kernel (kernels/gbdt/shap_cpu.h); the base
 * value of a head is its initial score plus each tree's cover-weighted mean
 * leaf value. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "gbdt/shap_cpu.h"
#include "models/device.h"
#include "models/explain.h"
#include "models/gbdt/model.h"
#ifdef PROPSCORE_HAVE_CUDA
#include "models/gbdt/shap_backend_cuda.h"
#endif

typedef struct {
  ps_gbdt_model_t m;
  ps_shap_paths_t *paths; /* [k] */
#ifdef PROPSCORE_HAVE_CUDA
  gbdt_cuda_explainer_t *cuda;
#endif
} gbdt_explainer_t;

static void contrib(ps_explainer_t *e, int h, const float *X, int64_t n, double *phi) {
  gbdt_explainer_t *g = e->impl;
#ifdef PROPSCORE_HAVE_CUDA
  if (g->cuda) {
    gbdt_cuda_explainer_contrib(g->cuda, h, X, n, g->m.f, phi);
    return;
  }
#endif
  memset(phi, 0, sizeof(double) * (size_t)n * (size_t)g->m.f);
  ps_forest_view_t v = forest_view(&g->m.forest[h]);
  ps_gbdt_shap_cpu(&v, &g->paths[h], X, n, g->m.f, phi);
}

static void destroy(ps_explainer_t *e) {
  gbdt_explainer_t *g = e->impl;
#ifdef PROPSCORE_HAVE_CUDA
  gbdt_cuda_explainer_destroy(g->cuda);
#endif
  for (int h = 0; h < g->m.k; h++) ps_gbdt_shap_paths_free(&g->paths[h]);
  free(g->paths);
  gbdt_model_free(&g->m);
  free(g);
  free(e->base);
  free(e);
}

/* The device's explainer when --device says cuda (NULL: the twin; paths too long for the kernel). */
static void use_device(gbdt_explainer_t *g, ps_explainer_t *e, const char *device) {
  int cuda = device_choose(device); /* collective: the same on every rank */
#ifdef PROPSCORE_HAVE_CUDA
  if (cuda) {
    ps_forest_view_t *v = ps_malloc(sizeof(ps_forest_view_t) * (size_t)g->m.k);
    for (int h = 0; h < g->m.k; h++) v[h] = forest_view(&g->m.forest[h]);
    g->cuda = gbdt_cuda_explainer_create(v, g->paths, g->m.k);
    free(v);
    if (g->cuda) e->device = "cuda";
    else ps_log("score: --explain on the CPU: a tree path is longer than the TreeSHAP kernel's %d nodes",
                PS_SHAP_MAX_DEPTH);
  }
#endif
  (void)cuda, (void)g, (void)e;
}

ps_explainer_t *gbdt_explainer_open(ps_h5_t fid, const char *path, const char *device) {
  gbdt_explainer_t *g = ps_calloc(1, sizeof *g);
  gbdt_model_read(fid, path, &g->m);
  ps_explainer_t *e = ps_calloc(1, sizeof *e);
  e->k = g->m.k;
  e->f = g->m.f;
  e->base = ps_malloc(sizeof(double) * (size_t)g->m.k);
  g->paths = ps_calloc((size_t)g->m.k, sizeof(ps_shap_paths_t));
  for (int h = 0; h < g->m.k; h++) {
    ps_forest_view_t v = forest_view(&g->m.forest[h]);
    if (ps_gbdt_shap_paths(&v, g->m.forest[h].leaf_count, &g->paths[h]) != 0)
      ps_die_all(PS_EXIT_ERROR, "%s: /trees/%s/leaf_count: a leaf covers no training rows (TreeSHAP needs them)",
                 path, g->m.targets[h]);
    e->base[h] = ps_gbdt_shap_base(&g->paths[h], g->m.forest[h].ntrees, g->m.init_score[h]);
  }
  e->device = "cpu";
  e->method = "treeshap";
  use_device(g, e, device);
  e->contrib = contrib;
  e->destroy = destroy;
  e->impl = g;
  return e;
}
