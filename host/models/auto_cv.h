/* auto_cv.h: train --model-type auto's candidates and their scores on
 * cross-validation folds (auto_cv.c): the fold of a row (a hash of its
 * customer id: the same for any rank count and row order), the number of
 * folds, each fold's logreg and gbdt fits and the three candidates' scores
 * on the fold's validation rows (logreg, gbdt, and their blend: the mean of
 * the two logits). The driver, the choice and the model are auto.c's. */
#ifndef PS_AUTO_CV_H
#define PS_AUTO_CV_H
#include <stdint.h>

#include "models/train_job.h"

enum { AUTO_LOGREG = 0, AUTO_GBDT = 1, AUTO_BLEND = 2, AUTO_NCAND = 3 };
extern const char *const AUTO_CAND_NAMES[AUTO_NCAND];
extern const train_kind_t *const AUTO_KINDS[2]; /* logreg, gbdt */
/* The blend's weight of the logreg logit: the mean of the two logits. */
#define AUTO_BLEND_WEIGHT 0.5

/* The rarer class's rows a head needs in the --holdout split for auto to
 * decide on that split alone (see auto_cv.c). */
#define AUTO_SINGLE_SPLIT_MIN 10000
#define AUTO_DEFAULT_FOLDS 5

typedef struct {
  int folds; /* K >= 2: cross-validation; 1: the --holdout split */
  int k;     /* heads */
  double *loss, *auc; /* [fold][head][candidate] on the fold's validation rows */
  int64_t *trees;     /* [fold][head] the gbdt fit's trees (early stopped) */
  double *rows;       /* [fold] validation rows in all ranks */
} auto_scores_t;

/* The fold count for this job: --cv-folds when given, else 1 with
 * --calibrate, else 1 when every head's --holdout split holds
 * AUTO_SINGLE_SPLIT_MIN rows of its rarer class, else AUTO_DEFAULT_FOLDS.
 * Collective. */
int auto_cv_folds(const train_opts_t *o, const train_input_t *in);
/* A row's fold (K >= 2) from its customer id. */
int auto_cv_fold_of(int64_t id, int64_t salt, int folds);
/* This rank's rows' keep mask of fold j (labels.h's PS_KEEP_VALID for the
 * fold's rows, PS_KEEP_TRAIN for the others; folds = 1: the --holdout
 * split). Caller frees. */
uint8_t *auto_cv_fold_mask(const train_opts_t *o, const train_input_t *in, int folds, int j);
/* The candidates' scores of fold j into s from the two fits made on that
 * fold's mask: their logits of the fold's validation rows (read again from
 * --data), each head's log-loss and AUC. Collective; the same bits for any
 * rank count. */
void auto_cv_score_fold(const train_input_t *in, const uint8_t *mask, void *const *fit, int j, auto_scores_t *s);
#endif
