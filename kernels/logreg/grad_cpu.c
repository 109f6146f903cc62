/* grad_cpu.c: CPU twin of grad.cu -- loss, gradient and Newton Hessians of
 * multi-head logistic regression in one pass over the rows (logreg_cpu.h).
 * Per tile of PS_GRAD_TILE rows: the logits of every head (float32 x,
 * float64 sums), the per-element loss and residual (psmath.h), the gradient
 * accumulated in float64, and for Newton one BLAS dsyrk per head. Rows are
 * visited in order, so results are deterministic. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/psmath.h"
#include "core/util.h"
#include "logreg/logits_cpu.h"
#include "logreg/logreg_cpu.h"

#define TILE PS_GRAD_TILE
#define RB 4

struct ps_grad_acc {
  int64_t c;
  int k;
  const double *theta, *w_pos, *w_neg;
  const uint8_t *hmask;
  double *loss, *grad, *hess;
  double *z, *r, *l, *xt, *hrow; /* tile buffers */
  float *carry;                  /* rows of an unfinished tile: [TILE][c] */
  uint8_t *carry_y;              /* [TILE][k] */
  int64_t ncarry;
};

/* Loss terms l[i] and residuals r[i] of m rows of one head (labels with stride k). */
PS_KERNEL static void tile_loss(const double *restrict z, const uint8_t *restrict y, int64_t m, int k, double w_pos,
                                double w_neg, double *restrict l, double *restrict r) {
  for (int64_t i = 0; i < m; i++) {
    double yi = y[i * k], s = yi > 0.5 ? w_pos : w_neg;
    ps_loss_residual(z[i], yi, s, &l[i], &r[i]);
  }
}

/* g_h += sum_i r[h*ld + i] * [x_i, 1] over rows [0, m) of a tile, every head;
 * rows go four at a time: one read-modify-write of g per four rows. */
PS_KERNEL static void tile_grad(const float *restrict X, int64_t m, int64_t c, int k, const double *restrict res,
                                int64_t ld, double *restrict grad) {
  int64_t c1 = c + 1;
  for (int h = 0; h < k; h++) {
    double *restrict g = grad + (size_t)h * (size_t)c1;
    const double *rh = res + h * ld;
    int64_t i = 0;
    for (; i + RB <= m; i += RB) {
      double r0 = rh[i], r1 = rh[i + 1], r2 = rh[i + 2], r3 = rh[i + 3];
      const float *x0 = X + (size_t)i * (size_t)c, *x1 = x0 + c, *x2 = x1 + c, *x3 = x2 + c;
      for (int64_t j = 0; j < c; j++)
        g[j] += (r0 * (double)x0[j] + r1 * (double)x1[j]) + (r2 * (double)x2[j] + r3 * (double)x3[j]);
      g[c] += (r0 + r1) + (r2 + r3);
    }
    for (; i < m; i++) {
      const float *x = X + (size_t)i * (size_t)c;
      for (int64_t j = 0; j < c; j++) g[j] += rh[i] * (double)x[j];
      g[c] += rh[i];
    }
  }
}

/* One tile of m <= TILE rows (x ld c, y ld k) into the running sums. */
static void do_tile(ps_grad_acc_t *a, const float *x, const uint8_t *y, int64_t m) {
  int64_t c = a->c, c1 = c + 1;
  int k = a->k;
  ps_logits_cpu(x, m, c, k, a->theta, a->z, TILE);
  for (int h = 0; h < k; h++) {
    tile_loss(a->z + h * TILE, y + h, m, k, a->w_pos[h], a->w_neg[h], a->l, a->r + h * TILE);
    for (int64_t i = 0; i < m; i++) a->loss[h] += a->l[i];
  }
  tile_grad(x, m, c, k, a->r, TILE, a->grad);
  if (!a->hess) return;
  /* Newton: H_h += sum_i s p (1-p) [x,1][x,1]^T as one dsyrk per tile and head */
  for (int64_t i = 0; i < m; i++) {
    for (int64_t j = 0; j < c; j++) a->xt[i * c1 + j] = x[(size_t)i * (size_t)c + (size_t)j];
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
                a->hess + (size_t)h * (size_t)(c1 * c1), (int)c1);
  }
}

