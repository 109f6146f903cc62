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

/* The float of a key (key_of's inverse). */
static inline float float_of(uint32_t k) {
  uint32_t u = (k & 0x80000000u) ? (k & 0x7FFFFFFFu) : ~k;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* LSD radix sort of keys: 4 digits of 8 bits, O(n), the four histograms
 * in one read, and a digit all keys share is skipped; tmp holds n keys.
 * Returns where the sorted keys are (k or tmp). */
#define RBITS 8
#define RBUCKETS (1 << RBITS)
static uint32_t *radix_sort(uint32_t *k, uint32_t *tmp, size_t n) {
  size_t count[4][RBUCKETS + 1];
  memset(count, 0, sizeof count);
  for (size_t i = 0; i < n; i++) {
    uint32_t x = k[i];
    count[0][(x & 255) + 1]++;
    count[1][((x >> 8) & 255) + 1]++;
    count[2][((x >> 16) & 255) + 1]++;
    count[3][(x >> 24) + 1]++;
  }
  uint32_t *src = k, *dst = tmp;
  for (int d = 0; d < 4; d++) {
    size_t *c = count[d];
    int trivial = 0;
    for (int b = 0; b < RBUCKETS; b++) trivial |= c[b + 1] == n;
    if (trivial) continue;
    for (int b = 0; b < RBUCKETS; b++) c[b + 1] += c[b];
    int sh = RBITS * d;
    for (size_t i = 0; i < n; i++) {
      uint32_t x = src[i];
      dst[c[(x >> sh) & 255]++] = x;
    }
    uint32_t *t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/* The runs of the rows in keep (all if NULL): scores sorted, equal scores
 * combined (the first in key order gives the run its score: -0 before +0),
 * each with its positives and negatives. Positives' and negatives' keys are
 * sorted apart (4 bytes a row) and merged. Returns the run count. */
static size_t sorted_runs(const float *p, const uint8_t *y, const uint8_t *keep, int64_t n, run_t *r) {
  size_t nn = (size_t)(n > 0 ? n : 1), np = 0, nq = 0;
  uint32_t *k = ps_malloc(sizeof(uint32_t) * nn), *tmp = ps_malloc(sizeof(uint32_t) * nn);
  for (int64_t i = 0; i < n; i++) /* positives from the front, negatives from the back */
    if (!keep || keep[i]) {
      if (y[i]) k[np++] = key_of(p[i]);
      else k[nn - 1 - nq++] = key_of(p[i]);
    }
  uint32_t *kp = radix_sort(k, tmp, np);
  uint32_t *kn = radix_sort(k + nn - nq, tmp + nn - nq, nq);
  size_t i = 0, j = 0, g = 0;
  while (i < np || j < nq) {
    uint32_t x;
    int pos;
    if (j >= nq || (i < np && kp[i] <= kn[j])) {
      x = kp[i++];
      pos = 1;
    } else {
      x = kn[j++];
      pos = 0;
    }
    float s = float_of(x);
    if (g > 0 && r[g - 1].s == s) {
      r[g - 1].pos += pos;
      r[g - 1].neg += !pos;
    } else {
      r[g].s = s;
      r[g].pos = pos;
      r[g].neg = !pos;
      g++;
    }
  }
  free(k);
  free(tmp);
  return g;
}

/* The P sorted lists received from the ranks, one after another in `all`
 * (their lengths in cnt), merged into one sorted list with equal scores
 * combined (P-way merge; rank order among equal keys). */
/* Appends x to the merged list out[0..g), combining equal scores. */
static inline size_t push_run(run_t *out, size_t g, run_t x) {
  if (g > 0 && out[g - 1].s == x.s) {
    out[g - 1].pos += x.pos;
    out[g - 1].neg += x.neg;
    return g;
  }
  out[g] = x;
  return g + 1;
}

/* merge_runs for two lists: the same order (the first list's run first
 * among equal keys) and the same result. */
static size_t merge_two(const run_t *a, size_t na, const run_t *b, size_t nb, run_t *out) {
  size_t i = 0, j = 0, g = 0;
  while (i < na && j < nb) {
    if (key_of(b[j].s) < key_of(a[i].s)) g = push_run(out, g, b[j++]);
    else g = push_run(out, g, a[i++]);
  }
  while (i < na) g = push_run(out, g, a[i++]);
  while (j < nb) g = push_run(out, g, b[j++]);
  return g;
}

static size_t merge_runs(const run_t *all, const size_t *cnt, int P, run_t *out) {
  if (P == 2) return merge_two(all, cnt[0], all + cnt[0], cnt[1], out);
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

/* fmax/fmin for a non-NaN b and any a (NaN a gives b, as fmax/fmin do):
 * the same values without the library calls. */
static inline double max_nn(double a, double b) { return a > b ? a : b; }
static inline double min_nn(double a, double b) { return a < b ? a : b; }

static void partial_sums(const run_t *r, size_t g, const context_t *c, fix_t *v, double *min_score,
                         double *curve_score) {
  /* v: [0] 2 x AUC numerator, [1] log-loss, [2] Brier, [3] AP, then lift rows[B], lift pos[B], cal n[B],
   * cal pred[B], cal obs[B], curve pos[PS_CURVE].
   * A term that is an integer is added as an integer (fix() of an integer
   * is that integer times 2^64 exactly, so the sums are the same bits). */
  fix_t *lift_rows = v + 4, *lift_pos = lift_rows + PS_BINS, *cal_n = lift_pos + PS_BINS;
  fix_t *cal_pred = cal_n + PS_BINS, *cal_obs = cal_pred + PS_BINS;
  int64_t negbelow = (int64_t)c->neg_below, cal_ni[PS_BINS] = {0}, cal_oi[PS_BINS] = {0};
  fix_t auc = 0, ll = 0, br = 0;
  for (size_t i = 0; i < g; i++) {
    auc += (fix_t)r[i].pos * (fix_t)(2 * negbelow + r[i].neg); /* integers: exact */
    negbelow += r[i].neg;
    double q = r[i].s, p = min_nn(!(q >= DBL_EPSILON) ? DBL_EPSILON : q, 1.0 - DBL_EPSILON);
    /* a count of zero adds +-0 (the logs are finite): skip its log */
    double lp = r[i].pos ? r[i].pos * log(p) : 0.0, ln = r[i].neg ? r[i].neg * log1p(-p) : 0.0;
    ll += fix(-(lp + ln));
    br += fix(r[i].pos * (1.0 - q) * (1.0 - q) + r[i].neg * q * q);
    /* calibration bins of the predicted probability */
    int b = (int)(r[i].s * PS_BINS);
    if (b >= PS_BINS) b = PS_BINS - 1;
    if (b < 0) b = 0;
    double cnt = (double)r[i].pos + r[i].neg;
    cal_ni[b] += (int64_t)r[i].pos + r[i].neg;
    cal_pred[b] += fix(cnt * (double)r[i].s);
    cal_oi[b] += r[i].pos;
  }
  v[0] += auc << 64;
  v[1] += ll;
  v[2] += br;
  for (int d = 0; d < PS_BINS; d++) {
    cal_n[d] += (fix_t)cal_ni[d] << 64;
    cal_obs[d] += (fix_t)cal_oi[d] << 64;
  }
  /* average precision: descending thresholds, sum (R_k - R_{k-1}) * P_k;
   * a run without positives adds (R - R) * P = 0 */
  double tp = c->pos_above, fp = c->neg_above, rprev = c->P > 0 ? tp / c->P : 0;
  fix_t ap = 0;
  for (size_t i = g; i-- > 0;) {
    tp += r[i].pos;
    fp += r[i].neg;
    if (!r[i].pos) continue;
    double rec = c->P > 0 ? tp / c->P : 0;
    ap += fix((rec - rprev) * (tp / (tp + fp)));
    rprev = rec;
  }
  v[3] += ap;
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
  int64_t lrows[PS_BINS] = {0}, lpos[PS_BINS] = {0};
  for (size_t i = g; i-- > 0;) {
    double cnt = (double)r[i].pos + r[i].neg, end = at + cnt;
    while (d0 < PS_BINS && hi_d[d0] <= at) d0++;
    if (d0 < PS_BINS && lo_d[d0] <= at && end <= hi_d[d0]) { /* the whole run in bin d0: integers */
      if (cnt > 0) {
        lrows[d0] += (int64_t)cnt;
        lpos[d0] += r[i].pos;
        min_score[d0] = r[i].s;
      }
      at = end;
      continue;
    }
    for (int d = d0; d < PS_BINS && lo_d[d] < end; d++) {
      double ov = min_nn(end, hi_d[d]) - max_nn(at, lo_d[d]);
      if (ov <= 0) continue;
      lift_rows[d] += fix(ov);
      lift_pos[d] += fix(r[i].pos * (ov / cnt));
      min_score[d] = r[i].s;
    }
    at = end;
  }
  for (int d = 0; d < PS_BINS; d++) {
    lift_rows[d] += (fix_t)lrows[d] << 64;
    lift_pos[d] += (fix_t)lpos[d] << 64;
  }
  /* curves: positives among the top e rows for each depth e. This slice's
   * whole runs above e add an integer (exact in fixed point in any grouping),
   * the run that e cuts adds its share: the same sums for any rank count. */
  fix_t *curve_pos = cal_obs + PS_BINS;
  int64_t n64 = (int64_t)c->n, cp = 0;
  double depth[PS_CURVE + 1];
  for (int j = 0; j < PS_CURVE; j++) depth[j] = (double)ps_curve_rows(j, n64);
  depth[PS_CURVE] = INFINITY;
  int q = 0;
  at = c->rows_above;
  while (q < PS_CURVE && depth[q] <= at) q++;
  for (size_t i = g; i-- > 0;) {
    double cnt = (double)r[i].pos + r[i].neg, end = at + cnt;
    for (double e; (e = depth[q]) <= end; q++) {
      curve_pos[q] += fix((double)cp) + fix(r[i].pos * ((e - at) / cnt));
      curve_score[q] = r[i].s;
    }
    cp += r[i].pos;
    at = end;
  }
  for (; q < PS_CURVE; q++) curve_pos[q] += fix((double)cp);
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
  size_t cnt = sorted_runs(p, y, keep, n, r);
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
