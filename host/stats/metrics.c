/* metrics.c: ROC-AUC (ties count one half), average precision (as
 * scikit-learn's average_precision_score), log-loss (probabilities clipped
 * to [eps, 1-eps], eps = DBL_EPSILON), Brier score, decile lift and
 * calibration tables and the curves' points, exact, over rows spread across
 * ranks (see metrics.h):
 * a distributed sample sort puts every score range on one rank (each row's
 * 4-byte key: its score's bits and its label, sent before any sort), each
 * rank radix-sorts its range, reads it as runs of equal scores, adds its
 * range's share, and the shares are summed -- no rank gathers the rows.
 * The key buffers are kept between calls (train asks for 2 x heads metrics
 * in a row; fresh pages cost more than the work) until metrics_release(). */
#include "stats/metrics.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"

/* A row's key: a score in [0, 1] has float bits 0 .. 0x3F800000, which
 * order like the scores (-0 is taken as +0); shifted up one with the label
 * as the lowest bit, keys order by score, then negatives before positives. */
static inline uint32_t key_of(float p, uint8_t y) {
  uint32_t u;
  memcpy(&u, &p, sizeof u);
  return (u & 0x7FFFFFFFu) << 1 | (y != 0);
}

/* The score of a key (of key >> 1, the score's bits). */
static inline float score_of(uint32_t s) {
  float f;
  memcpy(&f, &s, sizeof f);
  return f;
}

/* LSD radix sort of keys: 3 digits of 11, 11 and 10 bits, O(n), the
 * histograms in one read, and a digit all keys share is skipped; tmp holds
 * n keys. Returns where the sorted keys are (k or tmp). */
