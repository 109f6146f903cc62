/* backend_cpu.c: the CPU twin of the CUDA kernels. Rows are processed in
 * tiles of TILE rows: a tile is widened to float64 (standardizing on the fly
 * when scoring raw rows), logits come from one dgemm, the per-element terms
 * from psmath.h, and the gradient from a second dgemm into float64
 * accumulators. Tiles are visited in order, so results are deterministic. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "psmath.h"
#include "util.h"

#define TILE 256

typedef struct {
  const float *X;
  const uint8_t *Y;
  int64_t n, c;
  int k;
  double *w_pos, *w_neg;
  double *xt, *z, *r; /* tile buffers: [TILE][c+1], [TILE][k], [TILE][k] */
} cpu_t;

/* Widen rows [i0, i0+m) of X (ld = c) into xt (ld = c + 1), last column 1. */
static void widen(const float *X, int64_t c, int64_t i0, int64_t m, double *xt) {
  for (int64_t i = 0; i < m; i++) {
    const float *x = X + (size_t)(i0 + i) * (size_t)c;
    double *o = xt + (size_t)i * (size_t)(c + 1);
    for (int64_t j = 0; j < c; j++) o[j] = x[j];
    o[c] = 1.0;
  }
}

/* z [m][k] = xt [m][c+1] . theta^T, theta per head [k][c+1] (bias included). */
static void logits(const double *xt, int64_t m, int64_t c, int k, const double *theta, double *z) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, k, (int)(c + 1), 1.0, xt, (int)(c + 1), theta,
              (int)(c + 1), 0.0, z, k);
}

static void grow(cpu_t *s, int64_t c, int k) {
  free(s->xt); free(s->z); free(s->r);
  s->xt = ps_malloc(sizeof(double) * TILE * (size_t)(c + 1));
  s->z = ps_malloc(sizeof(double) * TILE * (size_t)k);
  s->r = ps_malloc(sizeof(double) * TILE * (size_t)k);
}

static void cpu_set_train(ps_backend_t *b, const float *X, const uint8_t *Y, int64_t n, int64_t c, int k,
                          const double *w_pos, const double *w_neg) {
  cpu_t *s = b->impl;
  s->X = X; s->Y = Y; s->n = n; s->c = c; s->k = k;
  free(s->w_pos); free(s->w_neg);
  s->w_pos = ps_malloc(sizeof(double) * (size_t)k);
  s->w_neg = ps_malloc(sizeof(double) * (size_t)k);
  memcpy(s->w_pos, w_pos, sizeof(double) * (size_t)k);
  memcpy(s->w_neg, w_neg, sizeof(double) * (size_t)k);
  grow(s, c, k);
}

static void cpu_eval(ps_backend_t *b, const double *theta, double *loss, double *grad, double *hess,
                     const uint8_t *hmask) {
  cpu_t *s = b->impl;
  int64_t c = s->c, c1 = c + 1;
  int k = s->k;
  memset(loss, 0, sizeof(double) * (size_t)k);
  memset(grad, 0, sizeof(double) * (size_t)k * (size_t)c1);
  if (hess) memset(hess, 0, sizeof(double) * (size_t)k * (size_t)(c1 * c1));
  double *hrow = hess ? ps_malloc(sizeof(double) * TILE * (size_t)c1) : NULL;
  for (int64_t i0 = 0; i0 < s->n; i0 += TILE) {
    int64_t m = s->n - i0 < TILE ? s->n - i0 : TILE;
    widen(s->X, c, i0, m, s->xt);
    logits(s->xt, m, c, k, theta, s->z);
    for (int64_t i = 0; i < m; i++)
      for (int h = 0; h < k; h++) {
        double y = s->Y[(size_t)(i0 + i) * (size_t)k + (size_t)h];
        double w = ps_row_weight(y, s->w_pos[h], s->w_neg[h]), z = s->z[i * k + h];
        loss[h] += w * ps_logloss(z, y);
        s->r[i * k + h] = ps_residual(z, y, w);
      }
    /* grad [k][c+1] += r^T [k][m] . xt [m][c+1] */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, (int)c1, (int)m, 1.0, s->r, k, s->xt, (int)c1, 1.0,
                grad, (int)c1);
    if (!hess) continue;
    for (int h = 0; h < k; h++) {
      if (!hmask[h]) continue;
      for (int64_t i = 0; i < m; i++) {
        double y = s->Y[(size_t)(i0 + i) * (size_t)k + (size_t)h];
        double q = sqrt(ps_hess_weight(s->z[i * k + h], ps_row_weight(y, s->w_pos[h], s->w_neg[h])));
        for (int64_t j = 0; j < c1; j++) hrow[i * c1 + j] = q * s->xt[i * c1 + j];
      }
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)c1, (int)m, 1.0, hrow, (int)c1, 1.0,
                  hess + (size_t)h * (size_t)(c1 * c1), (int)c1);
    }
  }
  if (hess) /* mirror the upper triangle */
    for (int h = 0; h < k; h++) {
      if (!hmask[h]) continue;
      double *H = hess + (size_t)h * (size_t)(c1 * c1);
      for (int64_t i = 0; i < c1; i++)
        for (int64_t j = 0; j < i; j++) H[i * c1 + j] = H[j * c1 + i];
    }
  free(hrow);
}

