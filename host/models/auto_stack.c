/* auto_stack.c: auto's blend stacked on the out-of-fold logits (see
 * auto_stack.h).
 *
 * Why a fitted weight and not the mean of the two logits: where one kind
 * is much the better (a table the trees win), the mean drags the trees'
 * ranking toward the weaker linear one and the blend loses to the trees
 * alone, so auto keeps trees that are early stopped on 80% of the rows;
 * where the two are close, the mean is near the best weight anyway. The
 * weight is one number per head chosen on rows no fit saw (each fold's
 * validation rows), like a stacked logistic regression without intercept
 * or slope: those would recalibrate the scores, which is --calibrate's
 * work. The blend's log-loss is convex in w (the loss is convex in the
 * logit, the logit linear in w), so the grid's minimum is within one step
 * of the true one; the grid ends are logreg (w = 1) and gbdt (w = 0) alone,
 * so a blend at an end scores as that kind and the choice keeps the kind
 * (ties keep the simpler candidate). Cost: AUTO_STACK_GRID + 1 exact
 * log-loss sums over the validation rows per head, next to nothing beside
 * the fits (and on the single split of big data, 20% of the rows). */
#define _POSIX_C_SOURCE 200809L
#include "models/auto_stack.h"

#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "common/psmath.h"
#include "core/util.h"
#include "core/xsum.h"
#include "stats/metrics.h"

/* The blend's logit of row r of fold j, head h, at weight w (as blend_scorer.c computes it). */
static double blend_logit(const auto_scores_t *s, int j, int h, int64_t r, double w) {
  int64_t m = s->oof_m[j];
  const double *Z = s->oof_z[j];
  return w * Z[(size_t)h * (size_t)m + (size_t)r] + (1.0 - w) * Z[((size_t)s->k + (size_t)h) * (size_t)m + (size_t)r];
}

/* Head h's exact log-loss sums acc [fold][grid][PS_XS_WORDS] over this rank's rows. */
static void grid_sums(const auto_scores_t *s, int h, int64_t *acc) {
  for (int j = 0; j < s->folds; j++) {
    const uint8_t *y = s->oof_y[j] + (size_t)h * (size_t)s->oof_m[j];
    for (int g = 0; g <= AUTO_STACK_GRID; g++) {
      double w = (double)g / AUTO_STACK_GRID;
      int64_t *a = acc + ((size_t)j * (AUTO_STACK_GRID + 1) + (size_t)g) * PS_XS_WORDS;
      for (int64_t r = 0; r < s->oof_m[j]; r++) ps_xsum_add(a, ps_logloss(blend_logit(s, j, h, r, w), y[r]));
    }
  }
}

/* Every head's exact log-loss sums [head][fold][grid][PS_XS_WORDS], summed over the ranks (caller frees). */
static int64_t *grid_all(const auto_scores_t *s) {
  size_t words = (size_t)s->folds * (AUTO_STACK_GRID + 1) * PS_XS_WORDS;
  int64_t *acc = ps_malloc(sizeof(int64_t) * words * (size_t)s->k);
  memset(acc, 0, sizeof(int64_t) * words * (size_t)s->k);
  for (int h = 0; h < s->k; h++) grid_sums(s, h, acc + (size_t)h * words);
  comm_allreduce_sum_i64(acc, words * (size_t)s->k); /* exact: the same words for any rank count */
  return acc;
}

/* Per head, the grid weight of least mean fold log-loss over the folds other than skip (-1: every fold). */
static void pick(const auto_scores_t *s, int64_t *acc, int skip, double *w) {
  int K = s->folds, G = AUTO_STACK_GRID + 1;
  size_t words = (size_t)K * (size_t)G * PS_XS_WORDS;
  for (int h = 0; h < s->k; h++) {
    double best = 0;
    w[h] = 0;
    for (int g = 0; g < G; g++) {
      double mean = 0;
      for (int j = 0; j < K; j++)
        if (j != skip)
          mean += ps_xsum_value(acc + (size_t)h * words + ((size_t)j * (size_t)G + (size_t)g) * PS_XS_WORDS) /
                  s->rows[j];
      mean /= skip >= 0 ? K - 1 : K;
      if (g == 0 || mean < best) { /* NaN never wins; ties keep the smaller weight */
        best = mean;
        w[h] = (double)g / AUTO_STACK_GRID;
      }
    }
  }
}

void auto_stack_weights(const auto_scores_t *s, double *w) {
  int64_t *acc = grid_all(s);
  pick(s, acc, -1, w);
  free(acc);
}

/* The blend's log-loss and AUC on fold j at the weights w [head]. */
static void score_blend(auto_scores_t *s, int j, const double *w) {
  int64_t m = s->oof_m[j];
  float *p = ps_malloc(sizeof(float) * (size_t)(m > 0 ? m : 1));
  for (int h = 0; h < s->k; h++) {
    for (int64_t r = 0; r < m; r++) p[r] = (float)ps_sigmoid(blend_logit(s, j, h, r, w[h]));
    ps_metrics_t met;
    metrics_compute_in(p, s->oof_y[j] + (size_t)h * (size_t)m, NULL, m, &met);
    size_t at = ((size_t)j * (size_t)s->k + (size_t)h) * AUTO_NCAND + AUTO_BLEND;
    s->loss[at] = met.logloss;
    s->auc[at] = met.auc;
  }
  free(p);
}

void auto_stack_fit(auto_scores_t *s) {
  if (!s->blend_w) s->blend_w = ps_calloc((size_t)s->k, sizeof(double));
  int64_t *acc = grid_all(s);
  pick(s, acc, -1, s->blend_w);
  double *w = ps_malloc(sizeof(double) * (size_t)s->k);
  for (int j = 0; j < s->folds; j++) { /* each fold scored at the weight the other folds chose */
    if (s->folds >= 2) pick(s, acc, j, w);
    score_blend(s, j, s->folds >= 2 ? w : s->blend_w);
  }
  metrics_release();
  free(w);
  free(acc);
  auto_stack_free_oof(s);
}

void auto_stack_free_oof(auto_scores_t *s) {
  for (int j = 0; s->oof_z && j < s->folds; j++) {
    free(s->oof_z[j]);
    free(s->oof_y[j]);
  }
  free(s->oof_z);
  free(s->oof_y);
  free(s->oof_m);
  s->oof_z = NULL;
  s->oof_y = NULL;
  s->oof_m = NULL;
}
