/* score_csr_cpu.c: logits and probabilities of CSR rows under any of the
 * model's standardizations (centred columns, missing indicators, one-hot
 * inputs: logreg_csr_cpu.h's ps_std_csr_t), bitwise ps_logits_raw_cpu /
 * ps_score_raw_cpu over the rows made dense. A centred column's zero is
 * not zero once standardized, and the dense twin adds every column's term
 * in its fixed lanes (logits_cpu.c): folding the zeros' terms into the bias
 * would round differently, so each row's standardized columns are built
 * here -- the standardized zero row copied, the stored values' columns
 * standardized over it -- a tile of STD_TILE rows at a time, and summed by
 * the dense twin's logits. Memory: STD_TILE x c floats, never a block made
 * dense; work O(c) a row (the dense sum's), no ps_standardize per zero. */
#include <stdlib.h>
#include <string.h>

#include "common/psmath.h"
#include "core/util.h"
#include "logreg/logits_cpu.h"
#include "logreg/logreg_csr_cpu.h"

#define STD_TILE 64

void ps_std_csr_init(ps_std_csr_t *t, int64_t f, int64_t c, const int64_t *src, const uint8_t *kind,
                     const double *mean, const double *scale) {
  *t = (ps_std_csr_t){.f = f, .c = c, .src = src, .kind = kind, .mean = mean, .scale = scale};
  t->zrow = ps_malloc(sizeof(float) * (size_t)(c > 0 ? c : 1));
  t->first = ps_calloc((size_t)f + 1, sizeof(int64_t));
  t->col = ps_malloc(sizeof(int64_t) * (size_t)(c > 0 ? c : 1));
  for (int64_t j = 0; j < c; j++) {
    t->zrow[j] = (float)ps_standardize(0.0f, kind[j], mean[j], scale[j]);
    t->first[src[j] + 1]++;
  }
  for (int64_t q = 0; q < f; q++) t->first[q + 1] += t->first[q];
  int64_t *at = ps_malloc(sizeof(int64_t) * (size_t)(f > 0 ? f : 1));
  memcpy(at, t->first, sizeof(int64_t) * (size_t)f);
  for (int64_t j = 0; j < c; j++) t->col[at[src[j]]++] = j; /* each input's columns in increasing order */
  free(at);
}

void ps_std_csr_free(ps_std_csr_t *t) {
  free(t->zrow);
  free(t->first);
  free(t->col);
  t->zrow = NULL;
  t->first = t->col = NULL;
}

void ps_std_csr_row(const ps_std_csr_t *t, const int32_t *idx, const float *val, int64_t nnz, float *o) {
  memcpy(o, t->zrow, sizeof(float) * (size_t)t->c);
  for (int64_t p = 0; p < nnz; p++)
    for (int64_t e = t->first[idx[p]]; e < t->first[idx[p] + 1]; e++) {
      int64_t j = t->col[e];
      o[j] = (float)ps_standardize(val[p], t->kind[j], t->mean[j], t->scale[j]);
    }
}

/* Rows [i0, i0 + m) standardized into xs, their logits into z [k][STD_TILE]. */
static void tile_logits(const ps_std_csr_t *t, const int64_t *ptr, const int32_t *idx, const float *val, int64_t i0,
                        int64_t m, int k, const double *theta, float *xs, double *z) {
  for (int64_t i = 0; i < m; i++) {
    int64_t p0 = ptr[i0 + i] - ptr[0];
    ps_std_csr_row(t, idx + p0, val + p0, ptr[i0 + i + 1] - ptr[i0 + i], xs + (size_t)i * (size_t)t->c);
  }
  ps_logits_cpu(xs, m, t->c, k, theta, z, STD_TILE);
}

/* Z (double logits) or P (float probabilities), head-major [k][n]. */
static void csr_raw(const ps_std_csr_t *t, const int64_t *ptr, const int32_t *idx, const float *val, int64_t n, int k,
                    const double *theta, double *Z, float *P) {
  float *xs = ps_malloc(sizeof(float) * STD_TILE * (size_t)(t->c > 0 ? t->c : 1));
  double *z = ps_malloc(sizeof(double) * STD_TILE * (size_t)(k > 0 ? k : 1));
  for (int64_t i0 = 0; i0 < n; i0 += STD_TILE) {
    int64_t m = n - i0 < STD_TILE ? n - i0 : STD_TILE;
    tile_logits(t, ptr, idx, val, i0, m, k, theta, xs, z);
    for (int h = 0; h < k; h++)
      for (int64_t i = 0; i < m; i++) {
        size_t e = (size_t)h * (size_t)n + (size_t)(i0 + i);
        if (Z) Z[e] = z[h * STD_TILE + i];
        else P[e] = (float)ps_sigmoid(z[h * STD_TILE + i]);
      }
  }
  free(xs);
  free(z);
}

void ps_logits_csr_raw_cpu(const ps_std_csr_t *t, const int64_t *ptr, const int32_t *idx, const float *val,
                           int64_t n, int k, const double *theta, double *Z) {
  csr_raw(t, ptr, idx, val, n, k, theta, Z, NULL);
}

void ps_score_csr_raw_cpu(const ps_std_csr_t *t, const int64_t *ptr, const int32_t *idx, const float *val, int64_t n,
                          int k, const double *theta, float *P) {
  csr_raw(t, ptr, idx, val, n, k, theta, NULL, P);
}
