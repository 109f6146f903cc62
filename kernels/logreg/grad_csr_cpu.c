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
  double *gs;                /* [RB][c] a group's terms of columns in two or more of its rows, kept 0 */
  uint32_t *mark;            /* [c] 2 gid: column in one row of group gid so far; 2 gid + 1: in several */
  uint32_t gid, gid0;        /* the current group's id; the block's first */
  int32_t *dup;              /* [c + 1] the group's columns in several rows */
  int32_t *touched;          /* [c + 1] the block's columns with a stored value, first-seen order */
  int64_t nt;
};

/* One row's logit for head weights w (c weights, then the bias), in logits_cpu.c's lanes and order. */
static double row_logit(const int32_t *idx, const float *val, int64_t m, int64_t c, const double *w) {
  int64_t cv = c - c % LANES;
  double a[LANES] = {0}, t = 0;
  for (int64_t p = 0; p < m; p++) {
    int64_t j = idx[p]; /* >= 0: j % LANES is j & (LANES - 1) */
    double x = (double)val[p] * w[j];
    if (j < cv) a[j & (LANES - 1)] += x;
    else t += x;
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

/* Marks the columns of a group's rows [0, rows) (gid a->gid): a->mark[j] 2 gid where one row stores
 * column j, 2 gid + 1 where several do (listed in a->dup, *nd of them); columns new to the block are
 * appended to a->touched. Returns the group's mark of a column in one row. */
static uint32_t group_marks(ps_grad_csr_t *a, const int32_t *idx, int64_t nnz, int64_t *nd) {
  uint32_t cur = 2 * a->gid++, base = 2 * a->gid0, *mark = a->mark;
  int32_t *dup = a->dup, *touched = a->touched;
  int64_t d = 0, t = a->nt;
  for (int64_t p = 0; p < nnz; p++) {
    int32_t j = idx[p];
    uint32_t old = mark[j];
    touched[t] = j;
    t += old < base;
    dup[d] = j;
    d += old == cur;
    mark[j] = old >= cur ? cur + 1 : cur;
  }
  a->nt = t;
  *nd = d;
  return cur;
}

/* g += sum over a group of up to four rows (grad_cpu.c's tile_grad), every head: r[h * TILE + s] the
 * rows' residuals. A full group adds to each column j it touches (t0 + t1) + (t2 + t3) once, an absent
 * row's term 0: where one row stores j that sum is its term t exactly (t + 0 = t for t != 0, and a zero
 * sum leaves g[j] as it is: g is never -0), so g[j] += t at once; the columns of several rows (few at
 * low density) have their terms scattered into a->gs and summed as the dense twin does. Each g[j]
 * receives one sum a group, so the columns' order is free. A tail (rows < 4) goes row by row. */
static void group_grad(ps_grad_csr_t *a, const int64_t *ptr, const int32_t *idx, const float *val, int rows,
                       const double *r, double *grad) {
  int64_t base = ptr[0], c = a->c, c1 = c + 1, nd;
  uint32_t cur = group_marks(a, idx, ptr[rows] - base, &nd);
  for (int h = 0; h < a->k; h++) {
    double *g = grad + (size_t)h * (size_t)c1;
    const double *rh = r + h * TILE;
    if (rows < RB) { /* tail rows one at a time: g[j] += r * x */
      for (int s = 0; s < rows; s++) {
        for (int64_t p = ptr[s] - base; p < ptr[s + 1] - base; p++) g[idx[p]] += rh[s] * (double)val[p];
        g[c] += rh[s];
      }
      continue;
    }
    for (int s = 0; s < RB; s++) {
      double rs = rh[s], *ts = a->gs + (size_t)s * (size_t)c;
      for (int64_t p = ptr[s] - base; p < ptr[s + 1] - base; p++) {
        int32_t j = idx[p];
        double t = rs * (double)val[p];
        if (a->mark[j] == cur) g[j] += t;
        else ts[j] = t;
      }
    }
    double *t0 = a->gs, *t1 = t0 + c, *t2 = t1 + c, *t3 = t2 + c;
    for (int64_t q = 0; q < nd; q++) {
      int32_t j = a->dup[q];
      g[j] += (t0[j] + t1[j]) + (t2[j] + t3[j]);
      t0[j] = t1[j] = t2[j] = t3[j] = 0;
    }
    g[c] += (rh[0] + rh[1]) + (rh[2] + rh[3]);
  }
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
  int64_t c = a->c, p0 = ptr[0];
  int k = a->k;
  ps_logits_csr_cpu(ptr, idx, val, m, c, k, a->theta, a->z, TILE);
  for (int h = 0; h < k; h++) {
    double *rh = a->r + h * TILE;
    for (int64_t i = 0; i < m; i++) {
      double yi = y[(size_t)i * (size_t)k + (size_t)h], s = yi > 0.5 ? a->w_pos[h] : a->w_neg[h], l;
      ps_loss_residual(a->z[h * TILE + i], yi, s, &l, &rh[i]);
      loss[h] += l;
    }
  }
  for (int64_t i = 0; i < m; i += RB) {
    int rows = m - i < RB ? (int)(m - i) : RB;
    group_grad(a, ptr + i, idx + (ptr[i] - p0), val + (ptr[i] - p0), rows, a->r + i, grad);
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
  size_t c0 = (size_t)(c > 0 ? c : 1);
  a->gs = ps_calloc((size_t)RB * c0, sizeof(double));
  a->mark = ps_calloc(c0, sizeof(uint32_t));
  a->gid = 1;
  a->dup = ps_malloc(sizeof(int32_t) * (c0 + 1)); /* group_marks stores one past the last kept */
  a->touched = ps_malloc(sizeof(int32_t) * (c0 + 1));
  return a;
}

/* Rows [n] into loss (set) and grad (added to), a new block of touched columns. */
static void run_block(ps_grad_csr_t *a, const int64_t *ptr, const int32_t *idx, const float *val, const uint8_t *Y,
                      int64_t n, double *loss, double *grad, double *hess) {
  int64_t k = a->k, p0 = ptr[0];
  if (a->gid > 0x3fffffffu) { /* group ids run out: marks from scratch */
    memset(a->mark, 0, sizeof(uint32_t) * (size_t)(a->c > 0 ? a->c : 1));
    a->gid = 1;
  }
  a->gid0 = a->gid;
  a->nt = 0;
  memset(loss, 0, sizeof(double) * (size_t)k);
  for (int64_t i = 0; i < n; i += TILE) {
    int64_t m = n - i < TILE ? n - i : TILE;
    do_tile(a, ptr + i, idx + (ptr[i] - p0), val + (ptr[i] - p0), Y + i * k, m, loss, grad, hess);
  }
}

void ps_grad_csr_block(ps_grad_csr_t *a, const int64_t *ptr, const int32_t *idx, const float *val, const uint8_t *Y,
                       int64_t n, double *loss, double *grad, double *hess) {
  int64_t c1 = a->c + 1, k = a->k;
  memset(grad, 0, sizeof(double) * (size_t)k * (size_t)c1);
  if (hess) memset(hess, 0, sizeof(double) * (size_t)k * (size_t)(c1 * c1));
  run_block(a, ptr, idx, val, Y, n, loss, grad, a->hmask ? hess : NULL);
  for (int h = 0; hess && a->hmask && h < k; h++) { /* mirror the upper triangle (grad_cpu.c's sums_out) */
    if (!a->hmask[h]) continue;
    double *H = hess + (size_t)h * (size_t)(c1 * c1);
    for (int64_t i = 0; i < c1; i++)
      for (int64_t j = 0; j < i; j++) H[i * c1 + j] = H[j * c1 + i];
  }
}

const int32_t *ps_grad_csr_block_add(ps_grad_csr_t *a, const int64_t *ptr, const int32_t *idx, const float *val,
                                     const uint8_t *Y, int64_t n, double *loss, double *grad, int64_t *ncols) {
  const uint8_t *hmask = a->hmask;
  a->hmask = NULL; /* no Hessians */
  run_block(a, ptr, idx, val, Y, n, loss, grad, NULL);
  a->hmask = hmask;
  *ncols = a->nt;
  return a->touched;
}

const double *ps_grad_csr_resid(ps_grad_csr_t *a, const int64_t *ptr, const int32_t *idx, const float *val,
                                const uint8_t *Y, int64_t m, double *loss, double *bias) {
  int k = a->k;
  ps_logits_csr_cpu(ptr, idx, val, m, a->c, k, a->theta, a->z, TILE);
  for (int h = 0; h < k; h++) {
    double *rh = a->r + h * TILE, l, g = 0;
    loss[h] = 0;
    for (int64_t i = 0; i < m; i++) {
      double yi = Y[(size_t)i * (size_t)k + (size_t)h], s = yi > 0.5 ? a->w_pos[h] : a->w_neg[h];
      ps_loss_residual(a->z[h * TILE + i], yi, s, &l, &rh[i]);
      loss[h] += l;
    }
    int64_t i = 0;
    for (; i + RB <= m; i += RB) g += (rh[i] + rh[i + 1]) + (rh[i + 2] + rh[i + 3]);
    for (; i < m; i++) g += rh[i];
    bias[h] = g;
  }
  return a->r;
}

void ps_grad_csr_end(ps_grad_csr_t *a) {
  free(a->z);
  free(a->r);
  free(a->xt);
  free(a->hrow);
  free(a->gs);
  free(a->mark);
  free(a->dup);
  free(a->touched);
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
