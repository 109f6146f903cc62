/* scorer.h: what a scorer is -- a trained model of any kind, ready to score
 * raw feature rows: the interface the score job (score.c) uses, so it never
 * knows which model kind it runs. Opening a model file by its kind is the
 * registry's (models/scorer_registry.h); each kind's constructor is below. */
#ifndef PS_SCORER_H
#define PS_SCORER_H
#include <stdint.h>

#include "io/data.h"
#include "io/h5.h"

typedef struct ps_scorer ps_scorer_t;
struct ps_scorer {
  const char *model_type; /* "logreg", ... */
  const char *device;     /* the backend that scores: "cpu", "cuda" */
  int k;                  /* heads */
  char **targets;         /* [k] */
  int64_t f;              /* input columns the model expects */
  char **feature_names;   /* [f] */
  double holdout;         /* the training split, recorded for eval */
  int64_t split_salt;
  int uplift;             /* an uplift model: predict writes 2k heads, [0,k) P(y|treated), [k,2k) P(y|control) */
  /* Probabilities of raw rows X [n][f] -> P[h*n + i] (head-major). */
  void (*predict)(ps_scorer_t *s, const float *X, int64_t n, float *P);
  void (*destroy)(ps_scorer_t *s);
  void *impl;
  /* Logits (before the sigmoid) of raw rows -> Z[h*n + i], on the CPU;
   * NULL where a kind has none (uplift). The blend scores with them. */
  void (*logits)(ps_scorer_t *s, const float *X, int64_t n, double *Z);
  /* Optional (NULL: the caller makes the rows dense): probabilities of raw
   * CSR rows (ptr [n+1] from 0, idx increasing in a row, a column not
   * stored = 0.0) -> P as predict, predict's bits on the rows made dense,
   * in work proportional to the stored values (score on a CSR file). */
  void (*predict_csr)(ps_scorer_t *s, const int64_t *ptr, const int32_t *idx, const float *val, int64_t n, float *P);
  /* Optional (NULL: none): logits of CSR rows (as predict_csr takes them)
   * -> Z as logits gives on the rows made dense, bit for bit (the blend). */
  void (*logits_csr)(ps_scorer_t *s, const int64_t *ptr, const int32_t *idx, const float *val, int64_t n, double *Z);
};

void scorer_close(ps_scorer_t *s);
/* Dies naming the first difference if the data's columns are not the model's. */
void scorer_check_data(const ps_scorer_t *s, const char *model_path, const ps_data_t *d);

/* Opens a model file of any kind (the registry's scorer_open). */
typedef ps_scorer_t *ps_scorer_open_fn(const char *path, const char *device);

/* One constructor per model kind, on the open file of that kind. */
ps_scorer_t *logreg_scorer_open(ps_h5_t fid, const char *path, const char *device);
ps_scorer_t *gbdt_scorer_open(ps_h5_t fid, const char *path, const char *device);
/* model_type "uplift" (models/uplift_scorer.c): two models of any kind,
 * opened by open_model, named by its attributes treated_model /
 * control_model (paths relative to the uplift model's directory). */
/* model_type "blend" (models/blend_scorer.c, train --model-type auto): a
 * logreg and a gbdt model in one file, head h's logit w_h z_logreg +
 * (1 - w_h) z_gbdt with w = /blend/logreg_weight [k]; opened by the two
 * constructors above on the same file. */
ps_scorer_t *blend_scorer_open(ps_h5_t fid, const char *path, const char *device);
ps_scorer_t *uplift_scorer_open(ps_h5_t fid, const char *path, const char *device, ps_scorer_open_fn *open_model);
#endif
