/* explain_csr.c: a logistic-regression model's reasons of CSR rows from
 * their stored values (see explain_csr.h). Each contribution is summed as
 * explain.c sums it (0.0, then w_hj times the float32 standardized value
 * of each of the feature's model columns j in increasing order), so every
 * value has the dense path's bits; the order is explain_top's (larger
 * |contribution| first, then the lower feature), a total order without
 * NaN. A NaN (a zero weight times an infinite standardized value) sends
 * the row, made dense from the same values, through explain_top's
 * insertion (best_of). */
#include "models/logreg/explain_csr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/psmath.h"
#include "core/util.h"
#include "logreg/logreg_csr_cpu.h"
#include "models/explain.h"

struct logreg_explain_csr {
  const ps_model_t *m;
  ps_std_csr_t std; /* input -> model columns; the standardized zero row */
  double *zphi;     /* [k][f] a feature's contribution when it is not stored */
  int32_t *order;   /* [k][f] the features in explain_top's order of zphi */
  uint8_t *nan;     /* [k] zphi holds a NaN: every row through explain_top */
  uint8_t *mark;    /* [f] a row's stored features (zero between rows) */
  double *sphi, *row; /* [f] a row's stored contributions; the NaN fallback's dense row */
  int32_t *best;    /* [cap] the best stored features so far, and their */
  double *bphi;     /* [cap] contributions */
  int cap;
};

typedef struct {
  double a;
  int32_t j;
} keyed_t;

static int by_explain_order(const void *pa, const void *pb) {
  const keyed_t *a = pa, *b = pb;
  return explain_before(a->a, a->j, b->a, b->j) ? -1 : explain_before(b->a, b->j, a->a, a->j) ? 1 : 0;
}

/* Head h's contributions of the all-zero row (explain.c's sums) and their order. */
static void zero_row(logreg_explain_csr_t *x, int h) {
  const ps_model_t *m = x->m;
  int64_t f = m->f, c = m->c;
  const double *w = m->theta + (size_t)h * (size_t)(c + 1);
  double *z = x->zphi + (size_t)h * (size_t)f;
  memset(z, 0, sizeof(double) * (size_t)f);
  for (int64_t j = 0; j < c; j++) z[m->src[j]] += w[j] * (double)x->std.zrow[j];
  keyed_t *kq = ps_malloc(sizeof(keyed_t) * (size_t)(f > 0 ? f : 1));
  for (int64_t q = 0; q < f; q++) {
    kq[q] = (keyed_t){.a = z[q], .j = (int32_t)q};
    if (isnan(z[q])) x->nan[h] = 1;
  }
  qsort(kq, (size_t)f, sizeof(keyed_t), by_explain_order);
  for (int64_t q = 0; q < f; q++) x->order[(size_t)h * (size_t)f + (size_t)q] = kq[q].j;
  free(kq);
}

logreg_explain_csr_t *logreg_explain_csr_create(const ps_model_t *m) {
  logreg_explain_csr_t *x = ps_calloc(1, sizeof *x);
  size_t f = (size_t)(m->f > 0 ? m->f : 1), kf = (size_t)m->k * f;
  x->m = m;
  ps_std_csr_init(&x->std, m->f, m->c, m->src, m->kind, m->mean, m->scale);
  x->zphi = ps_malloc(sizeof(double) * (kf > 0 ? kf : 1));
  x->order = ps_malloc(sizeof(int32_t) * (kf > 0 ? kf : 1));
  x->nan = ps_calloc((size_t)(m->k > 0 ? m->k : 1), 1);
  x->mark = ps_calloc(f, 1);
  x->sphi = ps_malloc(sizeof(double) * f);
  x->row = ps_malloc(sizeof(double) * f);
  for (int h = 0; h < m->k; h++) zero_row(x, h);
  return x;
}

void logreg_explain_csr_free(logreg_explain_csr_t *x) {
  if (!x) return;
  ps_std_csr_free(&x->std);
  free(x->zphi);
  free(x->order);
  free(x->nan);
  free(x->mark);
  free(x->sphi);
  free(x->row);
  free(x->best);
  free(x->bphi);
  free(x);
}

