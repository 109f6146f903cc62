/* grad_csr_cpu.c: loss, gradient (and Newton Hessians) and probabilities of
 * multi-head logistic regression over CSR rows, bitwise those of the dense
 * twins over the same rows (logreg_csr_cpu.h says why). Work: O(stored
 * values) a pass, plus O(c) a tile for Newton's dense tile. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/psmath.h"
#include "core/util.h"
#include "logreg/logreg_cpu.h"
#include "logreg/logreg_csr_cpu.h"

#define TILE PS_GRAD_TILE
#define LANES 8 /* logits_cpu.c's */
#define RB 4    /* grad_cpu.c's rows a group */

struct ps_grad_csr {
  int64_t c;
  int k;
  const double *theta, *w_pos, *w_neg;
  const uint8_t *hmask;
  double *z, *r, *xt, *hrow; /* tile buffers */
  double *gs;                /* [RB][c] a group's terms by column, kept 0 between groups */
  int32_t *cols;             /* [c] the group's columns, first-seen order */
  uint8_t *seen;             /* [c] kept 0 between groups */
};

/* One row's logit for head weights w (c weights, then the bias), in logits_cpu.c's lanes and order. */
static double row_logit(const int32_t *idx, const float *val, int64_t m, int64_t c, const double *w) {
  int64_t cv = c - c % LANES;
  double a[LANES] = {0}, t = 0;
  for (int64_t p = 0; p < m; p++) {
    int64_t j = idx[p];
    if (j < cv) a[j % LANES] += (double)val[p] * w[j];
    else t += (double)val[p] * w[j];
  }
  for (int l = 0; l < LANES; l++) t += a[l];
  return w[c] + t;
}

void ps_logits_csr_cpu(const int64_t *ptr, const int32_t *idx, const float *val, int64_t m, int64_t c, int k,
                       const double *theta, double *z, int64_t ld) {
  for (int h = 0; h < k; h++) {
    const double *w = theta + (size_t)h * (size_t)(c + 1);
    for (int64_t i = 0; i < m; i++) {
      int64_t p0 = ptr[i] - ptr[0];
      z[h * ld + i] = row_logit(idx + p0, val + p0, ptr[i + 1] - ptr[i], c, w);
    }
  }
}

/* g += sum over a group of up to four rows (grad_cpu.c's tile_grad): r[s] the rows' residuals. A full
 * group's terms r[s] * x are scattered by column into a->gs (an absent row's term stays 0) and each
 * column it touches gets g[j] += (t0 + t1) + (t2 + t3) once: the same additions as a merge of the
 * four rows in column order (each g[j] receives one sum a group, so the columns' order is free). */
static void group_grad(ps_grad_csr_t *a, const int64_t *ptr, const int32_t *idx, const float *val, int rows,
                       const double *r, int64_t c, double *g) {
  int64_t base = ptr[0];
  if (rows < RB) { /* tail rows one at a time: g[j] += r * x */
    for (int s = 0; s < rows; s++) {
      for (int64_t p = ptr[s] - base; p < ptr[s + 1] - base; p++) g[idx[p]] += r[s] * (double)val[p];
      g[c] += r[s];
    }
    return;
  }
  double *t0 = a->gs, *t1 = t0 + c, *t2 = t1 + c, *t3 = t2 + c, *ts[RB] = {t0, t1, t2, t3};
  int64_t n = 0;
  for (int s = 0; s < RB; s++)
    for (int64_t p = ptr[s] - base; p < ptr[s + 1] - base; p++) {
      int32_t j = idx[p];
      ts[s][j] = r[s] * (double)val[p];
      if (!a->seen[j]) {
        a->seen[j] = 1;
        a->cols[n++] = j;
      }
    }
  for (int64_t q = 0; q < n; q++) {
    int32_t j = a->cols[q];
    g[j] += (t0[j] + t1[j]) + (t2[j] + t3[j]);
    t0[j] = t1[j] = t2[j] = t3[j] = 0;
    a->seen[j] = 0;
  }
  g[c] += (r[0] + r[1]) + (r[2] + r[3]);
}

/* Newton: a tile's rows dense ([m][c+1], bias 1) and one dsyrk per masked head, as grad_cpu.c. */
static void tile_hess(ps_grad_csr_t *a, const int64_t *ptr, const int32_t *idx, const float *val, const uint8_t *y,
                      int64_t m, double *hess) {
  int64_t c = a->c, c1 = c + 1;
  int k = a->k;
  memset(a->xt, 0, sizeof(double) * (size_t)(m * c1));
  for (int64_t i = 0; i < m; i++) {
    for (int64_t p = ptr[i] - ptr[0]; p < ptr[i + 1] - ptr[0]; p++) a->xt[i * c1 + idx[p]] = val[p];
    a->xt[i * c1 + c] = 1.0;
  }
  for (int h = 0; h < k; h++) {
    if (!a->hmask[h]) continue;
    for (int64_t i = 0; i < m; i++) {
      double yi = y[(size_t)i * (size_t)k + (size_t)h];
      double q = sqrt(ps_hess_weight(a->z[h * TILE + i], ps_row_weight(yi, a->w_pos[h], a->w_neg[h])));
      for (int64_t j = 0; j < c1; j++) a->hrow[i * c1 + j] = q * a->xt[i * c1 + j];
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)c1, (int)m, 1.0, a->hrow, (int)c1, 1.0,
                hess + (size_t)h * (size_t)(c1 * c1), (int)c1);
  }
}

