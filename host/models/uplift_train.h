/* uplift_train.h: train --uplift -- the two-model uplift learner. The
 * chosen model kind is fitted twice on one loaded data set, with a row
 * mask each: on the treated rows (/labels/<treatment> = 1) into
 * MODEL-stem.treated.h5 and on the control rows into MODEL-stem.control.h5
 * (the other group's rows are in neither split of a fit); MODEL (kind
 * "model", model_type "uplift", models/uplift_scorer.h) names both, and
 * `score` writes /uplift/<target> = P(y|treated) - P(y|control). The three
 * files are written to temporaries and renamed only when all are complete,
 * with a shared run id that score checks: a failed run replaces nothing. */
#ifndef PS_UPLIFT_TRAIN_H
#define PS_UPLIFT_TRAIN_H
#include "models/train.h"

/* o->kind: logreg or gbdt. Collective; returns the exit status. */
int uplift_train(const train_opts_t *o);
#endif
