/* calibrate.h: probability calibration of a head's scores, fitted on
 * out-of-fold or validation rows, stored in the model and applied by score
 * (issue 27): isotonic regression (scikit-learn's IsotonicRegression with
 * out_of_bounds="clip": duplicate scores averaged, pool-adjacent-violators,
 * linear interpolation between the kept thresholds) and Platt scaling
 * (scikit-learn's _sigmoid_calibration: a logistic fit of the labels on the
 * raw score with Platt's smoothed targets, p = 1 / (1 + exp(a f + b))),
 * and the expected calibration error that eval reports beside Brier.
 * Plain in-memory functions: the caller brings the rows together. */
#ifndef PS_CALIBRATE_H
#define PS_CALIBRATE_H
#include <stdint.h>

/* An isotonic map: thresholds x[0..n) increasing, values y[0..n). */
typedef struct {
  int64_t n;
  double *x, *y;
} ps_isotonic_t;

/* Platt's sigmoid: p = 1 / (1 + exp(a * f + b)) of a raw score f. */
typedef struct {
  double a, b;
} ps_platt_t;

/* Fits on n rows (score, label in {0,1} or any target, weight > 0; w may be
 * NULL for 1). Rows of weight 0 are left out. Returns 0, or -1 when no row
 * has a positive weight. */
int calib_isotonic_fit(const double *score, const double *label, const double *w, int64_t n, ps_isotonic_t *out);
/* The same with the fitted values clipped to [lo, hi] after the
 * pool-adjacent-violators pass (scikit-learn's y_min, y_max). */
int calib_isotonic_fit_in(const double *score, const double *label, const double *w, int64_t n, double lo, double hi,
                          ps_isotonic_t *out);
/* Bounds for a probability fitted on 0/1 labels: [1 / (N0 + 2),
 * (N1 + 1) / (N1 + 2)] with N0, N1 the (weighted) count of each label --
 * Platt's smoothed targets below (see calibrate.c). */
void calib_label_bounds(const double *label, const double *w, int64_t n, double *lo, double *hi);
/* The calibrated value of a score (clipped to the fitted range). */
double calib_isotonic_apply(const ps_isotonic_t *m, double score);
void calib_isotonic_free(ps_isotonic_t *m);

/* Fits a and b by Newton's method on the convex smoothed log-loss (to
 * machine precision; scikit-learn stops L-BFGS at gradient 1e-6). */
ps_platt_t calib_platt_fit(const double *raw, const double *label, const double *w, int64_t n);
double calib_platt_apply(const ps_platt_t *m, double raw);

/* Expected calibration error: sum over `bins` equal-width probability bins
 * of (rows in bin / rows) * |mean label - mean probability|. */
double calib_ece(const double *p, const double *label, int64_t n, int bins);
#endif
