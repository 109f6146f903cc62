/* scorer.c: the gradient-boosted trees model as a scorer (models/scorer.h):
 * raw rows through every head's forest (no bins needed) -- the predict
 * kernel with --device cuda (backend_cuda.c), else the forests in
 * QuickScorer's form (predict_qs_cpu.c: trees of <= 32 leaves) or flattened
 * and walked (predict_flat_cpu.c), a block of rows at a time, the CPU
 * twin's bits -- then the sigmoid. CSR rows: 64 rows at a time scattered
 * into a scratch kept zero (csr_tile_cpu.c) and walked flat (predict_csr),
 * or by the twin for the blend's logits (logits_csr); on the device a tile
 * of rows at a time the same way (predict_csr_cuda). */
#include <stdlib.h>

#include "common/psmath.h"
#include "core/util.h"
#include "gbdt/csr_tile_cpu.h"
#include "gbdt/gbdt_cpu.h"
#include "models/device.h"
#include "models/gbdt/backend.h"
#include "models/gbdt/model.h"
#include "models/scorer.h"

void gbdt_model_logits(const ps_gbdt_model_t *m, const float *X, int64_t n, double *Z) {
  for (int h = 0; h < m->k; h++) {
    double *z = Z + (size_t)h * (size_t)n;
    for (int64_t i = 0; i < n; i++) z[i] = m->init_score[h];
    ps_forest_view_t v = forest_view(&m->forest[h]);
    ps_gbdt_predict_cpu(&v, X, n, m->f, z);
  }
}

typedef struct {
  ps_gbdt_model_t m;
  double *z;
  int64_t cap;
  ps_gbdt_flat_t *flat; /* [k] the heads' flat forests, or NULL: the CPU twin walks the views */
  int32_t **roots;
  ps_gbdt_node_t **nodes;
  ps_gbdt_qs_t qs; /* used when qs.k == m.k > 0 (every tree fits it), before the flat walk */
  float *tile;  /* CSR rows: CSR_TILE x f floats, zero between tiles */
  double *zt;   /* [k][CSR_TILE] */
#ifdef PROPSCORE_HAVE_CUDA
  gbdt_cuda_scorer_t *cuda;
#endif
} gbdt_scorer_t;

static void z_room(gbdt_scorer_t *g, int64_t n) {
  if (n <= g->cap) return;
  free(g->z);
  g->z = ps_malloc(sizeof(double) * (size_t)n * (size_t)(g->m.k > 0 ? g->m.k : 1));
  g->cap = n;
}

static void predict(ps_scorer_t *s, const float *X, int64_t n, float *P) {
  gbdt_scorer_t *g = s->impl;
  z_room(g, n);
#ifdef PROPSCORE_HAVE_CUDA
  if (g->cuda) {
    gbdt_cuda_scorer_predict(g->cuda, X, n, g->m.f, g->m.init_score, g->z);
    for (size_t e = 0; e < (size_t)n * (size_t)g->m.k; e++) P[e] = (float)ps_sigmoid(g->z[e]);
    return;
  }
#endif
  if (g->flat || g->qs.k > 0) { /* every head from one read of a block of rows */
    for (int h = 0; h < g->m.k; h++)
      for (int64_t i = 0; i < n; i++) g->z[(size_t)h * (size_t)n + (size_t)i] = g->m.init_score[h];
    if (g->qs.k > 0) ps_gbdt_predict_qs_cpu(&g->qs, X, n, g->m.f, g->z);
    else ps_gbdt_predict_flat_cpu(g->flat, g->m.k, X, n, g->m.f, g->z);
    for (size_t e = 0; e < (size_t)n * (size_t)g->m.k; e++) P[e] = (float)ps_sigmoid(g->z[e]);
    return;
  }
  for (int h = 0; h < g->m.k; h++) {
    for (int64_t i = 0; i < n; i++) g->z[i] = g->m.init_score[h];
    ps_forest_view_t v = forest_view(&g->m.forest[h]);
    ps_gbdt_predict_cpu(&v, X, n, g->m.f, g->z);
    for (int64_t i = 0; i < n; i++) P[(size_t)h * (size_t)n + (size_t)i] = (float)ps_sigmoid(g->z[i]);
  }
}

