/* explain.h: per-customer reason codes -- each input feature's signed
 * contribution to a head's log-odds, for the model kinds that can give
 * them exactly: gradient-boosted trees by path-dependent TreeSHAP
 * (kernels/gbdt/shap_cpu.h; models/gbdt/explain.c), logistic regression as
 * w_c * s_c summed over the feature's model columns, s_c its standardized
 * value (models/logreg/explain.c). A row's contributions plus the head's
 * base value are its log-odds (to rounding). And a row's top N by
 * |contribution|. Uplift models have none (two models, a difference of
 * probabilities): refused. */
#ifndef PS_EXPLAIN_H
#define PS_EXPLAIN_H
#include <math.h>
#include <stdint.h>

#include "io/h5.h"

typedef struct ps_explainer ps_explainer_t;
struct ps_explainer {
  int k;          /* heads */
  int64_t f;      /* input features */
  double *base;   /* [k] base value: the log-odds with no feature known */
  const char *device;
  const char *method; /* "treeshap" or "linear" (the file's /explain method attribute) */
  /* phi [n][f] = the contributions of raw rows X [n][f] to head h. */
  void (*contrib)(ps_explainer_t *e, int h, const float *X, int64_t n, double *phi);
  void (*destroy)(ps_explainer_t *e);
  void *impl;
  /* Optional (NULL: score_explain_csr.c scatters CSR rows into dense tiles
   * for contrib): head h's top N of CSR rows ptr [n+1] (any base), idx
   * increasing in a row, a column not stored = 0.0, straight from the
   * stored values -> feat/val [n][top]: explain_top's bits on contrib of
   * the rows made dense. */
  void (*top_csr)(ps_explainer_t *e, int h, const int64_t *ptr, const int32_t *idx, const float *val, int64_t n,
                  int top, int16_t *feat, float *out);
};

/* Every rank reads the (small) model file; dies with one line naming it
 * (an uplift or unknown model: `who` names the command in the message). */
ps_explainer_t *explainer_open(const char *path, const char *device, const char *who);
void explainer_close(ps_explainer_t *e);
/* One constructor per model kind. */
ps_explainer_t *gbdt_explainer_open(ps_h5_t fid, const char *path, const char *device);
ps_explainer_t *logreg_explainer_open(ps_h5_t fid, const char *path);

/* Is (a, j) before (b, i) in explain_top's order: larger |value| first, then the lower feature. */
static inline int explain_before(double a, int64_t j, double b, int64_t i) {
  double x = fabs(a), y = fabs(b);
  return x > y || (x == y && j < i);
}

/* For each row i of phi [n][f]: the `top` features of largest
 * |contribution| (ties: the lower feature), in that order, into
 * feat [n][top] and their values into val [n][top]. top <= f <= 32767. */
void explain_top(const double *phi, int64_t n, int64_t f, int top, int16_t *feat, float *val);
#endif
