/* synth.h: the synthetic customer generator behind `propscore gen`.
 * Every value is a pure function of (seed, row): marketing-like features
 * (RFM, channel behaviour, one-hot region/channel, correlated affinity
 * groups, a constant and a duplicated column, ~1% NaN in some columns) and,
 * per target, a planted model: logistic in transformed features plus an
 * interaction and a threshold term, intercept set to hit a positive rate. */
#ifndef PS_SYNTH_H
#define PS_SYNTH_H
#include <stdint.h>

typedef struct {
  uint64_t seed;
  int64_t f;
  char **names;       /* F feature names */
  int *kind;          /* per column: what it is (synth.c) */
  int k;              /* targets */
  char **targets;
  double *rate;       /* [K] wanted positive rates */
  double *coef;       /* [K][F] coefficients on transformed features */
  double *intercept;  /* [K] */
  double *nl;         /* [K][3] interaction, threshold, hinge weights */
} synth_t;

/* targets: "name" or "name:rate"; default rates purchase* 0.04, churn 0.10,
 * anything else 0.05. Dies (usage) on a bad spec. */
void synth_init(synth_t *s, uint64_t seed, int64_t f, const char *targets_spec);
void synth_free(synth_t *s);
/* Raw feature row (F floats, NaN for missing). */
void synth_row(const synth_t *s, int64_t row, float *x);
/* True probability of target t for a generated row. */
double synth_prob(const synth_t *s, int t, const float *x);
/* The 0/1 label of target t for a row with true probability p. */
int synth_label(const synth_t *s, int t, int64_t row, double p);
int64_t synth_customer_id(int64_t row);
/* gen --uplift: the treatment flag of a row (random half, stream 3), and
 * target t's probabilities without (p_c = synth_prob) and with treatment:
 * p_t = sigmoid(logit(p_c) + tau(x)), tau(x) = -0.5 + 1.5*app_user +
 * 0.6*(email_open_rate - 0.3)/0.2 (NaN -> 0): a heterogeneous effect, negative
 * for some customers. Needs F >= 7. */
int synth_treated(const synth_t *s, int64_t row);
void synth_uplift_probs(const synth_t *s, int t, const float *x, double *p_c, double *p_t);

/* Planted clusters (gen --clusters K): the row's cluster is drawn from its
 * hash, every feature is the cluster's center (N(0, 3^2) a coordinate, a
 * pure function of (seed, cluster, column)) plus N(0, 1) noise. Returns
 * the cluster; overwrites x. */
int synth_cluster_row(const synth_t *s, int clusters, int64_t row, float *x);
double synth_cluster_center(const synth_t *s, int cluster, int64_t col);
#endif
