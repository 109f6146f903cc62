/* metrics.c: ROC-AUC (ties count one half), average precision (as
 * scikit-learn's average_precision_score), log-loss (probabilities clipped
 * to [eps, 1-eps], eps = DBL_EPSILON), Brier score, decile lift and
 * calibration tables; see metrics.h for how ranks combine. */
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

/* LSD radix sort of runs by score: 4 passes of 8 bits, stable, O(n). */
static void radix_sort(run_t *r, size_t n) {
  run_t *tmp = ps_malloc(sizeof(run_t) * (n > 0 ? n : 1));
  run_t *src = r, *dst = tmp;
  for (int shift = 0; shift < 32; shift += 8) {
    size_t count[257] = {0};
    for (size_t i = 0; i < n; i++) count[((key_of(src[i].s) >> shift) & 0xff) + 1]++;
    for (int b = 0; b < 256; b++) count[b + 1] += count[b];
    for (size_t i = 0; i < n; i++) dst[count[(key_of(src[i].s) >> shift) & 0xff]++] = src[i];
    run_t *t = src;
    src = dst;
    dst = t;
  }
  /* four passes: the result is back in r */
  free(tmp);
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

/* Rank 0: the P sorted lists, one after another in `all`, merged into one
 * sorted list (P-way merge, rank order among equal scores); the radix sort
 * when P is large. Returns `all` itself when P = 1. */
static run_t *merge_sorted(run_t *all, const size_t *bytes, size_t n) {
  if (ps_size == 1) return all;
  if (ps_size > 16) {
    radix_sort(all, n);
    return all;
  }
  size_t head[16], end[16], at = 0;
  for (int r = 0; r < ps_size; r++) {
    head[r] = at;
    at += bytes[r] / sizeof(run_t);
    end[r] = at;
  }
  run_t *out = ps_malloc(sizeof(run_t) * (n > 0 ? n : 1));
  for (size_t o = 0; o < n; o++) {
    int best = -1;
    for (int r = 0; r < ps_size; r++)
      if (head[r] < end[r] && (best < 0 || key_of(all[head[r]].s) < key_of(all[head[best]].s))) best = r;
    out[o] = all[head[best]++];
  }
  return out;
}

static void from_runs(const run_t *r, size_t g, ps_metrics_t *m) {
  double P = 0, N = 0;
  for (size_t i = 0; i < g; i++) { P += r[i].pos; N += r[i].neg; }
  double n = P + N;
  m->n = n;
  m->pos = P;
  /* ROC-AUC: ascending, count negatives below each run. */
  double negbelow = 0, auc = 0, ll = 0, brier = 0;
  for (size_t i = 0; i < g; i++) {
    auc += r[i].pos * (negbelow + 0.5 * r[i].neg);
    negbelow += r[i].neg;
    double p = fmin(fmax((double)r[i].s, DBL_EPSILON), 1.0 - DBL_EPSILON), q = r[i].s;
    ll += -(r[i].pos * log(p) + r[i].neg * log1p(-p));
    brier += r[i].pos * (1.0 - q) * (1.0 - q) + r[i].neg * q * q;
  }
  m->auc = (P > 0 && N > 0) ? auc / (P * N) : NAN;
  m->logloss = n > 0 ? ll / n : NAN;
  m->brier = n > 0 ? brier / n : NAN;
  /* Average precision: descending thresholds, sum (R_k - R_{k-1}) * P_k. */
  double tp = 0, fp = 0, ap = 0, rprev = 0;
  for (size_t i = g; i-- > 0;) {
    tp += r[i].pos;
    fp += r[i].neg;
    double rec = P > 0 ? tp / P : 0;
    ap += (rec - rprev) * (tp / (tp + fp));
    rprev = rec;
  }
  m->pr_auc = P > 0 ? ap : NAN;
  /* Deciles by descending score; a run of tied scores that straddles a
   * decile edge gives each side its share of the run's positives. */
  memset(m->lift_rows, 0, sizeof m->lift_rows);
  memset(m->lift_pos, 0, sizeof m->lift_pos);
  for (int d = 0; d < PS_BINS; d++) m->lift_min_score[d] = NAN;
  double at = 0;
  for (size_t i = g; i-- > 0;) {
    double cnt = (double)r[i].pos + r[i].neg, end = at + cnt;
    for (int d = 0; d < PS_BINS; d++) {
      double lo = floor(d * n / PS_BINS), hi = floor((d + 1) * n / PS_BINS);
      double ov = fmin(end, hi) - fmax(at, lo);
      if (ov <= 0) continue;
      m->lift_rows[d] += ov;
      m->lift_pos[d] += r[i].pos * (ov / cnt);
      m->lift_min_score[d] = r[i].s;
    }
    at = end;
  }
  double base = n > 0 ? P / n : 0, cum = 0;
  for (int d = 0; d < PS_BINS; d++) {
    m->lift_rate[d] = m->lift_rows[d] > 0 ? m->lift_pos[d] / m->lift_rows[d] : NAN;
    m->lift[d] = base > 0 ? m->lift_rate[d] / base : NAN;
    cum += m->lift_pos[d];
    m->lift_gain[d] = P > 0 ? cum / P : NAN;
  }
  /* Calibration bins of the predicted probability. */
  double cp[PS_BINS] = {0}, cy[PS_BINS] = {0};
  memset(m->cal_n, 0, sizeof m->cal_n);
  for (size_t i = 0; i < g; i++) {
    int b = (int)(r[i].s * PS_BINS);
    if (b >= PS_BINS) b = PS_BINS - 1;
    if (b < 0) b = 0;
    double cnt = (double)r[i].pos + r[i].neg;
    m->cal_n[b] += cnt;
    cp[b] += cnt * (double)r[i].s;
    cy[b] += r[i].pos;
  }
  for (int b = 0; b < PS_BINS; b++) {
    m->cal_pred[b] = m->cal_n[b] > 0 ? cp[b] / m->cal_n[b] : NAN;
    m->cal_obs[b] = m->cal_n[b] > 0 ? cy[b] / m->cal_n[b] : NAN;
  }
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
  size_t total = 0, *sizes = ps_malloc(sizeof(size_t) * (size_t)ps_size);
  run_t *all = comm_gatherv_bytes(r, cnt * sizeof(run_t), &total, sizes);
  free(r);
  memset(m, 0, sizeof *m);
  if (ps_rank == 0) {
    run_t *merged = merge_sorted(all, sizes, total / sizeof(run_t));
    size_t g = 0;
    for (size_t i = 0; i < total / sizeof(run_t); i++) { /* tied scores of different ranks: one run */
      if (g > 0 && merged[g - 1].s == merged[i].s) {
        merged[g - 1].pos += merged[i].pos;
        merged[g - 1].neg += merged[i].neg;
      } else {
        merged[g++] = merged[i];
      }
    }
    from_runs(merged, g, m);
    if (merged != all) free(merged);
    free(all);
  }
  free(sizes);
  comm_bcast(m, sizeof *m, 0);
}
