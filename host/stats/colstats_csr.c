/* colstats_csr.c: the column statistics of CSR rows from their stored
 * values (colstats.h's stats_tree_add_csr), bitwise those of the rows made
 * dense, leaf (grid block) by leaf, without the dense rows: a value not
 * stored is a finite 0, so the dense first pass's sum is the stored finite
 * values' sum in row order (adding 0.0 changes no bit), its count the kept
 * rows less the stored NaNs and Infs, min/max include 0 when some kept row
 * lacks the column; the second pass adds (0 - mean)^2 for every such row in
 * row order, so it runs over the leaf's touched columns row by row (one
 * vectorized add a row, the row's stored columns swapped in). A leaf with a
 * stored zero (0.0 and -0.0 order-dependent in min/max) goes dense. Cost: the
 * stored values plus 256 x (columns touched in the leaf) adds a leaf. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/simd.h"
#include "core/partition.h"
#include "core/util.h"
#include "stats/colstats.h"

typedef struct {
  int64_t f;
  double *sum, *m2c, *t2;   /* [f]; m2c, t2: [touched] */
  int32_t *nst, *nbad, *pos, *cols; /* stored finite, stored NaN+Inf ([f]); column -> touched slot; touched */
  int32_t *nnan;
  float *mn, *mx;
  float *dense;             /* [PS_ROW_GRID][f] for the dense fallback */
} leafbuf_t;

PS_KERNEL static void add_row(double *restrict m2c, const double *restrict t2, int64_t u) {
  for (int64_t q = 0; q < u; q++) m2c[q] += t2[q];
}

/* First pass over the leaf's kept rows; 0 if a stored value is zero (then the leaf goes dense). */
static int first_pass(leafbuf_t *L, const int64_t *ptr, const int32_t *idx, const float *val, int64_t m,
                      const uint8_t *keep, int64_t *nu) {
  int64_t u = 0;
  for (int64_t i = 0; i < m; i++) {
    if (keep && keep[i] != 1) continue;
    for (int64_t p = ptr[i] - ptr[0]; p < ptr[i + 1] - ptr[0]; p++) {
      int32_t j = idx[p];
      float v = val[p];
      if (v == 0.0f) return 0;
      if (L->pos[j] < 0) {
        L->pos[j] = (int32_t)u;
        L->cols[u++] = j;
      }
      if (v - v == 0.0f) {
        L->sum[j] += (double)v;
        L->nst[j]++;
        L->mn[j] = v < L->mn[j] ? v : L->mn[j];
        L->mx[j] = v > L->mx[j] ? v : L->mx[j];
      } else {
        L->nbad[j]++;
        L->nnan[j] += v != v;
      }
    }
  }
  *nu = u;
  return 1;
}

/* The leaf's statistics into out[f] (every column; untouched ones: kept zeros). */
static void leaf_out(leafbuf_t *L, const int64_t *ptr, const int32_t *idx, const float *val, int64_t m,
                     const uint8_t *keep, double kept, int64_t u, ps_colstat_t *out) {
  for (int64_t j = 0; j < L->f; j++)
    out[j] = (ps_colstat_t){.count = kept, .min = kept > 0 ? 0.0 : INFINITY, .max = kept > 0 ? 0.0 : -INFINITY};
  for (int64_t q = 0; q < u; q++) {
    int32_t j = L->cols[q];
    double cnt = kept - L->nbad[j], mean = cnt > 0 ? L->sum[j] / cnt : 0.0;
    float mn = L->mn[j], mx = L->mx[j];
    if (kept - L->nst[j] - L->nbad[j] > 0) { /* rows without the column: 0 */
      mn = 0.0f < mn ? 0.0f : mn;
      mx = 0.0f > mx ? 0.0f : mx;
    }
    out[j] = (ps_colstat_t){.count = cnt, .nan = L->nnan[j], .inf = L->nbad[j] - L->nnan[j], .min = mn, .max = mx,
                            .mean = mean};
    L->t2[q] = mean * mean; /* (0 - mean)^2 */
    L->m2c[q] = 0.0;
  }
  for (int64_t i = 0; i < m; i++) {
    if (keep && keep[i] != 1) continue;
    int64_t p0 = ptr[i] - ptr[0], p1 = ptr[i + 1] - ptr[0];
    for (int64_t p = p0; p < p1; p++) { /* the row's own values in place of 0 */
      int32_t q = L->pos[idx[p]];
      double v = val[p], d = v - out[idx[p]].mean;
      L->t2[q] = v - v == 0.0 ? d * d : 0.0;
    }
    add_row(L->m2c, L->t2, u);
    for (int64_t p = p0; p < p1; p++) {
      double mean = out[idx[p]].mean;
      L->t2[L->pos[idx[p]]] = mean * mean;
    }
  }
  for (int64_t q = 0; q < u; q++) {
    int32_t j = L->cols[q];
    out[j].m2 = L->m2c[q];
    L->pos[j] = -1; /* the buffers clean for the next leaf */
    L->sum[j] = 0;
    L->nst[j] = L->nbad[j] = L->nnan[j] = 0;
    L->mn[j] = INFINITY;
    L->mx[j] = -INFINITY;
  }
}

