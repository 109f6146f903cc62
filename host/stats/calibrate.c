/* calibrate.c: isotonic and Platt calibration, expected calibration error
 * (see calibrate.h). */
#include "stats/calibrate.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "core/util.h"

typedef struct {
  double x, y, w;
} cal_row_t;

/* By score, then label (numpy's lexsort((y, x))); ties keep input order. */
static int by_score(const void *pa, const void *pb) {
  const cal_row_t *a = pa, *b = pb;
  if (a->x != b->x) return a->x < b->x ? -1 : 1;
  return (a->y > b->y) - (a->y < b->y);
}

/* Rows of equal score (within float64 resolution, 1e-15, as scikit-learn's
 * _make_unique) become one: their weighted mean label and summed weight.
 * Returns the count of unique rows, written over r. */
static int64_t make_unique(cal_row_t *r, int64_t n) {
  const double eps = 1e-15;
  int64_t u = 0;
  double cx = r[0].x, cy = 0, cw = 0;
  for (int64_t j = 0; j < n; j++) {
    if (r[j].x - cx >= eps) {
      r[u++] = (cal_row_t){.x = cx, .y = cy / cw, .w = cw};
      cx = r[j].x;
      cw = r[j].w;
      cy = r[j].y * r[j].w;
    } else {
      cw += r[j].w;
      cy += r[j].y * r[j].w;
    }
  }
  r[u++] = (cal_row_t){.x = cx, .y = cy / cw, .w = cw};
  return u;
}

/* Pool adjacent violators, in place: y becomes the increasing weighted
 * least-squares fit (blocks of equal value). */
static void pava(cal_row_t *r, int64_t n) {
  int64_t *start = ps_malloc(sizeof(int64_t) * (size_t)(n + 1));
  double *val = ps_malloc(sizeof(double) * (size_t)n), *wt = ps_malloc(sizeof(double) * (size_t)n);
  int64_t b = 0;
  for (int64_t i = 0; i < n; i++) {
    start[b] = i;
    val[b] = r[i].y;
    wt[b] = r[i].w;
    b++;
    while (b > 1 && val[b - 2] > val[b - 1]) { /* merge the violating pair */
      double w = wt[b - 2] + wt[b - 1];
      val[b - 2] = (wt[b - 2] * val[b - 2] + wt[b - 1] * val[b - 1]) / w;
      wt[b - 2] = w;
      b--;
    }
  }
  start[b] = n;
  for (int64_t q = 0; q < b; q++)
    for (int64_t i = start[q]; i < start[q + 1]; i++) r[i].y = val[q];
  free(start);
  free(val);
  free(wt);
}

/* Why the train path bounds isotonic outputs (calib_label_bounds): pool-
 * adjacent-violators gives a block with no positive (or no negative) the
 * value 0 (1), and a row of the other label that later falls in that block
 * costs log(2.2e-16) = -36 in log-loss (issue 27: 0.06-0.2 worse on every
 * real table). The bound is the one Platt's fit below already uses for its
 * targets (Platt 1999; Laplace's rule of succession): after N0 negatives
 * and no positive the probability of a positive is taken as 1 / (N0 + 2),
 * not 0, and symmetrically (N1 + 1) / (N1 + 2) at the top. It does not
 * depend on how the blocks fall (a per-block (k + 1) / (m + 2) would: it
 * can break the order of the blocks) and is a plain clip, so the map is
 * scikit-learn's IsotonicRegression(y_min=lo, y_max=hi) exactly; with
 * thousands of rows it moves no block that holds both labels. */
void calib_label_bounds(const double *label, const double *w, int64_t n, double *lo, double *hi) {
  double n0 = 0, n1 = 0;
  for (int64_t i = 0; i < n; i++) *(label[i] <= 0 ? &n0 : &n1) += w ? w[i] : 1.0;
  *lo = 1.0 / (n0 + 2.0);
  *hi = (n1 + 1.0) / (n1 + 2.0);
}

int calib_isotonic_fit(const double *score, const double *label, const double *w, int64_t n, ps_isotonic_t *out) {
  return calib_isotonic_fit_in(score, label, w, n, -INFINITY, INFINITY, out);
}

int calib_isotonic_fit_in(const double *score, const double *label, const double *w, int64_t n, double lo, double hi,
                          ps_isotonic_t *out) {
  cal_row_t *r = ps_malloc(sizeof(cal_row_t) * (size_t)(n > 0 ? n : 1));
  int64_t m = 0;
  for (int64_t i = 0; i < n; i++)
    if (!w || w[i] > 0) r[m++] = (cal_row_t){.x = score[i], .y = label[i], .w = w ? w[i] : 1.0};
  *out = (ps_isotonic_t){0};
  if (m == 0) {
    free(r);
    return -1;
  }
  qsort(r, (size_t)m, sizeof *r, by_score);
  m = make_unique(r, m);
  pava(r, m);
  for (int64_t i = 0; i < m; i++) r[i].y = r[i].y < lo ? lo : r[i].y > hi ? hi : r[i].y;
  /* keep the first and last point and each point whose value differs from a neighbour's */
  out->x = ps_malloc(sizeof(double) * (size_t)m);
  out->y = ps_malloc(sizeof(double) * (size_t)m);
  for (int64_t i = 0; i < m; i++) {
    if (i > 0 && i < m - 1 && r[i].y == r[i - 1].y && r[i].y == r[i + 1].y) continue;
    out->x[out->n] = r[i].x;
    out->y[out->n++] = r[i].y;
  }
  free(r);
  return 0;
}

