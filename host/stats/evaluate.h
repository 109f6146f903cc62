/* evaluate.h: the eval job -- exact ROC-AUC, PR-AUC, log-loss, Brier,
 * decile lift and calibration of a scores file against the data's labels,
 * on the validation split, the training split or all rows; a table or JSON. */
#ifndef PS_EVALUATE_H
#define PS_EVALUATE_H
#include <stdint.h>

#include "core/options.h"

typedef struct {
  const char *data, *scores, *split, *targets; /* split: valid|train|all or NULL (default) */
  int split_i;                                 /* --split as an index of EVAL_SPLITS (when given) */
  double holdout;                              /* < 0: as recorded in the scores file */
  int64_t split_salt;                          /* < 0: as recorded */
  int json;                                    /* print the JSON document (else the tables) */
  const char *baseline_scores; /* NULL, or the baseline model's scores: histograms and the gate's PSI */
  char **json_text;            /* not NULL: rank 0 gets the JSON document here too (caller frees) */
  /* the command's other options: eval --uplift (targeting/uplift_eval.h), --report (cli/eval_report.h) */
  int uplift;
  const char *treatment, *report, *report_gate, *report_personas, *report_uplift, *report_offers, *report_manifest;
} eval_opts_t;

/* `propscore eval`: its options (one table) and help; the --split words. */
extern const ps_cmd_spec_t eval_cmd;
extern const char *const EVAL_SPLITS[];

/* Dies (usage) when --holdout or --split-salt choose validation rows that
 * the split does not use (split "all": every row). */
void eval_check_split(const char *split, double holdout, int64_t split_salt);

/* The model file the scores file records (or the file of that name beside
 * the scores file), or NULL; collective, a new string. */
char *eval_model_path(const char *scores);

/* Collective; 0, or PS_EXIT_STOPPED on a stop signal. The JSON document
 * (--json, or json_text) holds per target the metrics, lift and calibration
 * tables, the curves' points (ROC, precision-recall, gains at fixed depths),
 * the score histogram on the logit scale (all rows of the scores file, and
 * of the baseline's with its PSI, as the gate computes it); the data's row
 * count; the model the scores came from (kind; GBDT: top features by gain). */
int eval_run(const eval_opts_t *o);
#endif
