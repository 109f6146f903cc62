/* evaluate.h: the eval job -- exact ROC-AUC, PR-AUC, log-loss, Brier,
 * decile lift and calibration of a scores file against the data's labels,
 * on the validation split, the training split or all rows; a table or JSON. */
#ifndef PS_EVALUATE_H
#define PS_EVALUATE_H
#include <stdint.h>

typedef struct {
  const char *data, *scores, *split, *targets; /* split: valid|train|all or NULL (default) */
  double holdout;                              /* < 0: as recorded in the scores file */
  int64_t split_salt;                          /* < 0: as recorded */
  int json;
} eval_opts_t;

/* Collective; 0, or PS_EXIT_STOPPED on a stop signal. */
int eval_run(const eval_opts_t *o);
#endif
