/* metrics.c: ROC-AUC (ties count one half), average precision (as
 * scikit-learn's average_precision_score), log-loss (probabilities clipped
 * to [eps, 1-eps], eps = DBL_EPSILON), Brier score, decile lift and
 * calibration tables and the curves' points, exact, over rows spread across
 * ranks (see metrics.h):
 * a distributed sample sort puts every score range on one rank, each rank
 * adds its range's share, and the shares are summed -- no rank gathers
 * the rows. */
#include "stats/metrics.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"

typedef struct {
  float s;
  uint32_t pos, neg;
} run_t;

/* Order-preserving key of a float: flip the sign bit of positives, all bits
 * of negatives (NaN never reaches here: eval and train reject it). */
static uint32_t key_of(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* LSD radix sort of runs by score: 4 digits of 8 bits, stable, O(n); the
 * four histograms in one read, and a digit all keys share is skipped. */
#define RBITS 8
#define RBUCKETS (1 << RBITS)
static void radix_sort(run_t *r, size_t n) {
  size_t(*count)[RBUCKETS + 1] = ps_calloc(4, sizeof *count);
  for (size_t i = 0; i < n; i++) {
    uint32_t k = key_of(r[i].s);
    for (int d = 0; d < 4; d++) count[d][((k >> (RBITS * d)) & (RBUCKETS - 1)) + 1]++;
  }
  run_t *tmp = ps_malloc(sizeof(run_t) * (n > 0 ? n : 1));
  run_t *src = r, *dst = tmp;
  for (int d = 0; d < 4; d++) {
    size_t *c = count[d];
    int trivial = 0;
    for (int b = 0; b < RBUCKETS; b++) trivial |= c[b + 1] == n;
    if (trivial) continue;
    for (int b = 0; b < RBUCKETS; b++) c[b + 1] += c[b];
    for (size_t i = 0; i < n; i++) dst[c[(key_of(src[i].s) >> (RBITS * d)) & (RBUCKETS - 1)]++] = src[i];
    run_t *t = src;
    src = dst;
    dst = t;
  }
  if (src != r) memcpy(r, src, sizeof(run_t) * n);
  free(tmp);
  free(count);
}

/* Sort runs by score and merge equal scores; returns the new count. */
static size_t compress(run_t *r, size_t n) {
  radix_sort(r, n);
  size_t w = 0;
  for (size_t i = 0; i < n; i++) {
    if (w > 0 && r[w - 1].s == r[i].s) {
      r[w - 1].pos += r[i].pos;
      r[w - 1].neg += r[i].neg;
    } else {
      r[w++] = r[i];
    }
  }
  return w;
}

/* The P sorted lists received from the ranks, one after another in `all`
 * (their lengths in cnt), merged into one sorted list with equal scores
 * combined (P-way merge; rank order among equal keys). */
static size_t merge_runs(const run_t *all, const size_t *cnt, int P, run_t *out) {
  size_t *head = ps_malloc(sizeof(size_t) * (size_t)P), *end = ps_malloc(sizeof(size_t) * (size_t)P), at = 0, g = 0;
  for (int r = 0; r < P; r++) {
    head[r] = at;
    at += cnt[r];
    end[r] = at;
  }
  for (size_t o = 0; o < at; o++) {
    int best = -1;
    for (int r = 0; r < P; r++)
      if (head[r] < end[r] && (best < 0 || key_of(all[head[r]].s) < key_of(all[head[best]].s))) best = r;
    run_t x = all[head[best]++];
    if (g > 0 && out[g - 1].s == x.s) {
      out[g - 1].pos += x.pos;
      out[g - 1].neg += x.neg;
    } else {
      out[g++] = x;
    }
  }
  free(head);
  free(end);
  return g;
}

/* The metrics' pieces from this rank's slice of the globally sorted runs:
 * rows, positives and negatives of the slices below (lower scores) and
 * above are given, so every sum below is this slice's share. */
typedef struct {
  double P, N, n;                  /* all ranks */
  double neg_below, pos_above, neg_above, rows_above;
} context_t;

/* Every sum in fixed point (times 2^64) as a 128-bit integer: each run's
 * term is a function of the run and the counts around it alone, and integer
 * sums are exact in any order, so the metrics are the same bits for any
 * rank count, however the score ranges fall on the ranks. */
typedef __int128 fix_t;
#define FIX_ONE 18446744073709551616.0 /* 2^64 */
/* (fix_t)(x * 2^64), truncated toward zero, without the libgcc call: the
 * integer part and the exact fraction converted apart (the same value). */
static inline fix_t fix(double x) {
  if (!(fabs(x) < 4611686018427387904.0)) return (fix_t)(x * FIX_ONE); /* |x| >= 2^62, NaN */
  double h = trunc(x), s = (x - h) * FIX_ONE; /* x - h exact, same sign as x */
  fix_t v = (fix_t)(int64_t)h * ((fix_t)1 << 64);
  return s >= 0 ? v + (fix_t)(uint64_t)s : v - (fix_t)(uint64_t)(-s);
}

int64_t ps_curve_rows(int j, int64_t n) {
  return j <= 10 ? (int64_t)((__int128)j * n / 1000) : (int64_t)((__int128)(j - 9) * n / 100);
}

static void partial_sums(const run_t *r, size_t g, const context_t *c, fix_t *v, double *min_score,
                         double *curve_score) {
  /* v: [0] 2 x AUC numerator, [1] log-loss, [2] Brier, [3] AP, then lift rows[B], lift pos[B], cal n[B],
   * cal pred[B], cal obs[B], curve pos[PS_CURVE] */
  int64_t negbelow = (int64_t)c->neg_below;
  for (size_t i = 0; i < g; i++) {
    v[0] += (fix_t)r[i].pos * (fix_t)(2 * negbelow + r[i].neg) << 64; /* integers: exact */
    negbelow += r[i].neg;
    double p = fmin(fmax((double)r[i].s, DBL_EPSILON), 1.0 - DBL_EPSILON), q = r[i].s;
    /* a count of zero adds +-0 (the logs are finite): skip its log */
    double lp = r[i].pos ? r[i].pos * log(p) : 0.0, ln = r[i].neg ? r[i].neg * log1p(-p) : 0.0;
    v[1] += fix(-(lp + ln));
    v[2] += fix(r[i].pos * (1.0 - q) * (1.0 - q) + r[i].neg * q * q);
  }
  /* average precision: descending thresholds, sum (R_k - R_{k-1}) * P_k */
  double tp = c->pos_above, fp = c->neg_above, rprev = c->P > 0 ? tp / c->P : 0;
  for (size_t i = g; i-- > 0;) {
    tp += r[i].pos;
    fp += r[i].neg;
    double rec = c->P > 0 ? tp / c->P : 0;
    v[3] += fix((rec - rprev) * (tp / (tp + fp)));
    rprev = rec;
  }
  fix_t *lift_rows = v + 4, *lift_pos = lift_rows + PS_BINS, *cal_n = lift_pos + PS_BINS;
  fix_t *cal_pred = cal_n + PS_BINS, *cal_obs = cal_pred + PS_BINS;
  /* deciles by descending score; a run of tied scores that straddles a
   * decile edge gives each side its share of the run's positives */
  double at = c->rows_above, n = c->n, lo_d[PS_BINS], hi_d[PS_BINS];
  for (int d = 0; d < PS_BINS; d++) {
    lo_d[d] = floor(d * n / PS_BINS);
    hi_d[d] = floor((d + 1) * n / PS_BINS);
  }
  /* runs come in descending order, so the bins a run overlaps start at d0
   * (the first bin ending after the run's start) and are contiguous */
  int d0 = 0;
  for (size_t i = g; i-- > 0;) {
    double cnt = (double)r[i].pos + r[i].neg, end = at + cnt;
    while (d0 < PS_BINS && hi_d[d0] <= at) d0++;
    for (int d = d0; d < PS_BINS && lo_d[d] < end; d++) {
      double ov = fmin(end, hi_d[d]) - fmax(at, lo_d[d]);
      if (ov <= 0) continue;
      lift_rows[d] += fix(ov);
      lift_pos[d] += fix(r[i].pos * (ov / cnt));
      min_score[d] = r[i].s;
    }
    at = end;
  }
  /* curves: positives among the top e rows for each depth e. This slice's
   * whole runs above e add an integer (exact in fixed point in any grouping),
   * the run that e cuts adds its share: the same sums for any rank count. */
  fix_t *curve_pos = cal_obs + PS_BINS;
  int64_t n64 = (int64_t)c->n, cp = 0;
  int q = 0;
  at = c->rows_above;
  while (q < PS_CURVE && (double)ps_curve_rows(q, n64) <= at) q++;
  for (size_t i = g; i-- > 0;) {
    double cnt = (double)r[i].pos + r[i].neg, end = at + cnt;
    for (double e; q < PS_CURVE && (e = (double)ps_curve_rows(q, n64)) <= end; q++) {
      curve_pos[q] += fix((double)cp) + fix(r[i].pos * ((e - at) / cnt));
      curve_score[q] = r[i].s;
    }
    cp += r[i].pos;
    at = end;
  }
  for (; q < PS_CURVE; q++) curve_pos[q] += fix((double)cp);
  for (size_t i = 0; i < g; i++) { /* calibration bins of the predicted probability */
    int b = (int)(r[i].s * PS_BINS);
    if (b >= PS_BINS) b = PS_BINS - 1;
    if (b < 0) b = 0;
    double cnt = (double)r[i].pos + r[i].neg;
    cal_n[b] += fix(cnt);
    cal_pred[b] += fix(cnt * (double)r[i].s);
    cal_obs[b] += fix(r[i].pos);
  }
}

#define NV (4 + 5 * PS_BINS + PS_CURVE)

static void finish(const fix_t *sums, const double *min_score, const double *curve_score, const context_t *c,
                   ps_metrics_t *m) {
  double P = c->P, N = c->N, n = c->n, v[NV];
  for (int i = 0; i < NV; i++) v[i] = (double)sums[i] / FIX_ONE;
  v[0] *= 0.5; /* the AUC numerator was counted twice (half ties as whole numbers) */
  m->n = n;
  m->pos = P;
  m->auc = (P > 0 && N > 0) ? v[0] / (P * N) : NAN;
  m->logloss = n > 0 ? v[1] / n : NAN;
  m->brier = n > 0 ? v[2] / n : NAN;
  m->pr_auc = P > 0 ? v[3] : NAN;
  const double *lift_rows = v + 4, *lift_pos = lift_rows + PS_BINS, *cal_n = lift_pos + PS_BINS;
  const double *cal_pred = cal_n + PS_BINS, *cal_obs = cal_pred + PS_BINS;
  double base = n > 0 ? P / n : 0, cum = 0;
  for (int d = 0; d < PS_BINS; d++) {
    m->lift_rows[d] = lift_rows[d];
    m->lift_pos[d] = lift_pos[d];
    m->lift_min_score[d] = min_score[d];
    m->lift_rate[d] = lift_rows[d] > 0 ? lift_pos[d] / lift_rows[d] : NAN;
    m->lift[d] = base > 0 ? m->lift_rate[d] / base : NAN;
    cum += lift_pos[d];
    m->lift_gain[d] = P > 0 ? cum / P : NAN;
    m->cal_n[d] = cal_n[d];
    m->cal_pred[d] = cal_n[d] > 0 ? cal_pred[d] / cal_n[d] : NAN;
    m->cal_obs[d] = cal_n[d] > 0 ? cal_obs[d] / cal_n[d] : NAN;
  }
  const double *curve_pos = cal_obs + PS_BINS;
  for (int j = 0; j < PS_CURVE; j++) {
    m->curve_rows[j] = (double)ps_curve_rows(j, (int64_t)n);
    m->curve_pos[j] = curve_pos[j];
    m->curve_score[j] = curve_score[j];
  }
}

/* Distributed sample sort of the runs: splitters from every rank's regular
 * samples, runs sent to the rank owning their score range (ties stay
 * together), merged there. Returns this rank's slice (sorted, ties combined);
 * no rank ever holds more than its share. */
static run_t *redistribute(run_t *r, size_t m, size_t *g_out) {
  int P = ps_size;
  float *samples = ps_malloc(sizeof(float) * (size_t)P * (size_t)P), *mine = ps_malloc(sizeof(float) * (size_t)P);
  for (int q = 0; q < P; q++) mine[q] = m > 0 && q < P - 1 ? r[(size_t)(q + 1) * m / (size_t)P].s : NAN;
  comm_allgather(mine, samples, sizeof(float) * (size_t)P);
  size_t ns = 0;
  for (int i = 0; i < P * P; i++)
    if (!isnan(samples[i])) samples[ns++] = samples[i];
  /* sort the samples by key (insertion: at most P^2 of them) */
  for (size_t i = 1; i < ns; i++)
    for (size_t j = i; j > 0 && key_of(samples[j]) < key_of(samples[j - 1]); j--) {
      float t = samples[j];
      samples[j] = samples[j - 1];
      samples[j - 1] = t;
    }
  uint32_t *split = ps_malloc(sizeof(uint32_t) * (size_t)P); /* bucket q holds keys <= split[q] */
  for (int q = 0; q < P - 1; q++) split[q] = ns ? key_of(samples[(size_t)(q + 1) * ns / (size_t)P]) : UINT32_MAX;
  split[P - 1] = UINT32_MAX;
  size_t *send = ps_calloc((size_t)P, sizeof(size_t)), *recv = ps_calloc((size_t)P, sizeof(size_t));
  for (size_t i = 0, q = 0; i < m; i++) {
    while (key_of(r[i].s) > split[q]) q++;
    send[q] += sizeof(run_t);
  }
  size_t total = 0;
  run_t *got = comm_alltoallv_bytes(r, send, recv, &total);
  size_t *cnt = ps_malloc(sizeof(size_t) * (size_t)P);
  for (int q = 0; q < P; q++) cnt[q] = recv[q] / sizeof(run_t);
  run_t *out = ps_malloc(sizeof(run_t) * (total / sizeof(run_t) + 1));
  *g_out = merge_runs(got, cnt, P, out);
  free(got); free(cnt); free(send); free(recv); free(split); free(samples); free(mine);
  return out;
}

void metrics_compute(const float *p, const uint8_t *y, const uint8_t *keep, int64_t n, ps_metrics_t *m) {
  run_t *r = ps_malloc(sizeof(run_t) * (size_t)(n > 0 ? n : 1));
  size_t cnt = 0;
  for (int64_t i = 0; i < n; i++) {
    if (keep && !keep[i]) continue;
    r[cnt].s = p[i];
    r[cnt].pos = y[i] != 0;
    r[cnt].neg = y[i] == 0;
    cnt++;
  }
  cnt = compress(r, cnt);
  size_t g = cnt;
  run_t *slice = r;
  if (ps_size > 1) {
    slice = redistribute(r, cnt, &g);
    free(r);
  }
  /* where this slice sits: totals of every rank's slice, in rank (= score) order */
  double mine[3] = {0, 0, 0};
  for (size_t i = 0; i < g; i++) {
    mine[0] += slice[i].pos;
    mine[1] += slice[i].neg;
  }
  mine[2] = mine[0] + mine[1];
  double *all = ps_malloc(sizeof(double) * 3 * (size_t)ps_size);
  comm_allgather(mine, all, sizeof mine);
  context_t c = {0};
  for (int q = 0; q < ps_size; q++) {
    c.P += all[3 * q];
    c.N += all[3 * q + 1];
    if (q < ps_rank) c.neg_below += all[3 * q + 1];
    if (q > ps_rank) {
      c.pos_above += all[3 * q];
      c.neg_above += all[3 * q + 1];
      c.rows_above += all[3 * q + 2];
    }
  }
  c.n = c.P + c.N;
  free(all);
  fix_t v[NV], *all_v = ps_malloc(sizeof(fix_t) * NV * (size_t)ps_size);
  memset(v, 0, sizeof v);
  double min_score[PS_BINS];
  for (int d = 0; d < PS_BINS; d++) min_score[d] = INFINITY;
  double curve_score[PS_CURVE]; /* each depth's score is found on one rank: the max of the others' -inf */
  for (int j = 0; j < PS_CURVE; j++) curve_score[j] = -INFINITY;
  partial_sums(slice, g, &c, v, min_score, curve_score);
  free(slice);
  comm_allgather(v, all_v, sizeof v); /* integer sums: exact, the same for any rank count */
  memset(v, 0, sizeof v);
  for (int q = 0; q < ps_size; q++)
    for (int i = 0; i < NV; i++) v[i] += all_v[(size_t)q * NV + (size_t)i];
  free(all_v);
  double neg[PS_BINS]; /* the decile's lowest score: a max of negatives is a min */
  for (int d = 0; d < PS_BINS; d++) neg[d] = -min_score[d];
  comm_allreduce_max_f64(neg, PS_BINS);
  for (int d = 0; d < PS_BINS; d++) min_score[d] = isinf(neg[d]) ? NAN : -neg[d];
  comm_allreduce_max_f64(curve_score, PS_CURVE);
  for (int j = 0; j < PS_CURVE; j++)
    if (isinf(curve_score[j])) curve_score[j] = NAN;
  memset(m, 0, sizeof *m);
  finish(v, min_score, curve_score, &c, m);
}
