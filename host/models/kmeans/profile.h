/* profile.h: what sets each persona apart -- its size, share, mean of every
 * column (standardized and raw) against all customers, and per target its
 * mean score (segment --scores) and actual label rate -- as a table or one
 * JSON document. Integer sums: the same for any rank count. */
#ifndef PS_KMEANS_PROFILE_H
#define PS_KMEANS_PROFILE_H
#include <stdint.h>

#include "io/data.h"
#include "stats/prepare.h"

typedef struct {
  int k;
  int64_t c, N;
  int64_t *acc;       /* [k*c + k + 1] fixed-point sums, then the sizes [k], then the inertia */
  const int64_t *size; /* acc + k*c */
  double inertia;
  double *mean_std, *pop;       /* [k][c] persona means (standardized); [c] all customers' */
  double *mean_raw, *centers_raw; /* [k][c] persona means and centers in raw units */
} km_profile_t;

/* Collective. Xs [n][c] standardized rows, label/d2 [n] their persona and
 * squared distance, centers [k][c], N rows in all. */
void km_profile_compute(const float *Xs, int64_t n, int64_t N, int64_t c, const int32_t *label, const double *d2, int k,
                        const double *centers, const ps_columns_t *cols, km_profile_t *p);
void km_profile_free(km_profile_t *p);

/* Per persona and target of the scores file: the mean score and the actual
 * rate of the data's /labels/<target> where it has one (NaN where absent).
 * No scores file: no targets, and no label is read. */
typedef struct {
  int t;
  char **targets;
  double *score, *rate; /* [t][k] */
} km_outcomes_t;

/* Collective; ids [n] of rows [row0, row0 + n). */
void km_outcomes(const ps_data_t *d, const char *scores, const int32_t *label, int64_t row0, int64_t n,
                 const int64_t *ids, const km_profile_t *p, km_outcomes_t *oc);
void km_outcomes_free(km_outcomes_t *oc);

/* The profile on stdout: a table, or one JSON document (json). */
typedef struct {
  char *const *names; /* [c] */
  int iterations, assigned, top, json;
} km_print_t;
void km_profile_print(const km_profile_t *p, const km_outcomes_t *oc, const km_print_t *how);
#endif