/* One tile of m <= TILE rows into the sums. */
static void do_tile(ps_grad_csr_t *a, const int64_t *ptr, const int32_t *idx, const float *val, const uint8_t *y,
                    int64_t m, double *loss, double *grad, double *hess) {
  int64_t c = a->c, c1 = c + 1, p0 = ptr[0];
  int k = a->k;
  ps_logits_csr_cpu(ptr, idx, val, m, c, k, a->theta, a->z, TILE);
  for (int h = 0; h < k; h++) {
    double *rh = a->r + h * TILE;
    for (int64_t i = 0; i < m; i++) {
      double yi = y[(size_t)i * (size_t)k + (size_t)h], s = yi > 0.5 ? a->w_pos[h] : a->w_neg[h], l;
      ps_loss_residual(a->z[h * TILE + i], yi, s, &l, &rh[i]);
      loss[h] += l;
    }
    double *g = grad + (size_t)h * (size_t)c1;
    for (int64_t i = 0; i < m; i += RB) {
      int rows = m - i < RB ? (int)(m - i) : RB;
      group_grad(a, ptr + i, idx + (ptr[i] - p0), val + (ptr[i] - p0), rows, rh + i, c, g);
    }
  }
  if (a->hmask) tile_hess(a, ptr, idx, val, y, m, hess);
}

ps_grad_csr_t *ps_grad_csr_begin(int64_t c, int k, const double *theta, const double *w_pos, const double *w_neg,
                                 const uint8_t *hmask) {
  ps_grad_csr_t *a = ps_calloc(1, sizeof *a);
  int nh = 0;
  for (int h = 0; hmask && h < k; h++) nh += hmask[h] != 0;
  *a = (ps_grad_csr_t){.c = c, .k = k, .theta = theta, .w_pos = w_pos, .w_neg = w_neg, .hmask = nh ? hmask : NULL};
  a->z = ps_malloc(sizeof(double) * TILE * (size_t)k);
  a->r = ps_malloc(sizeof(double) * TILE * (size_t)k);
  a->xt = nh ? ps_malloc(sizeof(double) * TILE * (size_t)(c + 1)) : NULL;
  a->hrow = nh ? ps_malloc(sizeof(double) * TILE * (size_t)(c + 1)) : NULL;
  a->gs = ps_calloc((size_t)RB * (size_t)(c > 0 ? c : 1), sizeof(double));
  a->cols = ps_malloc(sizeof(int32_t) * (size_t)(c > 0 ? c : 1));
  a->seen = ps_calloc((size_t)(c > 0 ? c : 1), 1);
  return a;
}

void ps_grad_csr_block(ps_grad_csr_t *a, const int64_t *ptr, const int32_t *idx, const float *val, const uint8_t *Y,
                       int64_t n, double *loss, double *grad, double *hess) {
  int64_t c1 = a->c + 1, k = a->k, p0 = ptr[0];
  memset(loss, 0, sizeof(double) * (size_t)k);
  memset(grad, 0, sizeof(double) * (size_t)k * (size_t)c1);
  if (hess) memset(hess, 0, sizeof(double) * (size_t)k * (size_t)(c1 * c1));
  for (int64_t i = 0; i < n; i += TILE) {
    int64_t m = n - i < TILE ? n - i : TILE;
    do_tile(a, ptr + i, idx + (ptr[i] - p0), val + (ptr[i] - p0), Y + i * k, m, loss, grad, a->hmask ? hess : NULL);
  }
  for (int h = 0; hess && a->hmask && h < k; h++) { /* mirror the upper triangle (grad_cpu.c's sums_out) */
    if (!a->hmask[h]) continue;
    double *H = hess + (size_t)h * (size_t)(c1 * c1);
    for (int64_t i = 0; i < c1; i++)
      for (int64_t j = 0; j < i; j++) H[i * c1 + j] = H[j * c1 + i];
  }
}

void ps_grad_csr_end(ps_grad_csr_t *a) {
  free(a->z);
  free(a->r);
  free(a->xt);
  free(a->hrow);
  free(a->gs);
  free(a->cols);
  free(a->seen);
  free(a);
}

void ps_score_csr_cpu(const int64_t *ptr, const int32_t *idx, const float *val, int64_t n, int64_t c, int k,
                      const double *theta, float *P) {
  double *z = ps_malloc(sizeof(double) * TILE * (size_t)k);
  for (int64_t i0 = 0; i0 < n; i0 += TILE) {
    int64_t m = n - i0 < TILE ? n - i0 : TILE;
    ps_logits_csr_cpu(ptr + i0, idx + (ptr[i0] - ptr[0]), val + (ptr[i0] - ptr[0]), m, c, k, theta, z, TILE);
    for (int h = 0; h < k; h++)
      for (int64_t i = 0; i < m; i++) P[(size_t)h * (size_t)n + (size_t)(i0 + i)] = (float)ps_sigmoid(z[h * TILE + i]);
  }
  free(z);
}