/* CSR rows (score on a CSR file, CPU): CSR_TILE rows at a time scattered
 * into a scratch of CSR_TILE x f floats kept zero (the values not stored
 * are 0.0), walked as dense rows (the same walk: the same bits), then only
 * the stored places zeroed again: O(stored values) besides the walk, never
 * a block made dense. */
#define CSR_TILE 64
static void tile_scores(gbdt_scorer_t *g, const float *T, int64_t m, double *zt) {
  for (int h = 0; h < g->m.k; h++)
    for (int64_t i = 0; i < m; i++) zt[(size_t)h * (size_t)m + (size_t)i] = g->m.init_score[h];
  if (g->flat) {
    ps_gbdt_predict_flat_cpu(g->flat, g->m.k, T, m, g->m.f, zt);
    return;
  }
  for (int h = 0; h < g->m.k; h++) {
    ps_forest_view_t v = forest_view(&g->m.forest[h]);
    ps_gbdt_predict_cpu(&v, T, m, g->m.f, zt + (size_t)h * (size_t)m);
  }
}

/* CSR rows' probabilities P (predict's walk) or, Z given, logits (gbdt_model_logits' walk), [k][n]. */
static void csr_tiles(gbdt_scorer_t *g, const int64_t *ptr, const int32_t *idx, const float *val, int64_t n,
                      float *P, double *Z) {
  size_t f = (size_t)g->m.f;
  if (!g->tile) {
    g->tile = ps_calloc(CSR_TILE * f, sizeof(float));
    g->zt = ps_malloc(sizeof(double) * CSR_TILE * (size_t)(g->m.k > 0 ? g->m.k : 1));
  }
  for (int64_t i0 = 0; i0 < n; i0 += CSR_TILE) {
    int64_t m = n - i0 < CSR_TILE ? n - i0 : CSR_TILE;
    ps_gbdt_csr_scatter_cpu(ptr, idx, val, i0, m, (int64_t)f, g->tile);
    if (Z) gbdt_model_logits(&g->m, g->tile, m, g->zt);
    else tile_scores(g, g->tile, m, g->zt);
    ps_gbdt_csr_scatter_cpu(ptr, idx, NULL, i0, m, (int64_t)f, g->tile);
    for (int h = 0; h < g->m.k; h++)
      for (int64_t i = 0; i < m; i++) {
        size_t e = (size_t)h * (size_t)n + (size_t)(i0 + i);
        double z = g->zt[(size_t)h * (size_t)m + (size_t)i];
        if (Z) Z[e] = z;
        else P[e] = (float)ps_sigmoid(z);
      }
  }
}

static void predict_csr(ps_scorer_t *s, const int64_t *ptr, const int32_t *idx, const float *val, int64_t n,
                        float *P) {
  csr_tiles(s->impl, ptr, idx, val, n, P, NULL);
}

/* The blend's logits of CSR rows: gbdt_model_logits' bits on the rows made dense. */
static void logits_csr(ps_scorer_t *s, const int64_t *ptr, const int32_t *idx, const float *val, int64_t n,
                       double *Z) {
  csr_tiles(s->impl, ptr, idx, val, n, NULL, Z);
}

#ifdef PROPSCORE_HAVE_CUDA
/* CSR rows on the device (score --device cuda): the stored values go up,
 * scattered there a tile of rows at a time (backend_cuda.c). */
static void predict_csr_cuda(ps_scorer_t *s, const int64_t *ptr, const int32_t *idx, const float *val, int64_t n,
                             float *P) {
  gbdt_scorer_t *g = s->impl;
  z_room(g, n);
  gbdt_cuda_scorer_predict_csr(g->cuda, ptr, idx, val, n, g->m.f, g->m.init_score, g->z);
  for (size_t e = 0; e < (size_t)n * (size_t)g->m.k; e++) P[e] = (float)ps_sigmoid(g->z[e]);
}
#endif

static void logits(ps_scorer_t *s, const float *X, int64_t n, double *Z) {
  gbdt_scorer_t *g = s->impl;
  gbdt_model_logits(&g->m, X, n, Z);
}

