/* score_cpu.c: CPU twin of score.cu -- probabilities of every head for
 * standardized or raw rows (logreg_cpu.h), tile by tile, head-major output.
 * Raw rows are standardized to float32 first, exactly as training rows are. */
#include <stdlib.h>

#include "common/psmath.h"
#include "core/util.h"
#include "logreg/logits_cpu.h"
#include "logreg/logreg_cpu.h"

#define TILE 256

static void probs(const float *X, int64_t m, int64_t c, int k, const double *theta, double *z, int64_t i0, int64_t n,
                  float *P) {
  ps_logits_cpu(X, m, c, k, theta, z, TILE);
  for (int h = 0; h < k; h++)
    for (int64_t i = 0; i < m; i++) P[(size_t)h * (size_t)n + (size_t)(i0 + i)] = (float)ps_sigmoid(z[h * TILE + i]);
}

void ps_score_std_cpu(const float *X, int64_t n, int64_t c, int k, const double *theta, float *P) {
  double *z = ps_malloc(sizeof(double) * TILE * (size_t)k);
  for (int64_t i0 = 0; i0 < n; i0 += TILE)
    probs(X + (size_t)i0 * (size_t)c, n - i0 < TILE ? n - i0 : TILE, c, k, theta, z, i0, n, P);
  free(z);
}

/* Raw rows [i0, i0 + m) standardized into xs (a tile). */
static void standardize_tile(const float *X, int64_t i0, int64_t m, int64_t f, int64_t c, const int64_t *src,
                             const uint8_t *kind, const double *mean, const double *scale, float *xs) {
  for (int64_t i = 0; i < m; i++) {
    const float *x = X + (size_t)(i0 + i) * (size_t)f;
    float *o = xs + (size_t)i * (size_t)c;
    for (int64_t j = 0; j < c; j++) o[j] = (float)ps_standardize(x[src[j]], kind[j], mean[j], scale[j]);
  }
}

void ps_score_raw_cpu(const float *X, int64_t n, int64_t f, int64_t c, int k, const int64_t *src,
                      const uint8_t *kind, const double *mean, const double *scale, const double *theta, float *P) {
  float *xs = ps_malloc(sizeof(float) * TILE * (size_t)(c > 0 ? c : 1));
  double *z = ps_malloc(sizeof(double) * TILE * (size_t)k);
  for (int64_t i0 = 0; i0 < n; i0 += TILE) {
    int64_t m = n - i0 < TILE ? n - i0 : TILE;
    standardize_tile(X, i0, m, f, c, src, kind, mean, scale, xs);
    probs(xs, m, c, k, theta, z, i0, n, P);
  }
  free(xs);
  free(z);
}

void ps_logits_raw_cpu(const float *X, int64_t n, int64_t f, int64_t c, int k, const int64_t *src,
                       const uint8_t *kind, const double *mean, const double *scale, const double *theta, double *Z) {
  float *xs = ps_malloc(sizeof(float) * TILE * (size_t)(c > 0 ? c : 1));
  double *z = ps_malloc(sizeof(double) * TILE * (size_t)k);
  for (int64_t i0 = 0; i0 < n; i0 += TILE) {
    int64_t m = n - i0 < TILE ? n - i0 : TILE;
    standardize_tile(X, i0, m, f, c, src, kind, mean, scale, xs);
    ps_logits_cpu(xs, m, c, k, theta, z, TILE);
    for (int h = 0; h < k; h++)
      for (int64_t i = 0; i < m; i++) Z[(size_t)h * (size_t)n + (size_t)(i0 + i)] = z[h * TILE + i];
  }
  free(xs);
  free(z);
}