static void probs(double *xt, int64_t m, int64_t c, int k, const double *theta, double *z, int64_t i0, int64_t n,
                  float *P) {
  logits(xt, m, c, k, theta, z);
  for (int64_t i = 0; i < m; i++)
    for (int h = 0; h < k; h++) P[(size_t)h * (size_t)n + (size_t)(i0 + i)] = (float)ps_sigmoid(z[i * k + h]);
}

static void cpu_predict_std(ps_backend_t *b, const double *theta, int k, const float *X, int64_t n, int64_t c,
                            float *P) {
  double *xt = ps_malloc(sizeof(double) * TILE * (size_t)(c + 1)), *z = ps_malloc(sizeof(double) * TILE * (size_t)k);
  for (int64_t i0 = 0; i0 < n; i0 += TILE) {
    int64_t m = n - i0 < TILE ? n - i0 : TILE;
    widen(X, c, i0, m, xt);
    probs(xt, m, c, k, theta, z, i0, n, P);
  }
  free(xt);
  free(z);
}

static void cpu_predict_raw(ps_backend_t *b, const ps_transform_t *t, const double *theta, int k, const float *X,
                            int64_t n, float *P) {
  int64_t c = t->c, c1 = c + 1;
  double *xt = ps_malloc(sizeof(double) * TILE * (size_t)c1), *z = ps_malloc(sizeof(double) * TILE * (size_t)k);
  for (int64_t i0 = 0; i0 < n; i0 += TILE) {
    int64_t m = n - i0 < TILE ? n - i0 : TILE;
    for (int64_t i = 0; i < m; i++) {
      const float *x = X + (size_t)(i0 + i) * (size_t)t->f;
      double *o = xt + (size_t)i * (size_t)c1;
      for (int64_t j = 0; j < c; j++) o[j] = ps_standardize(x[t->src[j]], t->kind[j], t->mean[j], t->scale[j]);
      o[c] = 1.0;
    }
    probs(xt, m, c, k, theta, z, i0, n, P);
  }
  free(xt);
  free(z);
}

static void cpu_destroy(ps_backend_t *b) {
  cpu_t *s = b->impl;
  free(s->xt); free(s->z); free(s->r); free(s->w_pos); free(s->w_neg);
  free(s);
  free(b);
}

ps_backend_t *backend_cpu_create(void) {
  ps_backend_t *b = ps_calloc(1, sizeof *b);
  b->name = "cpu";
  b->impl = ps_calloc(1, sizeof(cpu_t));
  b->set_train = cpu_set_train;
  b->eval = cpu_eval;
  b->predict_std = cpu_predict_std;
  b->predict_raw = cpu_predict_raw;
  b->destroy = cpu_destroy;
  return b;
}
