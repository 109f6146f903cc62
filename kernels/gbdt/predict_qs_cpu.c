/* predict_qs_cpu.c: the CPU scorer's forest evaluation in QuickScorer's
 * form (Lucchese et al., SIGIR 2015; its vectorized V-QuickScorer over
 * rows): a tree of <= 32 leaves is a list of nodes, each with a 32-bit
 * mask that clears its left subtree's leaves (numbered left to right); a
 * row starts with every leaf bit set, every node whose test sends it right
 * ANDs its mask in, and the row's leaf is the lowest bit left (the leaves
 * left of it lie under a node that sent it right; its own are never
 * cleared). No dependent loads and no branches: PS_QS_ROWS rows go through
 * each node in a few vector instructions, over a block of rows transposed
 * once (only the used features, two columns each: the value as is and
 * NaN -> -Inf, so "left iff value <= threshold" holds for both default
 * directions without a NaN test). Every head's trees over one block. Per
 * row the sum is ps_gbdt_predict_cpu's: its start value plus each tree's
 * leaf value, in tree order, in double: the same bits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "gbdt/gbdt_cpu.h"

#define R PS_QS_ROWS
typedef float vf_t __attribute__((vector_size(4 * R)));
typedef int32_t vi_t __attribute__((vector_size(4 * R)));

/* Left-to-right leaf numbers of local node c's subtree from *p on; each node's mask. */
static void in_order(const ps_forest_view_t *fo, int64_t base, int32_t c, int *p, uint8_t *pos, uint32_t *mask) {
  if (c < 0) {
    pos[~c] = (uint8_t)(*p)++;
    return;
  }
  int a = *p;
  in_order(fo, base, fo->left[base + c], p, pos, mask);
  mask[c] = ~(((1u << (*p - a)) - 1u) << a); /* a left subtree holds <= 31 leaves */
  in_order(fo, base, fo->right[base + c], p, pos, mask);
}

/* Can every tree be evaluated so? (<= 32 leaves, numerical splits, thresholds not NaN.) */
static int qs_fits(const ps_forest_view_t *heads, int k) {
  for (int h = 0; h < k; h++) {
    const ps_forest_view_t *fo = &heads[h];
    for (int32_t t = 0; t < fo->ntrees; t++)
      if (fo->leaf_off[t + 1] - fo->leaf_off[t] > 32) return 0;
    for (int64_t q = 0; q < fo->node_off[fo->ntrees]; q++)
      if (fo->threshold[q] != fo->threshold[q] || (fo->cat && fo->cat[q] >= 0)) return 0;
  }
  return 1;
}

/* Sizes: trees, nodes, leaves; the used features numbered in qs->feature. */
static void qs_count(const ps_forest_view_t *heads, int k, int64_t f, ps_gbdt_qs_t *qs, int32_t *col) {
  for (int64_t j = 0; j < f; j++) col[j] = -1;
  for (int h = 0; h < k; h++) {
    const ps_forest_view_t *fo = &heads[h];
    qs->trees += fo->ntrees;
    qs->nodes += fo->node_off[fo->ntrees];
    qs->leaves += fo->leaf_off[fo->ntrees];
    for (int64_t q = 0; q < fo->node_off[fo->ntrees]; q++)
      if (col[fo->feature[q]] < 0) col[fo->feature[q]] = qs->nu++;
  }
  qs->feature = ps_malloc(sizeof(int32_t) * (size_t)(qs->nu > 0 ? qs->nu : 1));
  for (int64_t j = 0; j < f; j++)
    if (col[j] >= 0) qs->feature[col[j]] = (int32_t)j;
}

/* Tree t of fo as nodes from qs->node_off[g] and in-order leaves from qs->leaf_off[g]. */
static void qs_tree(const ps_forest_view_t *fo, int32_t t, const int32_t *col, ps_gbdt_qs_t *qs, int64_t g) {
  int64_t base = fo->node_off[t], nn = fo->node_off[t + 1] - base, l0 = fo->leaf_off[t];
  int64_t nl = fo->leaf_off[t + 1] - l0, o = qs->node_off[g], lo = qs->leaf_off[g];
  uint8_t pos[32] = {0};
  uint32_t mask[31];
  int p = 0;
  if (nn > 0) in_order(fo, base, 0, &p, pos, mask);
  for (int64_t c = 0; c < nn; c++) {
    int64_t q = base + c;
    qs->node[o + c] = (ps_gbdt_qs_node_t){
        .x = (uint32_t)((2 * col[fo->feature[q]] + (fo->default_left[q] != 0)) * R),
        .threshold = fo->threshold[q],
        .mask = mask[c]};
  }
  for (int64_t l = 0; l < nl; l++) qs->leaf[lo + pos[l]] = fo->leaf_value[l0 + l];
  qs->node_off[g + 1] = o + nn;
  qs->leaf_off[g + 1] = lo + nl;
}

