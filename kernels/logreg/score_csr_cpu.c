/* score_csr_cpu.c: logits and probabilities of CSR rows under any of the
 * model's standardizations (centred columns, missing indicators, one-hot
 * inputs: logreg_csr_cpu.h's ps_std_csr_t), bitwise ps_logits_raw_cpu /
 * ps_score_raw_cpu over the rows made dense. A centred column's zero is
 * not zero once standardized, and the dense twin adds every column's term
 * in its fixed lanes (logits_cpu.c): folding the zeros' terms into the bias
 * rounds differently, so the logits are each row's standardized columns
 * built here -- the standardized zero row copied, the stored values'
 * columns standardized over it -- a tile of STD_TILE rows at a time, and
 * summed by the dense twin's logits. Memory: STD_TILE x c floats, never a
 * block made dense; work O(c) a row, no ps_standardize per zero.
 * Probabilities first try the folded sum, O(stored values) a row: with a
 * bound on how far any order's rounding can take the logit, when both ends
 * of the interval give the same float32 probability, so does the dense
 * sum (certain_prob); the other rows (about 1% of them) take the tiles. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/psmath.h"
#include "core/util.h"
#include "logreg/logits_cpu.h"
#include "logreg/logreg_csr_cpu.h"

#define STD_TILE 64

void ps_std_csr_init(ps_std_csr_t *t, int64_t f, int64_t c, const int64_t *src, const uint8_t *kind,
                     const double *mean, const double *scale) {
  *t = (ps_std_csr_t){.f = f, .c = c, .src = src, .kind = kind, .mean = mean, .scale = scale, .slack = 1.0};
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

void ps_logits_csr_raw_cpu(const ps_std_csr_t *t, const int64_t *ptr, const int32_t *idx, const float *val,
                           int64_t n, int k, const double *theta, double *Z) {
  float *xs = ps_malloc(sizeof(float) * STD_TILE * (size_t)(t->c > 0 ? t->c : 1));
  double *z = ps_malloc(sizeof(double) * STD_TILE * (size_t)(k > 0 ? k : 1));
  for (int64_t i0 = 0; i0 < n; i0 += STD_TILE) {
    int64_t m = n - i0 < STD_TILE ? n - i0 : STD_TILE;
    tile_logits(t, ptr, idx, val, i0, m, k, theta, xs, z);
    for (int h = 0; h < k; h++)
      for (int64_t i = 0; i < m; i++) Z[(size_t)h * (size_t)n + (size_t)(i0 + i)] = z[h * STD_TILE + i];
  }
  free(xs);
  free(z);
}

/* Per head: the zero row's logit by the dense twin, and |bias| + sum_j |w_j zrow_j|. */
static void zero_logits(const ps_std_csr_t *t, int k, const double *theta, double *z0, double *a0) {
  ps_logits_cpu(t->zrow, 1, t->c, k, theta, z0, 1);
  for (int h = 0; h < k; h++) {
    const double *w = theta + (size_t)h * (size_t)(t->c + 1);
    double a = fabs(w[t->c]);
    for (int64_t j = 0; j < t->c; j++) a += fabs(w[j] * (double)t->zrow[j]);
    a0[h] = a;
  }
}

/* A row's probability for head weights w from the folded sum z = z0 + sum over the stored values' columns of
 * w_j (s_j - zrow_j), when certain: the dense sum and z0 each lie within gamma_n (a0 + s) of the exact logit
 * (any order of n terms; s = sum |w_j| (|s_j| + |zrow_j|) over those columns), the stored part within gamma_n s;
 * B is 4x their sum. ps_sigmoid is within 4 ulps of the true sigmoid (exp within 1), so every logit in
 * [z - B, z + B] gives a double in [lo, hi] (widened by 2^-48); when both round to the same float32, the dense
 * sum's probability is that float. Returns 1 and *p then, else 0. */
static int certain_prob(const ps_std_csr_t *t, const int32_t *idx, const float *val, int64_t nnz, const double *w,
                        double z0, double a0, double slack, float *p) {
  double a = 0, s = 0;
  int64_t m = 0;
  for (int64_t q = 0; q < nnz; q++)
    for (int64_t e = t->first[idx[q]]; e < t->first[idx[q] + 1]; e++, m++) {
      int64_t j = t->col[e];
      double sj = (double)(float)ps_standardize(val[q], t->kind[j], t->mean[j], t->scale[j]), zr = t->zrow[j];
      a += w[j] * (sj - zr);
      s += fabs(w[j]) * (fabs(sj) + fabs(zr));
    }
  double z = z0 + a, n = (double)(t->c + m + 4), g = n * 0x1p-53 / (1.0 - n * 0x1p-53);
  double B = slack * 4.0 * (g * (2.0 * a0 + 2.0 * s) + 0x1p-52 * (fabs(z0) + fabs(a)));
  if (!isfinite(z) || !isfinite(B)) return 0;
  double lo = ps_sigmoid(z - B) * (1.0 - 0x1p-48), hi = ps_sigmoid(z + B) * (1.0 + 0x1p-48);
  if ((float)lo != (float)hi) return 0;
  *p = (float)lo;
  return 1;
}

/* The tile's rows (rows [m] of the block) summed as the dense twin does -> their probabilities. */
static void exact_rows(const ps_std_csr_t *t, const float *xs, const int64_t *rows, int64_t m, int64_t n, int k,
                       const double *theta, double *z, float *P) {
  ps_logits_cpu(xs, m, t->c, k, theta, z, STD_TILE);
  for (int h = 0; h < k; h++)
    for (int64_t r = 0; r < m; r++) P[(size_t)h * (size_t)n + (size_t)rows[r]] = (float)ps_sigmoid(z[h * STD_TILE + r]);
}

int64_t ps_score_csr_raw_cpu(const ps_std_csr_t *t, const int64_t *ptr, const int32_t *idx, const float *val,
                             int64_t n, int k, const double *theta, float *P) {
  size_t kk = (size_t)(k > 0 ? k : 1);
  double *z0 = ps_malloc(sizeof(double) * kk), *a0 = ps_malloc(sizeof(double) * kk);
  double *z = ps_malloc(sizeof(double) * STD_TILE * kk);
  float *xs = ps_malloc(sizeof(float) * STD_TILE * (size_t)(t->c > 0 ? t->c : 1));
  int64_t rows[STD_TILE], m = 0, exact = 0;
  zero_logits(t, k, theta, z0, a0);
  for (int64_t i = 0; i < n; i++) {
    int64_t p0 = ptr[i] - ptr[0], nnz = ptr[i + 1] - ptr[i];
    int h = 0;
    while (h < k && certain_prob(t, idx + p0, val + p0, nnz, theta + (size_t)h * (size_t)(t->c + 1), z0[h], a0[h],
                                 t->slack, &P[(size_t)h * (size_t)n + (size_t)i]))
      h++;
    if (h == k) continue;
    ps_std_csr_row(t, idx + p0, val + p0, nnz, xs + (size_t)m * (size_t)t->c);
    rows[m++] = i;
    exact++;
    if (m == STD_TILE) {
      exact_rows(t, xs, rows, m, n, k, theta, z, P);
      m = 0;
    }
  }
  if (m > 0) exact_rows(t, xs, rows, m, n, k, theta, z, P);
  free(z0);
  free(a0);
  free(z);
  free(xs);
  return exact;
}
