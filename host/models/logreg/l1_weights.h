/* l1_weights.h: train --l1-weights MODEL (the adaptive lasso, Zou 2006):
 * each weight's L1 strength is --l1 times 1 / |w0|^gamma, w0 that weight
 * in MODEL (a first logreg fit of the same columns, standardized units);
 * weights that are 0 in MODEL stay exactly 0. */
#ifndef PS_LOGREG_L1_WEIGHTS_H
#define PS_LOGREG_L1_WEIGHTS_H
#include <stdint.h>

#include "models/logreg/model.h"
#include "stats/prepare.h"

/* Every rank reads MODEL (a logreg model file); dies with one line naming it. */
void l1w_read(const char *path, ps_model_t *m);
/* The factors [k][c] of this fit's heads (targets, by name in m) and
 * columns (names [f] and cols must be m's): INFINITY where m's weight is 0,
 * else |w0|^-gamma. Dies with one line naming path on a mismatch. */
double *l1w_factors(const ps_model_t *m, const char *path, char *const *names, int64_t f, const ps_columns_t *cols,
                    char *const *targets, int k, double gamma);
#endif