int ps_gbdt_qs_build(const ps_forest_view_t *heads, int k, int64_t f, ps_gbdt_qs_t *qs) {
  memset(qs, 0, sizeof *qs);
  if (!qs_fits(heads, k)) return -1;
  int32_t *col = ps_malloc(sizeof(int32_t) * (size_t)(f > 0 ? f : 1));
  qs->k = k;
  qs_count(heads, k, f, qs, col);
  qs->ntrees = ps_malloc(sizeof(int32_t) * (size_t)(k > 0 ? k : 1));
  qs->node_off = ps_malloc(sizeof(int64_t) * (size_t)(qs->trees + 1));
  qs->leaf_off = ps_malloc(sizeof(int64_t) * (size_t)(qs->trees + 1));
  qs->node = ps_malloc(sizeof(ps_gbdt_qs_node_t) * (size_t)(qs->nodes > 0 ? qs->nodes : 1));
  qs->leaf = ps_malloc(sizeof(double) * (size_t)(qs->leaves > 0 ? qs->leaves : 1));
  qs->node_off[0] = qs->leaf_off[0] = 0;
  int64_t g = 0;
  for (int h = 0; h < k; h++) {
    qs->ntrees[h] = heads[h].ntrees;
    for (int32_t t = 0; t < heads[h].ntrees; t++, g++) qs_tree(&heads[h], t, col, qs, g);
  }
  free(col);
  return 0;
}

void ps_gbdt_qs_free(ps_gbdt_qs_t *qs) {
  free(qs->feature);
  free(qs->ntrees);
  free(qs->node_off);
  free(qs->leaf_off);
  free(qs->node);
  free(qs->leaf);
  memset(qs, 0, sizeof *qs);
}

/* Rows x[0..m) (stride f) into xt [2 nu][R]: the used features, as is and NaN -> -Inf. */
static inline __attribute__((always_inline)) void transpose(const ps_gbdt_qs_t *qs, const float *x, int m,
                                                            int64_t f, float *xt) {
  for (int32_t u = 0; u < qs->nu; u++) {
    float *a = xt + (size_t)(2 * u) * R, *b = a + R;
    const float *c = x + qs->feature[u];
    for (int r = 0; r < m; r++) {
      float v = c[(size_t)r * (size_t)f];
      a[r] = v;
      b[r] = v != v ? -INFINITY : v;
    }
    for (int r = m; r < R; r++) a[r] = b[r] = 0.0f;
  }
}

/* s[r] += every tree's leaf, trees [g0, g1) in order, for the block in xt. */
static inline __attribute__((always_inline)) void trees(const ps_gbdt_qs_t *qs, int64_t g0, int64_t g1,
                                                        const float *xt, int m, double *s) {
  for (int64_t g = g0; g < g1; g++) {
    vi_t lb = (vi_t){0} - 1;
    for (int64_t q = qs->node_off[g]; q < qs->node_off[g + 1]; q++) {
      const ps_gbdt_qs_node_t *nd = &qs->node[q];
      vf_t x;
      memcpy(&x, xt + nd->x, sizeof x);
      lb &= (x <= nd->threshold) | (int32_t)nd->mask; /* left: keep; right: clear the left subtree */
    }
    uint32_t b[R];
    memcpy(b, &lb, sizeof b);
    const double *leaf = qs->leaf + qs->leaf_off[g];
    for (int r = 0; r < m; r++) s[r] += leaf[__builtin_ctz(b[r])];
  }
}

#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
void ps_gbdt_predict_qs_cpu(const ps_gbdt_qs_t *qs, const float *X, int64_t n, int64_t f, double *z) {
  float *xt = aligned_alloc(64, sizeof(float) * (size_t)R * (size_t)(2 * qs->nu + 1));
  if (!xt) ps_die_local("out of memory (%zu bytes)", sizeof(float) * (size_t)R * (size_t)(2 * qs->nu + 1));
  double s[R];
  for (int64_t i0 = 0; i0 < n; i0 += R) {
    int m = n - i0 < R ? (int)(n - i0) : R;
    transpose(qs, X + (size_t)i0 * (size_t)f, m, f, xt);
    int64_t g = 0;
    for (int h = 0; h < qs->k; h++) {
      double *out = z + (size_t)h * (size_t)n + (size_t)i0;
      for (int r = 0; r < m; r++) s[r] = out[r];
      trees(qs, g, g + qs->ntrees[h], xt, m, s);
      g += qs->ntrees[h];
      for (int r = 0; r < m; r++) out[r] = s[r];
    }
  }
  free(xt);
}
