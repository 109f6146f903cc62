/* auto_stack.h: auto's blend candidate stacked on the out-of-fold logits
 * (auto_stack.c): from each fold's logreg and gbdt logits of its
 * validation rows (kept in auto_scores_t by auto_cv_score_fold), per head the logreg weight w of the blend
 * sigmoid(w z_logreg + (1 - w) z_gbdt) of least mean fold log-loss over the
 * grid w = 0, 1/AUTO_STACK_GRID, ..., 1, and the blend's fold scores at it. */
#ifndef PS_AUTO_STACK_H
#define PS_AUTO_STACK_H
#include <stdint.h>

#include "models/auto_cv.h"

/* The weight grid's steps: w = i / AUTO_STACK_GRID, i = 0 .. AUTO_STACK_GRID. */
#define AUTO_STACK_GRID 100

/* Per head h, w[h]: the grid weight of least mean over the folds of the
 * fold's mean log-loss (ps_logloss of the blend's logit, summed exactly:
 * the same bits for any rank count; rows[j] the fold's rows in all ranks);
 * ties keep the smaller weight. Collective. */
void auto_stack_weights(const auto_scores_t *s, double *w);
/* Fits s->blend_w (auto_stack_weights), scores the blend on every fold
 * (s->loss and s->auc of AUTO_BLEND: the same metrics as the other
 * candidates) and frees the kept logits. With K >= 2 folds, fold j is
 * scored at the weight chosen on the other K - 1 folds' rows, so the
 * blend's fold scores, like the kinds', come from rows its weight never
 * saw; with the single split, at s->blend_w. Collective. */
void auto_stack_fit(auto_scores_t *s);
/* Frees the kept logits and labels (a job stopped before auto_stack_fit). */
void auto_stack_free_oof(auto_scores_t *s);
#endif
