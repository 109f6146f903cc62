/* test_uplift_metrics.c: targeting/uplift_metrics.c against the definitions
 * written plainly, on one rank (the one-rank transport, no MPI) and, built
 * again with MPI, on 3 and 5 ranks (rows spread evenly, unevenly with an
 * empty rank, or all on the last rank; scores buffers with no spare room,
 * so slices that do not fit take the fallback): rows
 * sorted by score descending, ties by row descending, sklift's curves with
 * a point at each end of a group of equal scores and their trapezoid areas,
 * the perfect curves from rows sorted by sklift's perfect keys, deciles as
 * numpy.array_split (the single-rank code eval --uplift had before). Every
 * key layout: 8-byte keys, 16-byte keys for float64 scores and for files
 * of over 2^31 rows; heavy ties, one score, empty input, one class only. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "comm/comm.h"
#include "core/partition.h"
#include "core/rng.h"
#include "core/util.h"
#include "targeting/uplift_metrics.h"

typedef struct {
  double score, key;
  int64_t row;
  uint8_t y, t;
} row_t;

static int by_key_desc(const void *a, const void *b) {
  const row_t *x = a, *y = b;
  if (x->key != y->key) return x->key > y->key ? -1 : 1;
  return x->row > y->row ? -1 : x->row < y->row ? 1 : 0;
}

/* sklift's curve over rows sorted by key: area, last point */
static double curve_area(const row_t *r, int64_t n, int qini, double *lx, double *ly) {
  double nt = 0, yt = 0, yc = 0, px = 0, py = 0, area = 0;
  for (int64_t i = 0; i < n; i++) {
    nt += r[i].t;
    yt += r[i].t ? r[i].y : 0;
    yc += r[i].t ? 0 : r[i].y;
    if (i + 1 < n && r[i + 1].key == r[i].key) continue;
    double all = (double)(i + 1), nc = all - nt, v;
    if (qini) v = yt - (nc != 0 ? yc * (nt / nc) : 0);
    else v = ((nt != 0 ? yt / nt : 0) - (nc != 0 ? yc / nc : 0)) * all;
    area += (all - px) * (v + py) / 2.0;
    px = all;
    py = v;
  }
  *lx = px;
  *ly = py;
  return area;
}

static void reference(row_t *r, int64_t n, ps_uplift_metrics_t *m) {
  memset(m, 0, sizeof *m);
  double cr = 0, tn = 0;
  for (int64_t i = 0; i < n; i++) {
    m->n_t += r[i].t, m->y_t += r[i].t ? r[i].y : 0, m->y_c += r[i].t ? 0 : r[i].y;
    cr += r[i].y == 1 && r[i].t == 0, tn += r[i].y == 0 && r[i].t == 1;
  }
  m->n = (double)n;
  m->n_c = m->n - m->n_t;
  for (int q = 1; q >= 0; q--) {
    double ax, ay, px, py;
    for (int64_t i = 0; i < n; i++) r[i].key = r[i].score;
    qsort(r, (size_t)n, sizeof *r, by_key_desc);
    double a = curve_area(r, n, q, &ax, &ay);
    for (int64_t i = 0; i < n; i++) {
      double y = r[i].y, t = r[i].t;
      r[i].key = q ? y * t - y * (1 - t) : 2.0 * (r[i].y == r[i].t) + (cr > tn ? y : t);
    }
    qsort(r, (size_t)n, sizeof *r, by_key_desc);
    double p = curve_area(r, n, q, &px, &py), base = px * py / 2.0;
    if (q) m->qini = (a - base) / (p - base), m->qini_area = a - base;
    else m->auuc = (a - base) / (p - base), m->auuc_area = a - base;
  }
  for (int64_t i = 0; i < n; i++) r[i].key = r[i].score;
  qsort(r, (size_t)n, sizeof *r, by_key_desc);
  int64_t at = 0, nt = 0, yt = 0, yc = 0;
  for (int b = 0; b < PS_UPLIFT_BINS; b++) {
    int64_t len = n / PS_UPLIFT_BINS + (b < n % PS_UPLIFT_BINS ? 1 : 0);
    double bt = 0, bc = 0, byt = 0, byc = 0;
    for (int64_t i = at; i < at + len; i++) {
      if (r[i].t) bt += 1, byt += r[i].y;
      else bc += 1, byc += r[i].y;
    }
    at += len, nt += (int64_t)bt, yt += (int64_t)byt, yc += (int64_t)byc;
    double pt = bt > 0 ? byt / bt : NAN, pc = bc > 0 ? byc / bc : NAN;
    m->bin_n_t[b] = bt, m->bin_n_c[b] = bc, m->bin_rate_t[b] = pt, m->bin_rate_c[b] = pc;
    m->bin_uplift[b] = pt - pc;
    m->bin_se[b] = sqrt(pt * (1 - pt) / bt + pc * (1 - pc) / bc);
    double all = (double)at, nc = all - (double)nt;
    m->depth_rows[b] = all;
    m->depth_incremental[b] = (double)yt - (nc != 0 ? (double)yc * ((double)nt / nc) : 0);
    m->depth_uplift_curve[b] = ((nt ? (double)yt / (double)nt : 0) - (nc != 0 ? (double)yc / nc : 0)) * all;
  }
}