static void flat_free(gbdt_scorer_t *g) {
  for (int h = 0; g->flat && h < g->m.k; h++) {
    free(g->roots[h]);
    free(g->nodes[h]);
  }
  free(g->flat);
  free(g->roots);
  free(g->nodes);
  g->flat = NULL;
  g->roots = NULL; /* flat_free runs again at destroy after a forest that could not be flattened */
  g->nodes = NULL;
}

/* Every head's forest in QuickScorer's form if it fits, else flattened (left NULL when one is too large). */
static void flatten(gbdt_scorer_t *g) {
  int k = g->m.k > 0 ? g->m.k : 1;
  ps_forest_view_t *views = ps_malloc(sizeof(ps_forest_view_t) * (size_t)k);
  for (int h = 0; h < g->m.k; h++) views[h] = forest_view(&g->m.forest[h]);
  int qs = g->m.k > 0 && ps_gbdt_qs_build(views, g->m.k, g->m.f, &g->qs) == 0;
  free(views);
  if (qs) return;
  g->flat = ps_calloc((size_t)k, sizeof *g->flat);
  g->roots = ps_calloc((size_t)k, sizeof *g->roots);
  g->nodes = ps_calloc((size_t)k, sizeof *g->nodes);
  for (int h = 0; h < g->m.k; h++) {
    const ps_forest_t *fo = &g->m.forest[h];
    if (fo->cat) { /* category sets: the twin's walk decides them (gbdt_cat.h) */
      flat_free(g);
      return;
    }
    ps_forest_view_t v = forest_view(fo);
    g->roots[h] = ps_malloc(sizeof(int32_t) * (size_t)(fo->ntrees > 0 ? fo->ntrees : 1));
    g->nodes[h] = ps_malloc(sizeof(ps_gbdt_node_t) * (size_t)(fo->nnodes > 0 ? fo->nnodes : 1));
    if (ps_gbdt_flatten(&v, g->roots[h], g->nodes[h]) != 0) {
      flat_free(g);
      return;
    }
    g->flat[h] = (ps_gbdt_flat_t){.ntrees = fo->ntrees, .root = g->roots[h], .node = g->nodes[h],
                                  .leaf_value = fo->leaf_value};
  }
}

static void destroy(ps_scorer_t *s) {
  gbdt_scorer_t *g = s->impl;
#ifdef PROPSCORE_HAVE_CUDA
  gbdt_cuda_scorer_destroy(g->cuda);
#endif
  flat_free(g);
  if (g->qs.k > 0) ps_gbdt_qs_free(&g->qs);
  gbdt_model_free(&g->m);
  free(g->z);
  free(g->tile);
  free(g->zt);
  free(g);
  free(s);
}

ps_scorer_t *gbdt_scorer_open(ps_h5_t fid, const char *path, const char *device) {
  int cuda = device_choose(device); /* collective: the same on every rank */
  gbdt_scorer_t *g = ps_calloc(1, sizeof *g);
  gbdt_model_read(fid, path, &g->m);
  ps_scorer_t *s = ps_calloc(1, sizeof *s);
  s->model_type = "gbdt";
  s->device = "cpu";
#ifdef PROPSCORE_HAVE_CUDA
  if (cuda) {
    ps_forest_view_t *v = ps_malloc(sizeof(ps_forest_view_t) * (size_t)(g->m.k > 0 ? g->m.k : 1));
    for (int h = 0; h < g->m.k; h++) v[h] = forest_view(&g->m.forest[h]);
    g->cuda = gbdt_cuda_scorer_create(v, g->m.k);
    free(v);
    s->device = "cuda";
  }
#endif
  if (!cuda) flatten(g);
  (void)cuda;
  s->k = g->m.k;
  s->targets = g->m.targets;
  s->f = g->m.f;
  s->feature_names = g->m.feature_names;
  s->holdout = g->m.holdout;
  s->split_salt = g->m.split_salt;
  s->predict = predict;
  s->destroy = destroy;
  s->logits = logits;
  s->predict_csr = predict_csr;
#ifdef PROPSCORE_HAVE_CUDA
  if (cuda) s->predict_csr = predict_csr_cuda;
#endif
  s->logits_csr = logits_csr; /* logits are the CPU's whatever the device */
  s->impl = g;
  return s;
}
