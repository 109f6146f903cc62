/* uplift_train.h: train --uplift -- the two-model uplift learner. The
 * chosen model kind is trained twice on the same split: on the treated
 * training rows (/labels/<treatment> = 1) into MODEL-stem.treated.h5 and on
 * the control rows into MODEL-stem.control.h5 (each with its manifest);
 * then MODEL (kind "model", model_type "uplift") names both, and `score`
 * writes /uplift/<target> = P(y|treated) - P(y|control). Rows of the other
 * group sit with the validation rows of each fit, so the sub-models'
 * validation metrics mix both groups: use eval --uplift. */
#ifndef PS_UPLIFT_TRAIN_H
#define PS_UPLIFT_TRAIN_H
#include "models/train.h"

/* kind: 0 logreg, 1 gbdt. */
int uplift_train(const train_common_t *c, const char *treatment, int kind, const logreg_opts_t *lr,
                 const gbdt_opts_t *gb);
#endif
