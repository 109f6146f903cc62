/* prepare.c: model columns and standardized rows (see prepare.h). */
#include "stats/prepare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/psmath.h"
#include "common/simd.h"
#include "core/util.h"

void prepare_columns(const ps_colstat_t *st, int64_t f, int missing_indicators, ps_columns_t *cols) {
  int64_t c = f;
  if (missing_indicators)
    for (int64_t j = 0; j < f; j++) c += (st[j].nan + st[j].inf) > 0;
  cols->c = c;
  cols->f = f;
  cols->src = ps_malloc(sizeof(int64_t) * (size_t)(c + 1));
  cols->kind = ps_malloc((size_t)(c + 1));
  cols->dead = ps_malloc((size_t)(c + 1));
  cols->mean = ps_malloc(sizeof(double) * (size_t)(c + 1));
  cols->scale = ps_malloc(sizeof(double) * (size_t)(c + 1));
  int64_t col = 0;
  for (int64_t j = 0; j < f; j++) {
    /* Rounded to float precision: the statistics of P ranks differ from those
     * of one rank in the last bits (merge order), and rounding makes every
     * rank count standardize to the same float32 values. */
    double sd = (float)stats_std(&st[j]), mu = (float)stats_mean(&st[j]);
    cols->src[col] = j;
    cols->kind[col] = PS_COL_VALUE;
    cols->mean[col] = isfinite(mu) ? mu : 0.0;
    cols->scale[col] = (isfinite(sd) && sd > 1e-12 * fmax(1.0, fabs(mu))) ? 1.0 / sd : 0.0;
    col++;
  }
  for (int64_t j = 0; missing_indicators && j < f; j++) {
    double miss = st[j].nan + st[j].inf;
    if (miss == 0) continue;
    double q = (float)(miss / (miss + st[j].count)), sd = (float)sqrt(q * (1 - q));
    cols->src[col] = j;
    cols->kind[col] = PS_COL_MISSING;
    cols->mean[col] = q;
    cols->scale[col] = sd > 0 ? 1.0 / sd : 0.0;
    col++;
  }
  for (int64_t j = 0; j < c; j++) cols->dead[j] = cols->scale[j] == 0.0;
}

void prepare_categorical(ps_columns_t *cols, const int64_t *card) {
  if (!card) return;
  int64_t c = 0, n = cols->c;
  for (int64_t j = 0; j < n; j++) {
    int64_t C = cols->kind[j] == PS_COL_VALUE ? card[cols->src[j]] : 0;
    c += C > 0 ? (C < 254 ? C : 254) : 1;
  }
  ps_columns_t o = {.c = c, .f = cols->f, .src = ps_malloc(sizeof(int64_t) * (size_t)(c + 1)),
                    .kind = ps_malloc((size_t)(c + 1)), .dead = ps_malloc((size_t)(c + 1)),
                    .mean = ps_malloc(sizeof(double) * (size_t)(c + 1)), .scale = ps_malloc(sizeof(double) * (size_t)(c + 1))};
  int64_t at = 0;
  for (int64_t j = 0; j < n; j++) {
    int64_t C = cols->kind[j] == PS_COL_VALUE ? card[cols->src[j]] : 0;
    for (int64_t q = 0; q < (C > 0 ? (C < 254 ? C : 254) : 1); q++, at++) {
      o.src[at] = cols->src[j];
      o.kind[at] = C > 0 ? (uint8_t)(PS_COL_CATEGORY + q) : cols->kind[j];
      o.mean[at] = C > 0 ? 0.0 : cols->mean[j];
      o.scale[at] = C > 0 ? 1.0 : cols->scale[j];
      o.dead[at] = C > 0 ? 0 : cols->dead[j];
    }
  }
  prepare_free(cols);
  *cols = o;
}

void prepare_free(ps_columns_t *cols) {
  free(cols->src);
  free(cols->kind);
  free(cols->dead);
  free(cols->mean);
  free(cols->scale);
  memset(cols, 0, sizeof *cols);
}

ps_transform_t prepare_transform(const ps_columns_t *cols) {
  ps_transform_t t = {.c = cols->c, .f = cols->f, .src = cols->src, .kind = cols->kind, .mean = cols->mean, .scale = cols->scale};
  return t;
}

/* Value columns 0 .. nv-1 read input columns 0 .. nv-1 (prepare_columns
 * puts them first, in order): a branch-free loop the compiler vectorizes,
 * the same arithmetic as ps_standardize (NaN/Inf -> 0, else (x - mean) *
 * scale in double, rounded to float). */
PS_KERNEL static void std_values(const float *restrict x, int64_t nv, const double *restrict mean,
                                 const double *restrict scale, float *restrict o) {
  for (int64_t j = 0; j < nv; j++) {
    float v = x[j];
    double s = ((double)v - mean[j]) * scale[j];
    o[j] = v - v == 0.0f ? (float)s : 0.0f;
  }
}

void prepare_rows(const ps_transform_t *t, const float *X, int64_t n, const uint8_t *train, float *xtr, float *xva) {
  int64_t f = t->f, c = t->c, itr = 0, iva = 0, nv = 0;
  while (nv < c && nv < f && t->src[nv] == nv && t->kind[nv] == PS_COL_VALUE) nv++;
  /* the other columns take one of two values (missing indicators) or are
   * values out of order: their outputs precomputed by ps_standardize */
  int64_t nr = c - nv;
  float *when_fin = ps_malloc(sizeof(float) * (size_t)(2 * nr + 1)), *when_not = when_fin + nr;
  int all_ind = 1;
  for (int64_t j = nv; j < c; j++) {
    all_ind &= t->kind[j] == PS_COL_MISSING;
    when_fin[j - nv] = (float)ps_standardize(0.0f, t->kind[j], t->mean[j], t->scale[j]);
    when_not[j - nv] = (float)ps_standardize(NAN, t->kind[j], t->mean[j], t->scale[j]);
  }
  float *row = ps_malloc(sizeof(float) * (size_t)(f > 0 ? f : 1));
  for (int64_t i = 0; i < n; i++) {
    if (train && train[i] > 1) continue; /* in neither split */
    const float *x = X + (size_t)i * (size_t)f;
    float *o = !train || train[i] ? xtr + (size_t)itr++ * (size_t)c : xva + (size_t)iva++ * (size_t)c;
    if ((const float *)o < x + f && x < (const float *)o + c) { /* in place (xtr == X, c <= f): from a copy */
      memcpy(row, x, sizeof(float) * (size_t)f);
      x = row;
    }
    std_values(x, nv, t->mean, t->scale, o);
    if (all_ind) {
      for (int64_t j = nv; j < c; j++) {
        float v = x[t->src[j]];
        o[j] = v - v == 0.0f ? when_fin[j - nv] : when_not[j - nv];
      }
    } else {
      for (int64_t j = nv; j < c; j++)
        o[j] = (float)ps_standardize(x[t->src[j]], t->kind[j], t->mean[j], t->scale[j]);
    }
  }
  free(when_fin);
  free(row);
}