/* Head h's contribution of input q holding the stored value v. */
static double stored(const logreg_explain_csr_t *x, const double *w, int32_t q, float v) {
  const ps_model_t *m = x->m;
  double p = 0.0;
  for (int64_t e = x->std.first[q]; e < x->std.first[q + 1]; e++) {
    int64_t j = x->std.col[e];
    p += w[j] * (double)(float)ps_standardize(v, m->kind[j], m->mean[j], m->scale[j]);
  }
  return p;
}

/* The best `top` of contributions a [n] of features idx [n] (NULL: 0..n-1) into best/bphi, by
 * explain_top's very insertion (so its output even where NaN leaves no order); their count. */
static int best_of(logreg_explain_csr_t *x, const double *a, const int32_t *idx, int64_t n, int top) {
  int nb = 0;
  for (int64_t p = 0; p < n; p++) {
    int32_t q = idx ? idx[p] : (int32_t)p;
    if (nb == top && !explain_before(a[p], q, x->bphi[nb - 1], x->best[nb - 1])) continue;
    int at = nb < top ? nb++ : top - 1;
    while (at > 0 && explain_before(a[p], q, x->bphi[at - 1], x->best[at - 1])) {
      x->best[at] = x->best[at - 1];
      x->bphi[at] = x->bphi[at - 1];
      at--;
    }
    x->best[at] = q;
    x->bphi[at] = a[p];
  }
  return nb;
}

/* One row's top: its best stored features merged with the order of the ones not stored. */
static void row_top(logreg_explain_csr_t *x, int h, const int32_t *idx, const float *val, int64_t nnz, int top,
                    int16_t *feat, float *out) {
  int64_t f = x->m->f;
  const double *w = x->m->theta + (size_t)h * (size_t)(x->m->c + 1), *z = x->zphi + (size_t)h * (size_t)f;
  int nan = x->nan[h];
  for (int64_t p = 0; p < nnz; p++) {
    x->sphi[p] = stored(x, w, idx[p], val[p]);
    nan |= isnan(x->sphi[p]);
  }
  if (nan) { /* no total order: explain_top's insertion over the row made dense */
    memcpy(x->row, z, sizeof(double) * (size_t)f);
    for (int64_t p = 0; p < nnz; p++) x->row[idx[p]] = x->sphi[p];
    best_of(x, x->row, NULL, f, top);
    for (int r = 0; r < top; r++) {
      feat[r] = (int16_t)x->best[r];
      out[r] = (float)x->bphi[r];
    }
    return;
  }
  int nb = best_of(x, x->sphi, idx, nnz, top), a = 0;
  for (int64_t p = 0; p < nnz; p++) x->mark[idx[p]] = 1;
  const int32_t *ord = x->order + (size_t)h * (size_t)f;
  int64_t o = 0;
  for (int r = 0; r < top; r++) {
    while (o < f && x->mark[ord[o]]) o++;
    int take = a < nb && (o >= f || explain_before(x->bphi[a], x->best[a], z[ord[o]], ord[o]));
    int32_t q = take ? x->best[a] : ord[o];
    double v = take ? x->bphi[a++] : z[ord[o++]];
    feat[r] = (int16_t)q;
    out[r] = (float)v;
  }
  for (int64_t p = 0; p < nnz; p++) x->mark[idx[p]] = 0;
}

void logreg_explain_csr_top(logreg_explain_csr_t *x, int h, const int64_t *ptr, const int32_t *idx,
                            const float *val, int64_t n, int top, int16_t *feat, float *out) {
  if (top > x->cap) {
    free(x->best);
    free(x->bphi);
    x->best = ps_malloc(sizeof(int32_t) * (size_t)top);
    x->bphi = ps_malloc(sizeof(double) * (size_t)top);
    x->cap = top;
  }
  for (int64_t i = 0; i < n; i++) {
    int64_t p0 = ptr[i] - ptr[0];
    row_top(x, h, idx + p0, val + p0, ptr[i + 1] - ptr[i], top, feat + (size_t)i * (size_t)top,
            out + (size_t)i * (size_t)top);
  }
}
