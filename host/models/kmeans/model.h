/* model.h: the k-means model file -- a personas file (datasets/SCHEMA.md):
 * every customer's persona and distance, the centroids with the columns and
 * standardization they were fitted on, and each persona's profile; read
 * back by segment --model to assign new customers. */
#ifndef PS_KMEANS_MODEL_H
#define PS_KMEANS_MODEL_H
#include <stdint.h>

/* A saved model as segment --model uses it. */
typedef struct {
  int k;
  int64_t c;
  char **names;         /* [c] the columns, by name */
  double *mean, *scale; /* [c] their standardization */
  double *centers;      /* [k][c] standardized */
} km_model_t;

/* Dies with one line naming the file unless it is a sound personas file. */
void kmeans_model_read(const char *path, km_model_t *m);
void kmeans_model_free(km_model_t *m);

/* What a personas file gets; this rank writes rows [row0, row0 + n) of N. */
typedef struct {
  int k;
  int64_t c, N, row0, n;
  double inertia;
  int iterations, n_init, assigned; /* assigned: with a saved model (--model), not fitted */
  uint64_t seed;
  const double *centers, *centers_raw; /* [k][c] standardized, raw units */
  const double *mean, *scale;          /* [c] */
  const double *mean_raw, *mean_std;   /* [k][c] the profile */
  const int64_t *sizes, *source;       /* [k]; [c] the columns' places in the data */
  char *const *names;                  /* [c] */
  const int64_t *ids;                  /* [n] */
  const int32_t *persona;              /* [n] */
  const double *d2;                    /* [n] squared distances */
} km_personas_t;

/* Collective: written to a temporary name, renamed when complete. */
void kmeans_model_write(const char *path, const km_personas_t *p);
#endif
