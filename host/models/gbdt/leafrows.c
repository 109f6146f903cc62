/* leafrows.c: a tree's splits replayed on binned rows (leafrows.h). grow.c
 * numbers them so: node q splits a leaf into itself (the left rows) and the
 * new leaf q + 1 (the right rows); the leaf is the leftmost leaf under node
 * q (checked: any other order is an internal error). */
#include "models/gbdt/leafrows.h"

#include <stdlib.h>

#include "core/util.h"
#include "gbdt/gbdt_cat.h"

struct gbdt_leafrows {
  int64_t n, f;
  uint8_t *Bt;              /* [f][n] */
  int64_t *rows, *tmp;      /* [n] */
  int64_t *begin, *count;   /* [cap] a leaf's segment of rows */
  int64_t cap;
};

gbdt_leafrows_t *leafrows_create(const uint8_t *B, int64_t n, int64_t f) {
  gbdt_leafrows_t *lr = ps_calloc(1, sizeof *lr);
  lr->n = n;
  lr->f = f;
  lr->Bt = ps_malloc((size_t)(n > 0 ? n : 1) * (size_t)(f > 0 ? f : 1));
  for (int64_t i0 = 0; i0 < n; i0 += 4096) /* 4096 rows of B at a time */
    for (int64_t j = 0; j < f; j++)
      for (int64_t i = i0; i < n && i < i0 + 4096; i++)
        lr->Bt[(size_t)j * (size_t)n + (size_t)i] = B[(size_t)i * (size_t)f + (size_t)j];
  lr->rows = ps_malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
  lr->tmp = ps_malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
  return lr;
}

/* The leftmost leaf under child c (< 0: leaf ~c) of tree nodes from base. */
static int32_t leftmost(const ps_forest_view_t *v, int64_t base, int32_t c) {
  while (c >= 0) c = v->left[base + c];
  return ~c;
}

/* Tree t's leaves as segments of rows; 0 if its nodes are not numbered as grow.c's. */
static int replay(gbdt_leafrows_t *lr, const ps_forest_view_t *v, int32_t t) {
  int64_t base = v->node_off[t], nodes = v->node_off[t + 1] - base, n = lr->n;
  if (nodes + 1 > lr->cap) {
    lr->cap = nodes + 1;
    lr->begin = ps_realloc(lr->begin, sizeof(int64_t) * (size_t)lr->cap);
    lr->count = ps_realloc(lr->count, sizeof(int64_t) * (size_t)lr->cap);
  }
  for (int64_t i = 0; i < n; i++) lr->rows[i] = i;
  lr->begin[0] = 0;
  lr->count[0] = n;
  for (int64_t q = 0; q < nodes; q++) {
    int64_t k = base + q;
    int32_t a = leftmost(v, base, v->left[k]);
    if (a > q || leftmost(v, base, v->right[k]) != q + 1) return 0;
    const uint8_t *col = lr->Bt + (size_t)v->feature[k] * (size_t)n, *set = ps_gbdt_node_set(v, k);
    int64_t *rows = lr->rows + lr->begin[a], m = lr->count[a];
    int64_t nl = set ? ps_gbdt_partition_set_cpu(col, 1, rows, m, 0, set, lr->tmp)
                     : ps_gbdt_partition_cpu(col, 1, rows, m, 0, v->bin[k], v->default_left[k], lr->tmp);
    lr->begin[q + 1] = lr->begin[a] + nl;
    lr->count[q + 1] = m - nl;
    lr->count[a] = nl;
  }
  return 1;
}

void leafrows_add(gbdt_leafrows_t *lr, const ps_forest_view_t *v, int32_t t, double *out) {
  if (!replay(lr, v, t)) ps_die_local("gbdt: tree %d's nodes are not in growth order [%s:%d]", t, __FILE__, __LINE__);
  const double *value = v->leaf_value + v->leaf_off[t];
  int64_t leaves = v->leaf_off[t + 1] - v->leaf_off[t];
  for (int64_t a = 0; a < leaves; a++) {
    const int64_t *r = lr->rows + lr->begin[a];
    double x = value[a];
    for (int64_t i = 0; i < lr->count[a]; i++) out[r[i]] += x;
  }
}

void leafrows_free(gbdt_leafrows_t *lr) {
  if (!lr) return;
  free(lr->Bt);
  free(lr->rows);
  free(lr->tmp);
  free(lr->begin);
  free(lr->count);
  free(lr);
}
