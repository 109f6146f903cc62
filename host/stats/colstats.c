/* colstats.c: distributed column statistics (see colstats.h). */
#include "stats/colstats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "common/simd.h"
#include "core/util.h"

#define SUB 256 /* rows per sub-block: fits in L2, two exact passes */

void stats_init(ps_colstat_t *st, int64_t f) {
  for (int64_t j = 0; j < f; j++) {
    memset(&st[j], 0, sizeof st[j]);
    st[j].min = INFINITY;
    st[j].max = -INFINITY;
  }
}

static void merge(ps_colstat_t *a, const ps_colstat_t *b) {
  a->nan += b->nan;
  a->inf += b->inf;
  if (b->count == 0) return;
  if (b->min < a->min) a->min = b->min;
  if (b->max > a->max) a->max = b->max;
  if (a->count == 0) {
    a->count = b->count;
    a->mean = b->mean;
    a->m2 = b->m2;
    return;
  }
  double n = a->count + b->count, d = b->mean - a->mean;
  a->mean += d * b->count / n;
  a->m2 += b->m2 + d * d * a->count * b->count / n;
  a->count = n;
}

/* One sub-block's first pass, branch-free so that it vectorizes across
 * columns: finite values' sum, count, min and max; NaN and Inf counts. */
PS_KERNEL static void pass1(const float *restrict x, int64_t r0, int64_t r1, int64_t f, const uint8_t *keep,
                            double *restrict sum, double *restrict cnt, double *restrict mn, double *restrict mx,
                            double *restrict nan, double *restrict inf) {
  for (int64_t i = r0; i < r1; i++) {
    if (keep && !keep[i]) continue;
    const float *restrict xi = x + (size_t)i * (size_t)f;
    for (int64_t j = 0; j < f; j++) {
      double v = xi[j];
      int fin = v - v == 0.0, isn = v != v;
      double c = fin ? v : 0.0, lo = fin ? v : INFINITY, hi = fin ? v : -INFINITY;
      sum[j] += c;
      cnt[j] += fin;
      mn[j] = lo < mn[j] ? lo : mn[j];
      mx[j] = hi > mx[j] ? hi : mx[j];
      nan[j] += isn;
      inf[j] += !fin && !isn;
    }
  }
}

/* Second pass: the finite values' squared deviations from the sub-block mean. */
PS_KERNEL static void pass2(const float *restrict x, int64_t r0, int64_t r1, int64_t f, const uint8_t *keep,
                            const double *restrict mean, double *restrict m2) {
  for (int64_t i = r0; i < r1; i++) {
    if (keep && !keep[i]) continue;
    const float *restrict xi = x + (size_t)i * (size_t)f;
    for (int64_t j = 0; j < f; j++) {
      double v = xi[j], d = v - mean[j];
      m2[j] += v - v == 0.0 ? d * d : 0.0;
    }
  }
}

void stats_add_block(ps_colstat_t *st, const float *x, int64_t rows, int64_t f, const uint8_t *keep) {
  size_t fz = (size_t)(f > 0 ? f : 1);
  double *acc = ps_malloc(sizeof(double) * 8 * fz);
  double *sum = acc, *cnt = sum + fz, *mn = cnt + fz, *mx = mn + fz, *nan = mx + fz, *inf = nan + fz;
  double *mean = inf + fz, *m2 = mean + fz;
  for (int64_t r0 = 0; r0 < rows; r0 += SUB) {
    int64_t r1 = r0 + SUB < rows ? r0 + SUB : rows;
    for (int64_t j = 0; j < f; j++) {
      sum[j] = cnt[j] = nan[j] = inf[j] = m2[j] = 0;
      mn[j] = INFINITY;
      mx[j] = -INFINITY;
    }
    pass1(x, r0, r1, f, keep, sum, cnt, mn, mx, nan, inf);
    for (int64_t j = 0; j < f; j++) mean[j] = cnt[j] > 0 ? sum[j] / cnt[j] : 0.0;
    pass2(x, r0, r1, f, keep, mean, m2);
    for (int64_t j = 0; j < f; j++) {
      ps_colstat_t sub = {cnt[j], nan[j], inf[j], mn[j], mx[j], mean[j], m2[j]};
      merge(&st[j], &sub);
    }
  }
  free(acc);
}

void stats_allreduce(ps_colstat_t *st, int64_t f) {
  if (ps_size == 1) return;
  size_t bytes = sizeof(ps_colstat_t) * (size_t)f;
  ps_colstat_t *all = ps_malloc(bytes * (size_t)ps_size);
  comm_allgather(st, all, bytes);
  stats_init(st, f);
  for (int r = 0; r < ps_size; r++)
    for (int64_t j = 0; j < f; j++) merge(&st[j], &all[(size_t)r * (size_t)f + (size_t)j]);
  free(all);
}

double stats_std(const ps_colstat_t *s) { return s->count > 0 ? sqrt(s->m2 / s->count) : NAN; }
double stats_mean(const ps_colstat_t *s) { return s->count > 0 ? s->mean : NAN; }
