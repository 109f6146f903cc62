/* fit.h: distributed k-means as an in-memory fit: resident standardized rows
 * in, centers and their metrics out. Every random choice hashes customer ids
 * (core/rng.h), every sum across rows is an integer
 * (kernels/kmeans/kmeans_math.h fixed point), so the centers, the
 * assignments and the iteration count are the same bits for any rank count;
 * and since no draw has state beyond its restart, a fit stopped between two
 * Lloyd iterations goes on from its state (km_state_t) to the same bits.
 * Collective. */
#ifndef PS_KMEANS_FIT_H
#define PS_KMEANS_FIT_H
#include <stdint.h>

#include "models/kmeans/backend.h"

typedef struct {
  int k, n_init, max_iter;
  double tol;       /* stop when |inertia change| / inertia < tol */
  uint64_t seed;
  int rounds;       /* k-means|| rounds (default 5) */
  double oversample; /* candidates a round, as a multiple of k (default 2) */
} km_params_t;

/* This rank's rows: X [n][c], ids [n], and what every fit of them reuses. */
typedef struct {
  const float *X;
  const int64_t *ids;
  int64_t n, c;
  float *panels; /* the rows packed for the fused assignment, or NULL (OpenBLAS) */
} km_rows_t;

typedef struct {
  int k;
  int64_t c;
  double *centers;  /* [k][c] standardized */
  int64_t *sizes;   /* [k] */
  double inertia;   /* sum of squared distances (exact, double per row) */
  int iterations, restart, reseeded;
  int64_t candidates; /* k-means|| candidates of the kept restart */
} km_result_t;

/* Where a fit stands: the restart under way and the best one done. */
typedef struct {
  int restart;        /* the restart under way */
  int iteration;      /* its Lloyd iterations done; -1: its k-means|| init is still to run */
  int reseeded;       /* its clusters re-seeded so far */
  int64_t candidates; /* its k-means|| candidates */
  int64_t prev;       /* its last iteration's inertia (fixed point), -1 before the first */
  double *centers;    /* [k][c] its centers */
  int64_t best;       /* the lowest final inertia (fixed point) of the restarts done; INT64_MAX: none */
  km_result_t kept;   /* that restart's result (sizes summed over ranks; inertia set at the end) */
} km_state_t;

/* After every Lloyd iteration that does not end its restart (collective;
 * the same answer on every rank): nonzero stops the fit there. */
typedef struct {
  int (*iteration)(void *ctx, const km_state_t *state);
  void *ctx;
} km_hooks_t;

/* Collective: packs the panels where every rank can (backend.h). */
void km_rows_init(km_rows_t *r, const float *X, const int64_t *ids, int64_t n, int64_t c);
void km_rows_free(km_rows_t *r);
/* A fresh state (restart 0, nothing done) for k centers of c columns. */
void km_state_init(km_state_t *s, int k, int64_t c);
void km_state_free(km_state_t *s);

/* Fits p->k centers from *state on (fresh or resumed) with the backend be
 * (made for at least k centers). Returns 0 with the result in *r, or 1 when
 * a hook stopped it (*state is where it stood). Dies (collectively) when
 * fewer than k distinct rows exist. */
int kmeans_fit(const km_rows_t *rows, const km_params_t *p, km_backend_t *be, const km_hooks_t *hooks,
               km_state_t *state, km_result_t *r);
/* Assign rows to the centers: label [n], d2 [n] exact squared distances. */
void km_predict(const float *X, int64_t n, int64_t c, const double *centers, int k, int32_t *label, double *d2);
void km_result_free(km_result_t *r);
#endif
