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
  int json;                                    /* print the JSON document (else the tables) */
  const char *baseline_scores; /* NULL, or the baseline model's scores: histograms and the gate's PSI */
  char **json_text;            /* not NULL: rank 0 gets the JSON document here too (caller frees) */
} eval_opts_t;

/* Collective; 0, or PS_EXIT_STOPPED on a stop signal. The JSON document
 * (--json, or json_text) holds per target the metrics, lift and calibration
 * tables, the curves' points (ROC, precision-recall, gains at fixed depths),
 * the score histogram on the logit scale (all rows of the scores file, and
 * of the baseline's with its PSI, as the gate computes it); the data's row
 * count; the model the scores came from (kind; GBDT: top features by gain). */
int eval_run(const eval_opts_t *o);
#endif