/* scipy's interp1d: the interval whose upper end is the first threshold
 * >= s (numpy's searchsorted, side left), slope times offset plus low end. */
double calib_isotonic_apply(const ps_isotonic_t *m, double s) {
  if (m->n == 1) return m->y[0];
  if (s < m->x[0]) s = m->x[0];
  if (s > m->x[m->n - 1]) s = m->x[m->n - 1];
  int64_t lo = 0, hi = m->n; /* first index with x >= s */
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (m->x[mid] < s) lo = mid + 1;
    else hi = mid;
  }
  if (hi < 1) hi = 1;
  if (hi > m->n - 1) hi = m->n - 1;
  lo = hi - 1;
  double slope = (m->y[hi] - m->y[lo]) / (m->x[hi] - m->x[lo]);
  return slope * (s - m->x[lo]) + m->y[lo];
}

void calib_isotonic_free(ps_isotonic_t *m) {
  free(m->x);
  free(m->y);
  *m = (ps_isotonic_t){0};
}

/* log(1 + e^r) without overflow. */
static double log1pexp(double r) { return r > 0 ? r + log1p(exp(-r)) : log1p(exp(r)); }

/* Platt's smoothed log-loss at (a, b) and, when g != NULL, its gradient and
 * Hessian [aa, ab, bb] in raw = -(a f + b). */
static double platt_loss(const double *f, const double *t, const double *w, int64_t n, double a, double b, double *g,
                         double *h) {
  double loss = 0;
  if (g) g[0] = g[1] = h[0] = h[1] = h[2] = 0;
  for (int64_t i = 0; i < n; i++) {
    double wi = w ? w[i] : 1.0, raw = -(a * f[i] + b);
    loss += wi * (log1pexp(raw) - t[i] * raw);
    if (!g) continue;
    double p = 1.0 / (1.0 + exp(-raw)), d = wi * (p - t[i]), c = wi * p * (1.0 - p);
    g[0] -= d * f[i];
    g[1] -= d;
    h[0] += c * f[i] * f[i];
    h[1] += c * f[i];
    h[2] += c;
  }
  return loss;
}

ps_platt_t calib_platt_fit(const double *raw, const double *label, const double *w, int64_t n) {
  double scale = 1.0, prior0 = 0, prior1 = 0;
  for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(raw[i]));
  scale = scale >= 30 ? scale : 1.0; /* scikit-learn rescales scores of 30 and more */
  double *f = ps_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1)), *t = ps_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) {
    f[i] = raw[i] / scale;
    *(label[i] <= 0 ? &prior0 : &prior1) += w ? w[i] : 1.0;
  }
  for (int64_t i = 0; i < n; i++) t[i] = label[i] > 0 ? (prior1 + 1.0) / (prior1 + 2.0) : 1.0 / (prior0 + 2.0);
  double a = 0, b = log((prior0 + 1.0) / (prior1 + 1.0)), g[2], h[3];
  for (int it = 0; it < 100; it++) { /* Newton with halving steps (Lin, Lin and Weng 2007) */
    double loss = platt_loss(f, t, w, n, a, b, g, h), det = h[0] * h[2] - h[1] * h[1];
    if (fabs(g[0]) + fabs(g[1]) < 1e-14 * (1.0 + fabs(loss)) || !(det > 0)) break;
    double da = -(h[2] * g[0] - h[1] * g[1]) / det, db = -(h[0] * g[1] - h[1] * g[0]) / det, step = 1.0;
    while (step > 1e-10 && platt_loss(f, t, w, n, a + step * da, b + step * db, NULL, NULL) > loss) step /= 2;
    if (step <= 1e-10) break;
    a += step * da;
    b += step * db;
  }
  free(f);
  free(t);
  return (ps_platt_t){.a = a / scale, .b = b};
}

double calib_platt_apply(const ps_platt_t *m, double raw) { return 1.0 / (1.0 + exp(m->a * raw + m->b)); }

double calib_ece(const double *p, const double *label, int64_t n, int bins) {
  double *sp = ps_calloc((size_t)bins, sizeof(double)), *sy = ps_calloc((size_t)bins, sizeof(double));
  int64_t *cnt = ps_calloc((size_t)bins, sizeof(int64_t));
  for (int64_t i = 0; i < n; i++) {
    int q = (int)(p[i] * bins);
    q = q < 0 ? 0 : q >= bins ? bins - 1 : q;
    sp[q] += p[i];
    sy[q] += label[i];
    cnt[q]++;
  }
  double e = 0;
  for (int q = 0; q < bins; q++)
    if (cnt[q]) e += fabs(sy[q] - sp[q]) / (double)n;
  free(sp);
  free(sy);
  free(cnt);
  return e;
}