static void leafbuf_init(leafbuf_t *L, int64_t f) {
  size_t fz = (size_t)(f > 0 ? f : 1);
  L->f = f;
  L->sum = ps_calloc(fz, sizeof(double));
  L->m2c = ps_malloc(sizeof(double) * fz);
  L->t2 = ps_malloc(sizeof(double) * fz);
  L->nst = ps_calloc(fz, sizeof(int32_t));
  L->nbad = ps_calloc(fz, sizeof(int32_t));
  L->nnan = ps_calloc(fz, sizeof(int32_t));
  L->pos = ps_malloc(sizeof(int32_t) * fz);
  L->cols = ps_malloc(sizeof(int32_t) * fz);
  L->mn = ps_malloc(sizeof(float) * fz);
  L->mx = ps_malloc(sizeof(float) * fz);
  L->dense = NULL;
  for (size_t j = 0; j < fz; j++) {
    L->pos[j] = -1;
    L->mn[j] = INFINITY;
    L->mx[j] = -INFINITY;
  }
}

static void leafbuf_free(leafbuf_t *L) {
  void *p[] = {L->sum, L->m2c, L->t2, L->nst, L->nbad, L->nnan, L->pos, L->cols, L->mn, L->mx, L->dense};
  for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) free(p[i]);
}

/* A leaf with a stored zero: its rows made dense, as stats_tree_add takes them. */
static void leaf_dense(ps_colacc_t *a, leafbuf_t *L, const int64_t *ptr, const int32_t *idx, const float *val,
                       int64_t m, const uint8_t *keep) {
  size_t f = (size_t)L->f;
  if (!L->dense) L->dense = ps_malloc(sizeof(float) * PS_ROW_GRID * (f > 0 ? f : 1));
  memset(L->dense, 0, sizeof(float) * (size_t)m * f);
  for (int64_t i = 0; i < m; i++)
    for (int64_t p = ptr[i] - ptr[0]; p < ptr[i + 1] - ptr[0]; p++) L->dense[(size_t)i * f + (size_t)idx[p]] = val[p];
  for (int64_t j = 0; j < L->f; j++) { /* first_pass stopped part way: clean its buffers */
    L->pos[j] = -1;
    L->sum[j] = 0;
    L->nst[j] = L->nbad[j] = L->nnan[j] = 0;
    L->mn[j] = INFINITY;
    L->mx[j] = -INFINITY;
  }
  stats_tree_add(a, L->dense, m, keep);
}

void stats_tree_add_csr(ps_colacc_t *a, int64_t f, const int64_t *ptr, const int32_t *idx, const float *val,
                        int64_t rows, const uint8_t *keep) {
  leafbuf_t L;
  leafbuf_init(&L, f);
  ps_colstat_t *leaf = ps_malloc(sizeof(ps_colstat_t) * (size_t)(f > 0 ? f : 1));
  for (int64_t r0 = 0; r0 < rows; r0 += PS_ROW_GRID) {
    int64_t m = rows - r0 < PS_ROW_GRID ? rows - r0 : PS_ROW_GRID, u = 0;
    const int64_t *p = ptr + r0;
    const int32_t *ix = idx + (p[0] - ptr[0]);
    const float *vx = val + (p[0] - ptr[0]);
    const uint8_t *kp = keep ? keep + r0 : NULL;
    double kept = 0;
    for (int64_t i = 0; i < m; i++) kept += !kp || kp[i] == 1;
    if (!first_pass(&L, p, ix, vx, m, kp, &u)) {
      leaf_dense(a, &L, p, ix, vx, m, kp);
      continue;
    }
    leaf_out(&L, p, ix, vx, m, kp, kept, u, leaf);
    stats_tree_push(a, leaf);
  }
  free(leaf);
  leafbuf_free(&L);
}
