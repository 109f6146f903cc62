/* metrics.h: exact ranking and probability metrics of scores against 0/1
 * labels, over rows spread across ranks. A distributed sample sort sends
 * every score range to one rank (ties together; a 4-byte key a row: the
 * score's bits and the label), which sorts it into runs of equal scores and computes its
 * range's share of every sum knowing the counts below and above it, in
 * fixed point (128-bit integers), and the shares are added exactly. Memory
 * per rank O(its rows); the same numbers as one sorted pass to ~1e-12, and
 * the same bits for any rank count. */
#ifndef PS_METRICS_H
#define PS_METRICS_H
#include <stddef.h>
#include <stdint.h>

#define PS_BINS 10
/* Curve points: the top 0, 0.1%, ..., 1% of rows by score (11 depths), then
 * 2%, 3%, ..., 100% (99): ROC, precision-recall and gains curves read off the
 * same depths (ps_curve_rows gives a depth's row count). */
#define PS_CURVE 110

typedef struct {
  double n, pos;
  double auc, pr_auc, logloss, brier;
  /* expected calibration error over the calibration bins below: sum over
   * bins of |positives - sum of probabilities| / rows, from the exact sums */
  double ece;
  /* deciles by score, highest first */
  double lift_rows[PS_BINS], lift_pos[PS_BINS], lift_rate[PS_BINS], lift[PS_BINS], lift_gain[PS_BINS],
      lift_min_score[PS_BINS];
  /* calibration: predicted probability in [b/10, (b+1)/10) */
  double cal_n[PS_BINS], cal_pred[PS_BINS], cal_obs[PS_BINS];
  /* curves: at depth j, the curve_rows[j] rows of highest score hold curve_pos[j]
   * positives (a run of tied scores cut by the depth gives each side its share,
   * so a point lies on the exact ROC curve's tie segment); curve_score[j] is the
   * lowest score among those rows (NaN at depth 0) */
  double curve_rows[PS_CURVE], curve_pos[PS_CURVE], curve_score[PS_CURVE];
} ps_metrics_t;

/* The row count of curve depth j (0 <= j < PS_CURVE) among n rows. */
int64_t ps_curve_rows(int j, int64_t n);

/* Collective. p[n] scores in [0,1], y[n] in {0,1}; keep[i] == 0 skips a row (keep may be NULL). */
void metrics_compute(const float *p, const uint8_t *y, const uint8_t *keep, int64_t n, ps_metrics_t *m);
/* The same, p's memory used for the keys (its scores are lost): no key
 * buffer of n rows to allocate. */
void metrics_compute_in(float *p, const uint8_t *y, const uint8_t *keep, int64_t n, ps_metrics_t *m);
/* Memory the caller lends for the keys to send, the sort and received keys
 * beyond n (used when half of it holds 4 bytes a row) until
 * metrics_release(). */
void metrics_lend(void *mem, size_t bytes);
/* Frees the key buffers kept for the next call, forgets lent memory. */
void metrics_release(void);
#endif