ps_grad_acc_t *ps_grad_cpu_begin(int64_t c, int k, const double *theta, const double *w_pos, const double *w_neg,
                                 const uint8_t *hmask) {
  ps_grad_acc_t *a = ps_calloc(1, sizeof *a);
  int64_t c1 = c + 1;
  int nh = 0;
  for (int h = 0; hmask && h < k; h++) nh += hmask[h] != 0;
  a->c = c;
  a->k = k;
  a->theta = theta;
  a->w_pos = w_pos;
  a->w_neg = w_neg;
  a->hmask = nh ? hmask : NULL;
  a->loss = ps_calloc((size_t)k, sizeof(double));
  a->grad = ps_calloc((size_t)k * (size_t)c1, sizeof(double));
  a->hess = nh ? ps_calloc((size_t)k * (size_t)(c1 * c1), sizeof(double)) : NULL;
  a->z = ps_malloc(sizeof(double) * TILE * (size_t)k);
  a->r = ps_malloc(sizeof(double) * TILE * (size_t)k);
  a->l = ps_malloc(sizeof(double) * TILE);
  a->xt = nh ? ps_malloc(sizeof(double) * TILE * (size_t)c1) : NULL;
  a->hrow = nh ? ps_malloc(sizeof(double) * TILE * (size_t)c1) : NULL;
  a->carry = ps_malloc(sizeof(float) * TILE * (size_t)(c > 0 ? c : 1));
  a->carry_y = ps_malloc(TILE * (size_t)k);
  return a;
}

void ps_grad_cpu_rows(ps_grad_acc_t *a, const float *X, const uint8_t *Y, int64_t n) {
  int64_t c = a->c, k = a->k, i = 0;
  if (a->ncarry > 0) { /* complete the tile left over from the previous piece */
    int64_t take = TILE - a->ncarry < n ? TILE - a->ncarry : n;
    memcpy(a->carry + a->ncarry * c, X, sizeof(float) * (size_t)(take * c));
    memcpy(a->carry_y + a->ncarry * k, Y, (size_t)(take * k));
    a->ncarry += take;
    i = take;
    if (a->ncarry == TILE) {
      do_tile(a, a->carry, a->carry_y, TILE);
      a->ncarry = 0;
    }
  }
  for (; i + TILE <= n; i += TILE) do_tile(a, X + i * c, Y + i * k, TILE);
  if (i < n) {
    memcpy(a->carry, X + i * c, sizeof(float) * (size_t)((n - i) * c));
    memcpy(a->carry_y, Y + i * k, (size_t)((n - i) * k));
    a->ncarry = n - i;
  }
}

/* The sums out (the mirrored Hessians of masked heads, zeros for the others). */
static void sums_out(ps_grad_acc_t *a, double *loss, double *grad, double *hess) {
  int64_t c1 = a->c + 1;
  int k = a->k;
  memcpy(loss, a->loss, sizeof(double) * (size_t)k);
  memcpy(grad, a->grad, sizeof(double) * (size_t)k * (size_t)c1);
  if (hess) {
    if (a->hess) memcpy(hess, a->hess, sizeof(double) * (size_t)k * (size_t)(c1 * c1));
    else memset(hess, 0, sizeof(double) * (size_t)k * (size_t)(c1 * c1));
    for (int h = 0; a->hmask && h < k; h++) { /* mirror the upper triangle */
      if (!a->hmask[h]) continue;
      double *H = hess + (size_t)h * (size_t)(c1 * c1);
      for (int64_t i = 0; i < c1; i++)
        for (int64_t j = 0; j < i; j++) H[i * c1 + j] = H[j * c1 + i];
    }
  }
}

void ps_grad_cpu_end(ps_grad_acc_t *a, double *loss, double *grad, double *hess) {
  if (a->ncarry > 0) do_tile(a, a->carry, a->carry_y, a->ncarry);
  sums_out(a, loss, grad, hess);
  free(a->loss); free(a->grad); free(a->hess); free(a->z); free(a->r); free(a->l); free(a->xt); free(a->hrow);
  free(a->carry); free(a->carry_y);
  free(a);
}

void ps_grad_cpu_block(ps_grad_acc_t *a, const float *X, const uint8_t *Y, int64_t n, double *loss, double *grad,
                       double *hess) {
  int64_t c = a->c, c1 = c + 1, k = a->k, i = 0;
  memset(a->loss, 0, sizeof(double) * (size_t)k);
  memset(a->grad, 0, sizeof(double) * (size_t)k * (size_t)c1);
  if (a->hess) memset(a->hess, 0, sizeof(double) * (size_t)k * (size_t)(c1 * c1));
  /* the tiles of rows(): whole tiles, then the rest (read in place, not via the carry: the same values) */
  for (; i + TILE <= n; i += TILE) do_tile(a, X + i * c, Y + i * k, TILE);
  if (i < n) do_tile(a, X + i * c, Y + i * k, n - i);
  sums_out(a, loss, grad, hess);
}