/* equal, both NaN, or within rel relative */
static void near(double got, double want, double rel, const char *what, int b) {
  if (isnan(want) && isnan(got)) return;
  if (got == want) return;
  if (!(fabs(got - want) <= rel * fabs(want))) fail_msg("%s[%d]: %.17g, want %.17g", what, b, got, want);
}

static void compare(const ps_uplift_metrics_t *g, const ps_uplift_metrics_t *w) {
  near(g->n, w->n, 0, "n", 0);
  near(g->n_t, w->n_t, 0, "n_t", 0);
  near(g->y_t, w->y_t, 0, "y_t", 0);
  near(g->y_c, w->y_c, 0, "y_c", 0);
  near(g->qini_area, w->qini_area, 1e-12, "qini_area", 0);
  near(g->auuc_area, w->auuc_area, 1e-12, "auuc_area", 0);
  near(g->qini, w->qini, 1e-12, "qini", 0);
  near(g->auuc, w->auuc, 1e-12, "auuc", 0);
  for (int b = 0; b < PS_UPLIFT_BINS; b++) { /* integer counts: the same bits */
    near(g->bin_n_t[b], w->bin_n_t[b], 0, "bin_n_t", b);
    near(g->bin_n_c[b], w->bin_n_c[b], 0, "bin_n_c", b);
    near(g->bin_rate_t[b], w->bin_rate_t[b], 0, "bin_rate_t", b);
    near(g->bin_rate_c[b], w->bin_rate_c[b], 0, "bin_rate_c", b);
    near(g->bin_uplift[b], w->bin_uplift[b], 0, "bin_uplift", b);
    near(g->bin_se[b], w->bin_se[b], 0, "bin_se", b);
    near(g->depth_rows[b], w->depth_rows[b], 0, "depth_rows", b);
    near(g->depth_incremental[b], w->depth_incremental[b], 0, "depth_incremental", b);
    near(g->depth_uplift_curve[b], w->depth_uplift_curve[b], 0, "depth_uplift_curve", b);
  }
}

/* This rank's rows [*b0, *b1) of n: mode 0 even (ps_partition), 1 uneven
 * random cuts with an empty rank, 2 all on the last rank. */
static void slice_of(int64_t n, int mode, uint64_t seed, int64_t *b0, int64_t *b1) {
  int P = ps_size, q = ps_rank;
  if (mode == 0) {
    int64_t c;
    ps_partition(n, P, q, b0, &c);
    *b1 = *b0 + c;
    return;
  }
  if (mode == 2) {
    *b0 = q == P - 1 ? 0 : n;
    *b1 = n;
    return;
  }
  int64_t *cut = malloc(sizeof(int64_t) * (size_t)(P + 1));
  cut[0] = 0;
  cut[P] = n;
  for (int i = 1; i < P; i++) cut[i] = (int64_t)(ps_rng_unif(seed, 7, (uint64_t)i, 0) * (double)n);
  for (int i = 1; i < P; i++) /* sorted */
    for (int j = i + 1; j < P; j++)
      if (cut[j] < cut[i]) {
        int64_t x = cut[i];
        cut[i] = cut[j];
        cut[j] = x;
      }
  if (P > 2) cut[2] = cut[1]; /* rank 1 empty */
  *b0 = cut[q];
  *b1 = cut[q + 1];
  free(cut);
}

