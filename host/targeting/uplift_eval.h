/* uplift_eval.h: eval --uplift -- how well a scores file's /uplift/<target>
 * ranks customers by incremental response, against the data's outcome label
 * and treatment flag, with scikit-uplift's definitions (sklift.metrics 0.5):
 * Qini curve and coefficient (qini_auc_score, negative_effect=True), uplift
 * curve and AUUC (uplift_auc_score), uplift by decile (uplift_by_percentile,
 * strategy "overall": rows sorted by uplift descending, ties by row
 * descending, split as numpy.array_split) with standard errors, and the
 * incremental conversions (the Qini curve) at each decile's depth. The
 * numbers are computed distributed, without gathering rows
 * (targeting/uplift_metrics.c). */
#ifndef PS_UPLIFT_EVAL_H
#define PS_UPLIFT_EVAL_H
#include <stdint.h>

#include "targeting/uplift_metrics.h"

typedef struct {
  const char *data, *scores, *split, *targets, *treatment;
  double holdout;
  int64_t split_salt;
  int json;
} uplift_eval_opts_t;
int uplift_eval_run(const uplift_eval_opts_t *o);
#endif
