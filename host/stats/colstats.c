/* colstats.c: distributed column statistics (see colstats.h). */
#include "stats/colstats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
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

void stats_add_block(ps_colstat_t *st, const float *x, int64_t rows, int64_t f, const uint8_t *keep) {
  double *sum = ps_calloc((size_t)f, sizeof(double)), *cnt = ps_calloc((size_t)f, sizeof(double));
  ps_colstat_t *sub = ps_malloc(sizeof(ps_colstat_t) * (size_t)f);
  for (int64_t r0 = 0; r0 < rows; r0 += SUB) {
    int64_t r1 = r0 + SUB < rows ? r0 + SUB : rows;
    stats_init(sub, f);
    memset(sum, 0, sizeof(double) * (size_t)f);
    memset(cnt, 0, sizeof(double) * (size_t)f);
    for (int64_t i = r0; i < r1; i++) {
      if (keep && !keep[i]) continue;
      const float *xi = x + (size_t)i * (size_t)f;
      for (int64_t j = 0; j < f; j++) {
        double v = xi[j];
        if (isfinite(v)) {
          sum[j] += v;
          cnt[j] += 1;
          if (v < sub[j].min) sub[j].min = v;
          if (v > sub[j].max) sub[j].max = v;
        } else if (isnan(v)) {
          sub[j].nan += 1;
        } else {
          sub[j].inf += 1;
        }
      }
    }
    for (int64_t j = 0; j < f; j++) {
      sub[j].count = cnt[j];
      sub[j].mean = cnt[j] > 0 ? sum[j] / cnt[j] : 0.0;
      sum[j] = 0;
    }
    for (int64_t i = r0; i < r1; i++) { /* second pass: squared deviations */
      if (keep && !keep[i]) continue;
      const float *xi = x + (size_t)i * (size_t)f;
      for (int64_t j = 0; j < f; j++) {
        double v = xi[j];
        if (isfinite(v)) sum[j] += (v - sub[j].mean) * (v - sub[j].mean);
      }
    }
    for (int64_t j = 0; j < f; j++) {
      sub[j].m2 = sum[j];
      merge(&st[j], &sub[j]);
    }
  }
  free(sum);
  free(cnt);
  free(sub);
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
