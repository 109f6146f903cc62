/* uplift_metrics.h: the numbers of eval --uplift, exact and distributed:
 * scikit-uplift's (sklift.metrics 0.5) Qini curve and coefficient
 * (qini_auc_score, negative_effect=True), uplift curve and AUUC
 * (uplift_auc_score), uplift by decile (uplift_by_percentile, strategy
 * "overall": rows sorted by uplift descending, ties by row descending, split
 * as numpy.array_split) with standard errors, and the incremental
 * conversions (the Qini curve) at each decile's depth -- over rows spread
 * across ranks, without gathering them: no rank holds more than its share,
 * and every rank gets the same bits for any rank count. */
#ifndef PS_UPLIFT_METRICS_H
#define PS_UPLIFT_METRICS_H
#include <stddef.h>
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

/* Collective. This rank's rows row0 .. row0+n-1 of a file of n_file rows:
 * u their uplift scores (each in [-1, 1], not NaN: the caller checks) in
 * memory with room for ucap >= n doubles (the sort's slice is received
 * there when it fits: give a little more than n, e.g. n + n/4 + 1024 --
 * pages never written cost no memory), y the
 * outcome and t the treatment flag (0/1), keep which rows count (NULL: all).
 * The row number breaks ties of equal scores as sklift does (a later row
 * first). u is used up: its memory holds the rows' sort keys afterwards.
 * Every rank gets the metrics in *m. */
void uplift_metrics(double *u, size_t ucap, const uint8_t *y, const uint8_t *t, const uint8_t *keep, int64_t row0,
                    int64_t n, int64_t n_file, ps_uplift_metrics_t *m);
#endif
