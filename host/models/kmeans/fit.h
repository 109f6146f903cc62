/* fit.h: distributed k-means on resident standardized rows. Every random
 * choice hashes customer ids (core/rng.h), every sum across rows is an
 * integer (kernels/kmeans/kmeans_math.h fixed point), so the centers, the
 * assignments and the iteration count are the same bits for any rank
 * count. Collective. */
#ifndef PS_KMEANS_FIT_H
#define PS_KMEANS_FIT_H
#include <stdint.h>

typedef struct {
  int k, n_init, max_iter;
  double tol;       /* stop when |inertia change| / inertia < tol */
  uint64_t seed;
  int rounds;       /* k-means|| rounds (default 5) */
  double oversample; /* candidates a round, as a multiple of k (default 2) */
  int cuda;          /* Lloyd iterations on the GPU (backend.h) */
} km_params_t;

typedef struct {
  int k;
  int64_t c;
  double *centers;  /* [k][c] standardized */
  int64_t *sizes;   /* [k] */
  double inertia;   /* sum of squared distances (exact, double per row) */
  int iterations, restart, reseeded;
  int64_t candidates; /* k-means|| candidates of the kept restart */
} km_result_t;

/* X [n][c], ids [n] of this rank. Dies (collectively) when fewer than k
 * distinct rows exist. */
void km_fit(const float *X, const int64_t *ids, int64_t n, int64_t c, const km_params_t *p, km_result_t *r);
/* Assign rows to the centers: label [n], d2 [n] exact squared distances. */
void km_predict(const float *X, int64_t n, int64_t c, const double *centers, int k, int32_t *label, double *d2);
void km_result_free(km_result_t *r);
#endif
