/* uplift_eval.h: eval --uplift -- how well a scores file's /uplift/<target>
 * ranks customers by incremental response, against the data's outcome label
 * and treatment flag, with scikit-uplift's definitions (sklift.metrics 0.5):
 * Qini curve and coefficient (qini_auc_score, negative_effect=True), uplift
 * curve and AUUC (uplift_auc_score), uplift by decile (uplift_by_percentile,
 * strategy "overall": rows sorted by uplift descending, ties by row
 * descending, split as numpy.array_split) with standard errors, and the
 * incremental conversions (the Qini curve) at each decile's depth. The rows
 * are gathered on rank 0 (17 bytes a row) and sorted there. */
#ifndef PS_UPLIFT_EVAL_H
#define PS_UPLIFT_EVAL_H
#include <stdint.h>

#define PS_UPLIFT_BINS 10

typedef struct {
  double n, n_t, n_c, y_t, y_c;           /* rows, treated, control, responders of each */
  double qini, auuc;                      /* normalized areas (coefficients) */
  double qini_area, auuc_area;            /* areas of the model's curves minus the random diagonal */
  double bin_n_t[PS_UPLIFT_BINS], bin_n_c[PS_UPLIFT_BINS];
  double bin_rate_t[PS_UPLIFT_BINS], bin_rate_c[PS_UPLIFT_BINS];
  double bin_uplift[PS_UPLIFT_BINS], bin_se[PS_UPLIFT_BINS];
  double depth_rows[PS_UPLIFT_BINS];      /* rows targeted at the end of each decile */
  double depth_incremental[PS_UPLIFT_BINS]; /* Qini curve there: y_t - y_c * n_t / n_c */
  double depth_uplift_curve[PS_UPLIFT_BINS];
} ps_uplift_metrics_t;

/* Rows (score, outcome 0/1, treated 0/1) in any order; `row` breaks ties
 * as sklift does (a later row first among equal scores). Sorts in place. */
typedef struct {
  double score;
  int64_t row;
  uint8_t y, t;
} ps_uplift_row_t;
void uplift_metrics(ps_uplift_row_t *r, int64_t n, ps_uplift_metrics_t *m);

typedef struct {
  const char *data, *scores, *split, *targets, *treatment;
  double holdout;
  int64_t split_salt;
  int json;
} uplift_eval_opts_t;
int uplift_eval_run(const uplift_eval_opts_t *o);
#endif