#define RBITS 11
#define RBUCKETS (1 << RBITS)
static uint32_t *radix_sort(uint32_t *k, uint32_t *tmp, size_t n, size_t *odd) {
  size_t(*count)[RBUCKETS + 1] = ps_calloc(3, sizeof *count);
  for (size_t i = 0; i < n; i++) {
    uint32_t x = k[i];
    count[0][(x & (RBUCKETS - 1)) + 1]++;
    count[1][((x >> RBITS) & (RBUCKETS - 1)) + 1]++;
    count[2][(x >> (2 * RBITS)) + 1]++;
  }
  *odd = 0; /* keys with the lowest bit set: positives */
  for (int b = 1; b < RBUCKETS; b += 2) *odd += count[0][b + 1];
  uint32_t *src = k, *dst = tmp;
  for (int d = 0; d < 3; d++) {
    size_t *c = count[d];
    int trivial = 0;
    for (int b = 0; b < RBUCKETS; b++) trivial |= c[b + 1] == n;
    if (trivial) continue;
    for (int b = 0; b < RBUCKETS; b++) c[b + 1] += c[b];
    int sh = RBITS * d;
    for (size_t i = 0; i < n; i++) {
      uint32_t x = src[i];
      dst[c[(x >> sh) & (RBUCKETS - 1)]++] = x;
    }
    uint32_t *t = src;
    src = dst;
    dst = t;
  }
  free(count);
  return src;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* Buffers kept between calls: [0] the keys to send and the sort's spare,
 * [1] keys made from a const score array, [2] received keys that overflow
 * the key buffer. [0] and [2] may be memory a caller lent (metrics_lend). */
static struct {
  uint32_t *buf[3];
  size_t cap[3];
  uint32_t *lent;
  size_t lent_cap;
} ws;

static uint32_t *ws_get(int i, size_t n) {
  size_t half = ws.lent_cap / 2; /* [0] in the first half, [2] in the second */
  if (i != 1 && ws.lent && half >= n) return ws.lent + (i ? half : 0);
  if (ws.cap[i] < n || !ws.buf[i]) {
    free(ws.buf[i]);
    ws.cap[i] = n + n / 8 + 1024; /* the next call's split may differ a little */
    ws.buf[i] = ps_malloc(sizeof(uint32_t) * ws.cap[i]);
  }
  return ws.buf[i];
}

void metrics_lend(void *mem, size_t bytes) {
  ws.lent = mem;
  ws.lent_cap = mem ? bytes / sizeof(uint32_t) : 0;
}

void metrics_release(void) {
  for (int i = 0; i < 3; i++) free(ws.buf[i]);
  memset(&ws, 0, sizeof ws);
}

/* Distributed sample sort of the keys, before any local sort: splitters
 * (scores) from every rank's regular sample, each key sent (4 bytes) to the
 * rank owning its score range, equal scores together. Returns this rank's
 * range (in key[] if it fits its cap keys, else in a kept buffer) and its
 * size; no rank ever holds more than its share. */
#define SAMPLES 256
/* The rank that takes score bits s: the first q with s <= split[q] (the
 * count of splitters below s; without branches for a few ranks, scores
 * being random against them). */
static inline int rank_of(uint32_t s, const uint32_t *split, int P) {
  if (P <= 16) {
    int q = 0;
    for (int i = 0; i < P - 1; i++) q += s > split[i];
    return q;
  }
  int lo = 0, hi = P - 1;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (s <= split[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

static uint32_t *exchange_keys(uint32_t *key, size_t m, size_t cap, size_t *m_out) {
  int P = ps_size;
  uint32_t mine[SAMPLES], *samples = ps_malloc(sizeof(uint32_t) * SAMPLES * (size_t)P);
  for (size_t i = 0; i < SAMPLES; i++) mine[i] = m > 0 ? key[(2 * i + 1) * m / (2 * SAMPLES)] >> 1 : UINT32_MAX;
  comm_allgather(mine, samples, sizeof mine);
  size_t ns = 0;
  for (size_t i = 0; i < SAMPLES * (size_t)P; i++)
    if (samples[i] != UINT32_MAX) samples[ns++] = samples[i];
  qsort(samples, ns, sizeof(uint32_t), cmp_u32);
  uint32_t *split = ps_malloc(sizeof(uint32_t) * (size_t)P); /* rank q takes scores <= split[q] */
  for (int q = 0; q < P - 1; q++) split[q] = ns ? samples[(size_t)(q + 1) * ns / (size_t)P] : UINT32_MAX;
  split[P - 1] = UINT32_MAX;
  free(samples);
  size_t *cnt = ps_calloc((size_t)P, sizeof(size_t)), *at = ps_malloc(sizeof(size_t) * (size_t)P);
  for (size_t i = 0; i < m; i++) cnt[rank_of(key[i] >> 1, split, P)]++;
  uint32_t *send = ws_get(0, m);
  at[0] = 0;
  for (int q = 1; q < P; q++) at[q] = at[q - 1] + cnt[q - 1];
  for (size_t i = 0; i < m; i++) send[at[rank_of(key[i] >> 1, split, P)]++] = key[i];
  free(split);
  size_t *bytes = ps_malloc(sizeof(size_t) * (size_t)P), *recv = ps_malloc(sizeof(size_t) * (size_t)P);
  for (int q = 0; q < P; q++) bytes[q] = cnt[q] * sizeof(uint32_t);
  size_t total = comm_alltoall_sizes(bytes, recv);
  size_t r = total / sizeof(uint32_t);
  uint32_t *got = r <= cap ? key : ws_get(2, r); /* the keys are in send now: their buffer is free */
  comm_alltoallv_bytes_into(send, bytes, recv, got);
  *m_out = r;
  free(cnt);
  free(at);
  free(bytes);
  free(recv);
  return got;
}

/* The metrics' pieces from this rank's slice of the globally sorted runs:
 * rows, positives and negatives of the slices below (lower scores) and
 * above are given, so every sum below is this slice's share. */
typedef struct {
  double P, N, n;                  /* all ranks */
  double neg_below, pos_above, neg_above, rows_above;
  double slice_neg; /* this slice's negatives */
} context_t;

/* Every sum in fixed point (times 2^64) as a 128-bit integer: each run's
 * term is a function of the run and the counts around it alone, and integer
 * sums are exact in any order, so the metrics are the same bits for any
 * rank count, however the score ranges fall on the ranks. */
typedef __int128 fix_t;
#define FIX_ONE 18446744073709551616.0 /* 2^64 */
/* (fix_t)(x * 2^64), truncated toward zero, without the libgcc call: from
 * the double's bits, |x| * 2^64 = m * 2^(e - 1011) with m the 53-bit
 * significand, shifted as an integer (a right shift truncates toward zero),
 * then signed: the same value as the conversion. */
static inline fix_t fix(double x) {
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  int e = (int)((u >> 52) & 0x7FF);
  if (e >= 1023 + 62) return (fix_t)(x * FIX_ONE); /* |x| >= 2^62, Inf, NaN */
  uint64_t m = u & 0x000FFFFFFFFFFFFFull;
  if (e) m |= 0x0010000000000000ull; /* normal: the implicit bit */
  else e = 1;                        /* subnormal */
  int sh = e - 1011;
  unsigned __int128 a = sh >= 0 ? (unsigned __int128)m << sh : sh > -64 ? (unsigned __int128)(m >> -sh) : 0;
  return (u >> 63) ? -(fix_t)a : (fix_t)a;
}

int64_t ps_curve_rows(int j, int64_t n) {
  return j <= 10 ? (int64_t)((__int128)j * n / 1000) : (int64_t)((__int128)(j - 9) * n / 100);
}

/* fmax/fmin for a non-NaN b and any a (NaN a gives b, as fmax/fmin do):
 * the same values without the library calls. */
static inline double max_nn(double a, double b) { return a > b ? a : b; }
static inline double min_nn(double a, double b) { return a < b ? a : b; }

/* partial_sums' running sums (the integer ones are added to v at the end)
 * and where its walk down the runs is. */
typedef struct {
  fix_t auc, ll, br, ap;
  int64_t negbelow; /* AUC: negatives below the run (all ranks) */
  int64_t cal_ni[PS_BINS], cal_oi[PS_BINS], lrows[PS_BINS], lpos[PS_BINS], cp;
  double tp, fp, rprev;                   /* average precision */
  double at, lo_d[PS_BINS], hi_d[PS_BINS]; /* rows above the run; the deciles' edges */
  double depth[PS_CURVE + 1];             /* the curves' depths, then INFINITY */
  int d0, q;                              /* the first decile and depth not yet passed */
} sums_t;

static void sums_begin(const context_t *c, sums_t *s) {
  memset(s, 0, sizeof *s);
  /* AUC: negatives below each run (all ranks), counted down from the slice's top */
  s->negbelow = (int64_t)c->neg_below + (int64_t)c->slice_neg;
  /* average precision: descending thresholds, sum (R_k - R_{k-1}) * P_k;
   * a run without positives adds (R - R) * P = 0 */
  s->tp = c->pos_above, s->fp = c->neg_above, s->rprev = c->P > 0 ? s->tp / c->P : 0;
  /* deciles by descending score; a run of tied scores that straddles a
   * decile edge gives each side its share of the run's positives */
  double n = c->n;
  s->at = c->rows_above;
  for (int d = 0; d < PS_BINS; d++) {
    s->lo_d[d] = floor(d * n / PS_BINS);
    s->hi_d[d] = floor((d + 1) * n / PS_BINS);
  }
  /* curves: positives among the top e rows for each depth e. This slice's
   * whole runs above e add an integer (exact in fixed point in any grouping),
   * the run that e cuts adds its share: the same sums for any rank count. */
  int64_t n64 = (int64_t)c->n;
  for (int j = 0; j < PS_CURVE; j++) s->depth[j] = (double)ps_curve_rows(j, n64);
  s->depth[PS_CURVE] = INFINITY;
  while (s->q < PS_CURVE && s->depth[s->q] <= s->at) s->q++;
}

/* A run's rows in the deciles and the curves' depths it reaches. */
static void sums_depths(sums_t *s, fix_t *v, float sf, uint32_t pos, double cnt, double *min_score,
                        double *curve_score) {
  fix_t *lift_rows = v + 4, *lift_pos = lift_rows + PS_BINS, *curve_pos = lift_pos + 4 * PS_BINS;
  double at = s->at, end = at + cnt;
  /* runs come in descending order, so the bins a run overlaps start at d0
   * (the first bin ending after the run's start) and are contiguous */
  while (s->d0 < PS_BINS && s->hi_d[s->d0] <= at) s->d0++;
  int d0 = s->d0;
  if (d0 < PS_BINS && s->lo_d[d0] <= at && end <= s->hi_d[d0]) { /* the whole run in bin d0: integers */
    s->lrows[d0] += (int64_t)cnt;
    s->lpos[d0] += pos;
    min_score[d0] = sf;
  } else {
    for (int d = d0; d < PS_BINS && s->lo_d[d] < end; d++) {
      double ov = min_nn(end, s->hi_d[d]) - max_nn(at, s->lo_d[d]);
      if (ov <= 0) continue;
      lift_rows[d] += fix(ov);
      lift_pos[d] += fix(pos * (ov / cnt));
      min_score[d] = sf;
    }
  }
  for (double e; (e = s->depth[s->q]) <= end; s->q++) {
    curve_pos[s->q] += fix((double)s->cp) + fix(pos * ((e - at) / cnt));
    curve_score[s->q] = sf;
  }
  s->cp += pos;
  s->at = end;
}

/* A run of pos positives and neg negatives at score sf: its terms. */
static void sums_run(sums_t *s, const context_t *c, fix_t *v, float sf, uint32_t pos, uint32_t neg,
                     double *min_score, double *curve_score) {
  fix_t *cal_pred = v + 4 + 3 * PS_BINS;
  s->negbelow -= neg;
  s->auc += (fix_t)pos * (fix_t)(2 * s->negbelow + neg); /* integers: exact */
  double qd = sf, p = min_nn(!(qd >= DBL_EPSILON) ? DBL_EPSILON : qd, 1.0 - DBL_EPSILON);
  /* a count of zero adds +-0 (the logs are finite): skip its log */
  double lp = pos ? pos * log(p) : 0.0, ln = neg ? neg * log1p(-p) : 0.0;
  s->ll += fix(-(lp + ln));
  s->br += fix(pos * (1.0 - qd) * (1.0 - qd) + neg * qd * qd);
  /* calibration bins of the predicted probability */
  int b = (int)(sf * PS_BINS);
  if (b >= PS_BINS) b = PS_BINS - 1;
  if (b < 0) b = 0;
  double cnt = (double)pos + neg;
  s->cal_ni[b] += (int64_t)pos + neg;
  cal_pred[b] += fix(cnt * (double)sf);
  s->cal_oi[b] += pos;
  s->tp += pos;
  s->fp += neg;
  if (pos) {
    double rec = c->P > 0 ? s->tp / c->P : 0;
    s->ap += fix((rec - s->rprev) * (s->tp / (s->tp + s->fp)));
    s->rprev = rec;
  }
  sums_depths(s, v, sf, pos, cnt, min_score, curve_score);
}

static void partial_sums(const uint32_t *key, size_t m, const context_t *c, fix_t *v, double *min_score,
                         double *curve_score) {
  /* v: [0] 2 x AUC numerator, [1] log-loss, [2] Brier, [3] AP, then lift rows[B], lift pos[B], cal n[B],
   * cal pred[B], cal obs[B], curve pos[PS_CURVE].
   * One pass over the runs, by descending score. A term that is an integer
   * is added as an integer (fix() of an integer is that integer times 2^64
   * exactly), and fixed-point sums are exact in any order: the same bits as
   * one pass a sum. */
  fix_t *lift_rows = v + 4, *lift_pos = lift_rows + PS_BINS, *cal_n = lift_pos + PS_BINS;
  fix_t *cal_pred = cal_n + PS_BINS, *cal_obs = cal_pred + PS_BINS, *curve_pos = cal_obs + PS_BINS;
  sums_t s;
  sums_begin(c, &s);
  /* the runs, by descending score: keys of one score are adjacent */
  size_t i = m;
  while (i > 0) {
    uint32_t sb = key[i - 1] >> 1, pos = 0, cnt1 = 0;
    do {
      pos += key[--i] & 1;
      cnt1++;
    } while (i > 0 && key[i - 1] >> 1 == sb);
    sums_run(&s, c, v, score_of(sb), pos, cnt1 - pos, min_score, curve_score);
  }
  for (; s.q < PS_CURVE; s.q++) curve_pos[s.q] += fix((double)s.cp);
  v[0] += s.auc << 64;
  v[1] += s.ll;
  v[2] += s.br;
  v[3] += s.ap;
  for (int d = 0; d < PS_BINS; d++) {
    cal_n[d] += (fix_t)s.cal_ni[d] << 64;
    cal_obs[d] += (fix_t)s.cal_oi[d] << 64;
    lift_rows[d] += (fix_t)s.lrows[d] << 64;
    lift_pos[d] += (fix_t)s.lpos[d] << 64;
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
  m->ece = n > 0 ? 0 : NAN;
  for (int d = 0; d < PS_BINS && n > 0; d++) m->ece += fabs(cal_obs[d] - cal_pred[d]) / n;
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

/* Refuses NaN and scores outside [0, 1] (every rank dies with one line). */
static void check_scores(const float *p, const uint8_t *keep, int64_t n) {
  /* A NaN score has no place in the order: eval refuses NaN scores when it
   * reads them; here it is a model's own prediction overflowing (e.g. rows
   * far outside the training range). */
  int64_t bad[2] = {0, 0}; /* NaN, outside [0, 1] */
  for (int64_t i = 0; i < n; i++)
    if (!keep || keep[i]) {
      bad[0] += isnan(p[i]);
      bad[1] += !(p[i] >= 0.0f && p[i] <= 1.0f);
    }
  comm_allreduce_sum_i64(bad, 2);
  if (bad[0])
    ps_die_all(PS_EXIT_ERROR,
               "metrics: %lld of the model's predictions are NaN (its logits overflow on rows far outside the "
               "training data's range): no exact metric is defined; check the features of those rows",
               (long long)bad[0]);
  if (bad[1])
    ps_die_all(PS_EXIT_ERROR, "metrics: scores outside [0, 1] (%lld of them): not probabilities", (long long)bad[1]);
}

/* The kept rows' keys into out (which may be p's own memory: key i is
 * written after score i is read, through memcpy, so the float and integer
 * views never alias); returns their count. */
static size_t make_keys(const float *p, const uint8_t *y, const uint8_t *keep, int64_t n, void *out) {
  size_t m = 0;
  for (int64_t i = 0; i < n; i++) {
    float f;
    memcpy(&f, (const char *)p + sizeof(float) * (size_t)i, sizeof f);
    uint32_t k = key_of(f, y[i]);
    memcpy((char *)out + sizeof(uint32_t) * m, &k, sizeof k);
    m += !keep || keep[i];
  }
  return m;
}

/* The metrics of the m keys at key[] (room for cap keys). */
static void metrics_of_keys(uint32_t *key, size_t m, size_t cap, ps_metrics_t *mt) {
  if (ps_size > 1) key = exchange_keys(key, m, cap, &m);
  size_t npos;
  uint32_t *sorted = radix_sort(key, ws_get(0, m), m, &npos);
  double mine[3] = {(double)npos, (double)(m - npos), (double)m}; /* the slice's positives, negatives, rows */
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
  c.slice_neg = mine[1];
  free(all);
  fix_t v[NV], *all_v = ps_malloc(sizeof(fix_t) * NV * (size_t)ps_size);
  memset(v, 0, sizeof v);
  double min_score[PS_BINS];
  for (int d = 0; d < PS_BINS; d++) min_score[d] = INFINITY;
  double curve_score[PS_CURVE]; /* each depth's score is found on one rank: the max of the others' -inf */
  for (int j = 0; j < PS_CURVE; j++) curve_score[j] = -INFINITY;
  partial_sums(sorted, m, &c, v, min_score, curve_score);
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
  memset(mt, 0, sizeof *mt);
  finish(v, min_score, curve_score, &c, mt);
}

void metrics_compute(const float *p, const uint8_t *y, const uint8_t *keep, int64_t n, ps_metrics_t *mt) {
  check_scores(p, keep, n);
  size_t nn = (size_t)(n > 0 ? n : 0);
  uint32_t *key = ws_get(1, nn);
  size_t m = make_keys(p, y, keep, n, key);
  metrics_of_keys(key, m, ws.cap[1], mt);
}

void metrics_compute_in(float *p, const uint8_t *y, const uint8_t *keep, int64_t n, ps_metrics_t *mt) {
  check_scores(p, keep, n);
  size_t nn = (size_t)(n > 0 ? n : 0);
  size_t m = make_keys(p, y, keep, n, p);
  metrics_of_keys((uint32_t *)(void *)p, m, nn, mt);
}