/* n rows from row0 of a file of n_file rows, spread over the ranks as
 * `mode` says (slice_of), each rank's scores buffer with room for its rows
 * only (tight) or more; score kinds: 0 continuous float32, 1 rounded to
 * 0.05, 2 one score, 3 float64 (not float32 values), 4 two scores; every
 * 7th row not kept; treat: 0 random, 1 all treated. Every rank compares
 * with the reference over all kept rows. */
static void check_spread(int64_t n, int64_t row0, int64_t n_file, int kind, int treat, uint64_t seed, int mode,
                         int tight) {
  double *all = malloc(sizeof(double) * ((size_t)n + 1));
  uint8_t *y = malloc((size_t)n + 1), *t = malloc((size_t)n + 1), *keep = malloc((size_t)n + 1);
  row_t *r = malloc(sizeof(row_t) * ((size_t)n + 1));
  int64_t m = 0;
  for (int64_t i = 0; i < n; i++) {
    double s = 2.0 * ps_rng_unif(seed, 1, (uint64_t)i, 0) - 1.0;
    double x = kind == 0 ? (float)s : kind == 1 ? (float)(round(s / 0.05) * 0.05) : kind == 2 ? 0.25 : kind == 3 ? s
             : (s > 0.4 ? 0.5f : -0.25f);
    if (i == 3) x = -0.0; /* -0 ties with +0 */
    if (i == 4) x = 0.0;
    all[i] = x;
    t[i] = treat ? 1 : ps_rng_unif(seed, 2, (uint64_t)i, 0) < 0.5;
    y[i] = ps_rng_unif(seed, 3, (uint64_t)i, 0) < (t[i] ? 0.3 + 0.2 * x : 0.3);
    keep[i] = i % 7 != 5;
    if (keep[i]) r[m++] = (row_t){x, 0, row0 + i, y[i], t[i]};
  }
  int64_t b0, b1;
  slice_of(n, mode, seed, &b0, &b1);
  size_t cap = (size_t)(b1 - b0) + (tight ? 0 : 16);
  double *u = malloc(sizeof(double) * (cap > 0 ? cap : 1));
  if (b1 > b0) memcpy(u, all + b0, sizeof(double) * (size_t)(b1 - b0));
  ps_uplift_metrics_t got, want;
  uplift_metrics(u, cap, y + b0, t + b0, keep + b0, row0 + b0, b1 - b0, n_file, &got);
  reference(r, m, &want);
  compare(&got, &want);
  free(all), free(u), free(y), free(t), free(keep), free(r);
}

/* Every spread of the rows over the ranks (one spread on one rank). */
static void check(int64_t n, int64_t row0, int64_t n_file, int kind, int treat, uint64_t seed) {
  for (int mode = 0; mode < (ps_size > 1 ? 3 : 1); mode++)
    for (int tight = 0; tight < 2; tight++) check_spread(n, row0, n_file, kind, treat, seed, mode, tight);
}

static void continuous_and_ties(void **state) {
  (void)state;
  for (int kind = 0; kind <= 4; kind++) {
    check(5000, 0, 5000, kind, 0, 7 + (uint64_t)kind);
    check(33, 100, 200, kind, 0, 9);
  }
}

static void wide_rows(void **state) { /* over 2^31 rows: 16-byte keys even for float32 scores */
  (void)state;
  int64_t big = (int64_t)1 << 40;
  for (int kind = 0; kind <= 3; kind++) check(3000, big - 3000, big, kind, 0, 21);
}

static void small_and_degenerate(void **state) {
  (void)state;
  for (int64_t n = 0; n <= 12; n++) check(n, 0, n > 0 ? n : 1, 0, 0, 3);
  check(400, 0, 400, 0, 1, 5); /* no control rows: qini NaN-free curves, deciles NaN */
  check(400, 0, 400, 2, 1, 5);
}

int main(int argc, char **argv) {
  comm_init(&argc, &argv);
  const struct CMUnitTest tests[] = {cmocka_unit_test(continuous_and_ties), cmocka_unit_test(wide_rows),
                                     cmocka_unit_test(small_and_degenerate)};
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  comm_finalize();
  return rc;
}
