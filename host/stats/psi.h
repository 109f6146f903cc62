/* psi.h: the score-distribution shift of the quality gate, one definition
 * for gate and eval: scores in a fine histogram on the logit scale
 * (PS_PSI_FINE bins over [-20, 20]), and the population stability index of
 * a current histogram against a baseline's over the baseline's deciles
 * (cut at fine-bin edges). */
#ifndef PS_PSI_H
#define PS_PSI_H
#include <stdint.h>

#define PS_PSI_FINE 4000 /* fine bins on the logit scale, [-20, 20] */
#define PS_PSI_BINS 10   /* PSI over the baseline's deciles */
#define PS_PSI_ZMAX 20.0

/* Add p[n] to hist[PS_PSI_FINE + 1] (local counts; the last slot counts
 * scores that are not probabilities: NaN or outside [0, 1]). */
void psi_hist_add(const float *p, int64_t n, int64_t *hist);

/* The fine histogram hist[PS_PSI_FINE] of every rank's p[n], summed over
 * ranks (collective, exact: integer counts); returns the count of scores
 * that are not probabilities. */
int64_t psi_hist_all(const float *p, int64_t n, double *hist);

/* The fine bin that a probability falls in. */
int psi_bin(double p);

/* PSI of `cur` against `base` (fine histograms, PS_PSI_FINE bins). When
 * edges/expected/actual are not NULL, they receive the bins the sum runs
 * over: edges [bins + 1] as fine-bin indices, the baseline's and the current
 * shares [bins]; *bins is at most PS_PSI_BINS + 1 (the baseline's deciles,
 * and past its last score a bin of current scores only). */
double psi_value(const double *base, const double *cur, int *edges, double *expected, double *actual, int *bins);
#endif
