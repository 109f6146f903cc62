/* blend_scorer.c: model_type "blend" (train --model-type auto) as a scorer
 * (models/scorer.h): one file holding a logreg model and a gbdt model of
 * the same heads and features (each kind's datasets, read by its own
 * constructor) and /blend/logreg_weight [k]; head h's probability is the
 * sigmoid of w_h z_logreg + (1 - w_h) z_gbdt, both logits the CPU
 * scorers' doubles (so on the CPU whatever --device says); CSR rows by
 * the parts' logits_csr, from the stored values. */
#include <math.h>
#include <stdlib.h>

#include "common/psmath.h"
#include "core/util.h"
#include "models/scorer.h"

typedef struct {
  ps_scorer_t *lr, *gb;
  double *w; /* [k] */
  double *z; /* [2][k][cap] */
  int64_t cap;
} blend_scorer_t;

/* Room for both parts' logits of n rows. */
static void reserve(blend_scorer_t *b, int k, int64_t n) {
  size_t kn = (size_t)k * (size_t)n;
  if (n > b->cap) {
    free(b->z);
    b->z = ps_malloc(sizeof(double) * 2 * (kn > 0 ? kn : 1));
    b->cap = n;
  }
}

/* The parts' logits in b->z -> probabilities P [k][n]. */
static void mix(const ps_scorer_t *s, const blend_scorer_t *b, int64_t n, float *P) {
  size_t kn = (size_t)s->k * (size_t)n;
  for (int h = 0; h < s->k; h++)
    for (int64_t i = 0; i < n; i++) {
      size_t e = (size_t)h * (size_t)n + (size_t)i;
      P[e] = (float)ps_sigmoid(b->w[h] * b->z[e] + (1.0 - b->w[h]) * b->z[kn + e]);
    }
}

static void predict(ps_scorer_t *s, const float *X, int64_t n, float *P) {
  blend_scorer_t *b = s->impl;
  reserve(b, s->k, n);
  b->lr->logits(b->lr, X, n, b->z);
  b->gb->logits(b->gb, X, n, b->z + (size_t)s->k * (size_t)n);
  mix(s, b, n, P);
}

/* CSR rows: each part's logits from the stored values (their dense bits), mixed as predict does. */
static void predict_csr(ps_scorer_t *s, const int64_t *ptr, const int32_t *idx, const float *val, int64_t n,
                        float *P) {
  blend_scorer_t *b = s->impl;
  reserve(b, s->k, n);
  b->lr->logits_csr(b->lr, ptr, idx, val, n, b->z);
  b->gb->logits_csr(b->gb, ptr, idx, val, n, b->z + (size_t)s->k * (size_t)n);
  mix(s, b, n, P);
}

static void destroy(ps_scorer_t *s) {
  blend_scorer_t *b = s->impl;
  scorer_close(b->lr);
  scorer_close(b->gb);
  free(b->w);
  free(b->z);
  free(b);
  free(s);
}

ps_scorer_t *blend_scorer_open(ps_h5_t fid, const char *path, const char *device) {
  (void)device;
  blend_scorer_t *b = ps_calloc(1, sizeof *b);
  b->lr = logreg_scorer_open(fid, path, "cpu");
  b->gb = gbdt_scorer_open(fid, path, "cpu");
  int k = b->lr->k;
  if (h5_count(fid, "/blend/logreg_weight") != k)
    ps_die_all(PS_EXIT_ERROR, "%s: /blend/logreg_weight missing or not one value per head (%d)", path, k);
  b->w = ps_malloc(sizeof(double) * (size_t)k);
  h5_read_small(fid, path, "/blend/logreg_weight", PS_F64, b->w, k);
  for (int h = 0; h < k; h++)
    if (!(b->w[h] >= 0 && b->w[h] <= 1))
      ps_die_all(PS_EXIT_ERROR, "%s: /blend/logreg_weight[%d] = %g is not in [0, 1]", path, h, b->w[h]);
  ps_scorer_t *s = ps_calloc(1, sizeof *s);
  *s = *b->lr; /* heads, features, split: the file's, shared by both parts */
  s->model_type = "blend";
  s->device = "cpu";
  s->predict = predict;
  s->destroy = destroy;
  s->logits = NULL;
  s->logits_csr = NULL;
  s->predict_csr = b->lr->logits_csr && b->gb->logits_csr ? predict_csr : NULL;
  s->impl = b;
  return s;
}
