/* test_auto_stack.c: auto's stacked blend weight (host/models/auto_stack.c)
 * against a direct oracle on the same out-of-fold logits: the weight of
 * least mean fold log-loss over the grid, the leave-one-fold-out weight
 * each fold's blend score uses, and the grid's ends (one kind much better
 * than the other -> that kind's end). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/util.h"
#include "models/auto_stack.h"

enum { K = 3, H = 2 };
static const int64_t M[K] = {157, 203, 96};

static double unit(uint64_t *s) { /* xorshift64*: [0, 1) */
  *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
  return (double)((*s * 2685821657736338717ULL) >> 11) * 0x1p-53;
}

/* Fold logits [2][H][m] and labels [H][m]: head 0 both kinds informative
 * (the best weight inside), head 1 a gbdt logit that knows the label and a
 * logreg one that is noise (the best weight 0). */
static void make(auto_scores_t *s, uint64_t seed) {
  *s = (auto_scores_t){.folds = K, .k = H};
  s->loss = ps_calloc(K * H * AUTO_NCAND, sizeof(double));
  s->auc = ps_calloc(K * H * AUTO_NCAND, sizeof(double));
  s->rows = ps_calloc(K, sizeof(double));
  s->oof_m = ps_calloc(K, sizeof(int64_t)); /* as auto_cv_score_fold keeps them */
  s->oof_z = ps_calloc(K, sizeof(double *));
  s->oof_y = ps_calloc(K, sizeof(uint8_t *));
  for (int j = 0; j < K; j++) {
    int64_t m = M[j];
    double *Z = ps_malloc(sizeof(double) * 2 * H * (size_t)m);
    uint8_t *y = ps_malloc((size_t)(H * m));
    for (int64_t r = 0; r < m; r++) {
      double t = 4 * unit(&seed) - 2;
      for (int h = 0; h < H; h++) {
        y[h * m + r] = unit(&seed) < 1 / (1 + exp(-2 * t));
        double a = t + (unit(&seed) - 0.5) * 3, b = t + (unit(&seed) - 0.5) * 3;
        Z[h * m + r] = h == 0 ? a : 4 * (unit(&seed) - 0.5);                        /* logreg */
        Z[(H + h) * m + r] = h == 0 ? 1.5 * b : (y[h * m + r] ? 3 : -3) + 0.1 * b; /* gbdt */
      }
    }
    s->rows[j] = (double)m;
    s->oof_m[j] = m;
    s->oof_z[j] = Z;
    s->oof_y[j] = y;
  }
}

/* The oracle: mean over the folds but skip of the fold's mean log-loss of
 * the blend at w (log(1 + exp(z)) - y z in long double). */
static long double oracle_loss(const auto_scores_t *s, int h, double w, int skip) {
  long double mean = 0;
  for (int j = 0; j < K; j++) {
    if (j == skip) continue;
    int64_t m = s->oof_m[j];
    long double sum = 0;
    for (int64_t r = 0; r < m; r++) {
      long double z = w * s->oof_z[j][h * m + r] + (1.0 - w) * s->oof_z[j][(H + h) * m + r];
      sum += (z > 0 ? z + log1pl(expl(-z)) : log1pl(expl(z))) - s->oof_y[j][h * m + r] * z;
    }
    mean += sum / m;
  }
  return mean / (skip >= 0 ? K - 1 : K);
}

/* Fold j's mean log-loss of the blend at w. */
static long double oracle_loss_fold(const auto_scores_t *s, int h, double w, int j) {
  long double all = oracle_loss(s, h, w, -1) * K, rest = oracle_loss(s, h, w, j) * (K - 1);
  return all - rest;
}

static double oracle_weight(const auto_scores_t *s, int h, int skip) {
  double best_w = 0;
  long double best = 0;
  for (int g = 0; g <= AUTO_STACK_GRID; g++) {
    long double l = oracle_loss(s, h, (double)g / AUTO_STACK_GRID, skip);
    if (g == 0 || l < best) best = l, best_w = (double)g / AUTO_STACK_GRID;
  }
  return best_w;
}

static void weight_is_the_oracles_argmin(void **state) {
  (void)state;
  for (uint64_t seed = 1; seed <= 4; seed++) {
    auto_scores_t s;
    make(&s, seed * 0x9E3779B97F4A7C15ULL);
    double w[H];
    auto_stack_weights(&s, w);
    for (int h = 0; h < H; h++) assert_true(w[h] == oracle_weight(&s, h, -1));
    assert_true(w[0] > 0 && w[0] < 1); /* both kinds informative: a blend */
    assert_true(w[1] == 0);            /* the logreg logit is noise: gbdt alone */
    double want[K][H]; /* each fold's blend is scored at the weight the other folds chose */
    for (int j = 0; j < K; j++)
      for (int h = 0; h < H; h++) want[j][h] = (double)oracle_loss_fold(&s, h, oracle_weight(&s, h, j), j);
    auto_stack_fit(&s);
    assert_true(s.oof_z == NULL && s.blend_w[0] == w[0] && s.blend_w[1] == w[1]);
    for (int j = 0; j < K; j++)
      for (int h = 0; h < H; h++) /* metrics' log-loss of float32 probabilities */
        assert_true(fabs(s.loss[(j * H + h) * AUTO_NCAND + AUTO_BLEND] - want[j][h]) < 1e-5);
    free(s.loss);
    free(s.auc);
    free(s.rows);
    free(s.blend_w);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(weight_is_the_oracles_argmin)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
