/* backend_cpu.c: the CPU twin of the CUDA kernels. Rows are processed in
 * one pass: per row, the logits of every head (float32 x, float64 sums),
 * the per-element terms from psmath.h, and the gradient accumulated in
 * float64; Newton's Hessian is one BLAS dsyrk per tile of TILE rows. Rows
 * are visited in order, so results are deterministic. Scoring raw rows
 * standardizes a tile to float32 first, exactly as training rows are. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "psmath.h"
#include "util.h"

#define TILE 256

/* Hot loops get an AVX2 clone beside the baseline x86-64 one, picked at run
 * time; -ffp-contract=off (ISO C mode) keeps both bitwise identical. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define PS_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define PS_KERNEL
#endif

typedef struct {
  const float *X; /* resident rows (set_train) */
  const uint8_t *Y;
  int64_t n, c;
  int k;
  double *w_pos, *w_neg;
  double *xt, *z, *r, *l; /* tile buffers: [TILE][c+1], [TILE][k] x 3 */
  /* the evaluation in progress (eval_begin .. eval_end) */
  const double *theta;
  const uint8_t *hmask;
  double *loss, *grad, *hess, *hrow;
  float *carry;        /* rows of an unfinished tile: [TILE][c] */
  uint8_t *carry_y;    /* [TILE][k] */
  int64_t ncarry;
} cpu_t;

/* Widen rows [i0, i0+m) of X (ld = c) into xt (ld = c + 1), last column 1. */
static void widen(const float *X, int64_t c, int64_t i0, int64_t m, double *xt) {
  for (int64_t i = 0; i < m; i++) {
    const float *x = X + (size_t)(i0 + i) * (size_t)c;
    double *o = xt + (size_t)i * (size_t)(c + 1);
    for (int64_t j = 0; j < c; j++) o[j] = x[j];
    o[c] = 1.0;
  }
}

static void grow(cpu_t *s, int64_t c, int k) {
  free(s->xt); free(s->z); free(s->r); free(s->l); free(s->carry); free(s->carry_y);
  s->l = ps_malloc(sizeof(double) * TILE * (size_t)k);
  s->xt = ps_malloc(sizeof(double) * TILE * (size_t)(c + 1));
  s->z = ps_malloc(sizeof(double) * TILE * (size_t)k);
  s->r = ps_malloc(sizeof(double) * TILE * (size_t)k);
  s->carry = ps_malloc(sizeof(float) * TILE * (size_t)c);
  s->carry_y = ps_malloc(TILE * (size_t)k);
  s->c = c;
  s->k = k;
}

static void set_weights(cpu_t *s, int k, const double *w_pos, const double *w_neg) {
  free(s->w_pos); free(s->w_neg);
  s->w_pos = ps_malloc(sizeof(double) * (size_t)k);
  s->w_neg = ps_malloc(sizeof(double) * (size_t)k);
  memcpy(s->w_pos, w_pos, sizeof(double) * (size_t)k);
  memcpy(s->w_neg, w_neg, sizeof(double) * (size_t)k);
}

static void cpu_set_train(ps_backend_t *b, const float *X, const uint8_t *Y, int64_t n, int64_t c, int k,
                          const double *w_pos, const double *w_neg) {
  cpu_t *s = b->impl;
  s->X = X; s->Y = Y; s->n = n;
  set_weights(s, k, w_pos, w_neg);
  grow(s, c, k);
}

/* Logits of R consecutive rows (ld c) for every head:
 * z[r*k + h] = bias_h + sum_j x_r[j] * w_h[j]. Each row is summed in LANES
 * interleaved partial sums combined in a fixed order, the same for any R, so
 * the compiler vectorizes without reassociating: a row's logit has the same
 * bits whichever R it went through, on any x86-64. */
#define LANES 8
#define RB 4
/* One head, R rows (R a compile-time constant after inlining). */
static inline void logits_rows(const float *restrict X, int R, int64_t c, const double *restrict w,
                               double *restrict out) {
  int64_t cv = c - c % LANES;
  double a[RB][LANES];
  /* start from the first products rather than zeroing (0 + p == p: same bits) */
  for (int r = 0; r < R; r++)
    for (int l = 0; l < LANES; l++)
      a[r][l] = cv > 0 ? (double)X[(size_t)r * (size_t)c + (size_t)l] * w[l] : 0.0;
  for (int64_t j = LANES; j < cv; j += LANES)
    for (int r = 0; r < R; r++)
      for (int l = 0; l < LANES; l++) a[r][l] += (double)X[(size_t)r * (size_t)c + (size_t)(j + l)] * w[j + l];
  for (int r = 0; r < R; r++) {
    double t = 0;
    for (int64_t j = cv; j < c; j++) t += (double)X[(size_t)r * (size_t)c + (size_t)j] * w[j];
    for (int l = 0; l < LANES; l++) t += a[r][l];
    out[r] = w[c] + t;
  }
}

/* Two heads, two rows at a time: each x is widened once for both heads. The
 * partial sums per (head, row) run in the same lanes and order as
 * logits_rows, so the bits are the same whichever path a row takes. */
static inline void logits_2h2r(const float *restrict X, int64_t c, const double *restrict w0,
                               const double *restrict w1, double *restrict z0, double *restrict z1) {
  int64_t cv = c - c % LANES;
  double a[2][2][LANES];
  for (int r = 0; r < 2; r++)
    for (int l = 0; l < LANES; l++) {
      double x = cv > 0 ? (double)X[(size_t)r * (size_t)c + (size_t)l] : 0.0;
      a[0][r][l] = cv > 0 ? x * w0[l] : 0.0;
      a[1][r][l] = cv > 0 ? x * w1[l] : 0.0;
    }
  for (int64_t j = LANES; j < cv; j += LANES)
    for (int r = 0; r < 2; r++)
      for (int l = 0; l < LANES; l++) {
        double x = (double)X[(size_t)r * (size_t)c + (size_t)(j + l)];
        a[0][r][l] += x * w0[j + l];
        a[1][r][l] += x * w1[j + l];
      }
  for (int r = 0; r < 2; r++) {
    double t0 = 0, t1 = 0;
    for (int64_t j = cv; j < c; j++) {
      double x = (double)X[(size_t)r * (size_t)c + (size_t)j];
      t0 += x * w0[j];
      t1 += x * w1[j];
    }
    for (int l = 0; l < LANES; l++) {
      t0 += a[0][r][l];
      t1 += a[1][r][l];
    }
    z0[r] = w0[c] + t0;
    z1[r] = w1[c] + t1;
  }
}

/* Logits of rows [0, m) of a tile for every head, head-major: z[h*ld + i]. */
PS_KERNEL static void tile_logits(const float *restrict X, int64_t m, int64_t c, int k, const double *restrict theta,
                                  double *restrict z, int64_t ld) {
  int h = 0;
  for (; h + 2 <= k; h += 2) {
    const double *w0 = theta + (size_t)h * (size_t)(c + 1), *w1 = w0 + (c + 1);
    int64_t i = 0;
    for (; i + 2 <= m; i += 2)
      logits_2h2r(X + (size_t)i * (size_t)c, c, w0, w1, z + h * ld + i, z + (h + 1) * ld + i);
    for (; i < m; i++) {
      logits_rows(X + (size_t)i * (size_t)c, 1, c, w0, z + h * ld + i);
      logits_rows(X + (size_t)i * (size_t)c, 1, c, w1, z + (h + 1) * ld + i);
    }
  }
  for (; h < k; h++) {
    const double *w = theta + (size_t)h * (size_t)(c + 1);
    int64_t i = 0;
    for (; i + RB <= m; i += RB) logits_rows(X + (size_t)i * (size_t)c, RB, c, w, z + h * ld + i);
    for (; i < m; i++) logits_rows(X + (size_t)i * (size_t)c, 1, c, w, z + h * ld + i);
  }
}

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
static void do_tile(cpu_t *s, const float *x, const uint8_t *y, int64_t m) {
  int64_t c = s->c, c1 = c + 1;
  int k = s->k;
  tile_logits(x, m, c, k, s->theta, s->z, TILE);
  for (int h = 0; h < k; h++) {
    tile_loss(s->z + h * TILE, y + h, m, k, s->w_pos[h], s->w_neg[h], s->l, s->r + h * TILE);
    for (int64_t i = 0; i < m; i++) s->loss[h] += s->l[i];
  }
  tile_grad(x, m, c, k, s->r, TILE, s->grad);
  if (!s->hess) return;
  /* Newton: H_h += sum_i s p (1-p) [x,1][x,1]^T as one dsyrk per tile */
  widen(x, c, 0, m, s->xt);
  for (int h = 0; h < k; h++) {
    if (!s->hmask[h]) continue;
    for (int64_t i = 0; i < m; i++) {
      double yi = y[(size_t)i * (size_t)k + (size_t)h];
      double q = sqrt(ps_hess_weight(s->z[h * TILE + i], ps_row_weight(yi, s->w_pos[h], s->w_neg[h])));
      for (int64_t j = 0; j < c1; j++) s->hrow[i * c1 + j] = q * s->xt[i * c1 + j];
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)c1, (int)m, 1.0, s->hrow, (int)c1, 1.0,
                s->hess + (size_t)h * (size_t)(c1 * c1), (int)c1);
  }
}

static void cpu_eval_begin(ps_backend_t *b, const double *theta, int64_t c, int k, const double *w_pos,
                           const double *w_neg, const uint8_t *hmask) {
  cpu_t *s = b->impl;
  if (s->c != c || s->k != k || !s->z) grow(s, c, k);
  if (w_pos != s->w_pos) set_weights(s, k, w_pos, w_neg);
  int64_t c1 = c + 1;
  int nh = 0;
  for (int h = 0; hmask && h < k; h++) nh += hmask[h] != 0;
  s->theta = theta;
  s->hmask = hmask;
  s->loss = ps_calloc((size_t)k, sizeof(double));
  s->grad = ps_calloc((size_t)k * (size_t)c1, sizeof(double));
  s->hess = nh ? ps_calloc((size_t)k * (size_t)(c1 * c1), sizeof(double)) : NULL;
  s->hrow = nh ? ps_malloc(sizeof(double) * TILE * (size_t)c1) : NULL;
  s->ncarry = 0;
}

static void cpu_eval_rows(ps_backend_t *b, const float *X, const uint8_t *Y, int64_t n) {
  cpu_t *s = b->impl;
  int64_t c = s->c, k = s->k, i = 0;
  if (s->ncarry > 0) { /* complete the tile left over from the previous block */
    int64_t take = TILE - s->ncarry < n ? TILE - s->ncarry : n;
    memcpy(s->carry + s->ncarry * c, X, sizeof(float) * (size_t)(take * c));
    memcpy(s->carry_y + s->ncarry * k, Y, (size_t)(take * k));
    s->ncarry += take;
    i = take;
    if (s->ncarry == TILE) {
      do_tile(s, s->carry, s->carry_y, TILE);
      s->ncarry = 0;
    }
  }
  for (; i + TILE <= n; i += TILE) do_tile(s, X + i * c, Y + i * k, TILE);
  if (i < n) {
    memcpy(s->carry, X + i * c, sizeof(float) * (size_t)((n - i) * c));
    memcpy(s->carry_y, Y + i * k, (size_t)((n - i) * k));
    s->ncarry = n - i;
  }
}

static void cpu_eval_end(ps_backend_t *b, double *loss, double *grad, double *hess) {
  cpu_t *s = b->impl;
  int64_t c1 = s->c + 1;
  int k = s->k;
  if (s->ncarry > 0) do_tile(s, s->carry, s->carry_y, s->ncarry);
  s->ncarry = 0;
  memcpy(loss, s->loss, sizeof(double) * (size_t)k);
  memcpy(grad, s->grad, sizeof(double) * (size_t)k * (size_t)c1);
  if (hess) {
    if (s->hess) memcpy(hess, s->hess, sizeof(double) * (size_t)k * (size_t)(c1 * c1));
    else memset(hess, 0, sizeof(double) * (size_t)k * (size_t)(c1 * c1));
    for (int h = 0; h < k; h++) { /* mirror the upper triangle */
      if (!s->hmask[h]) continue;
      double *H = hess + (size_t)h * (size_t)(c1 * c1);
      for (int64_t i = 0; i < c1; i++)
        for (int64_t j = 0; j < i; j++) H[i * c1 + j] = H[j * c1 + i];
    }
  }
  free(s->loss); free(s->grad); free(s->hess); free(s->hrow);
  s->loss = s->grad = s->hess = s->hrow = NULL;
}

/* Resident rows: the same three steps over all of them at once. */
static void cpu_eval(ps_backend_t *b, const double *theta, double *loss, double *grad, double *hess,
                     const uint8_t *hmask) {
  cpu_t *s = b->impl;
  cpu_eval_begin(b, theta, s->c, s->k, s->w_pos, s->w_neg, hess ? hmask : NULL);
  cpu_eval_rows(b, s->X, s->Y, s->n);
  cpu_eval_end(b, loss, grad, hess);
}

/* Probabilities of standardized rows, tile by tile, head-major output. */
static void predict_rows(const float *X, int64_t m, int64_t c, int k, const double *theta, double *z, int64_t i0,
                         int64_t n, float *P) {
  tile_logits(X, m, c, k, theta, z, TILE);
  for (int h = 0; h < k; h++)
    for (int64_t i = 0; i < m; i++) P[(size_t)h * (size_t)n + (size_t)(i0 + i)] = (float)ps_sigmoid(z[h * TILE + i]);
}

static void cpu_predict_std(ps_backend_t *b, const double *theta, int k, const float *X, int64_t n, int64_t c,
                            float *P) {
  double *z = ps_malloc(sizeof(double) * TILE * (size_t)k);
  for (int64_t i0 = 0; i0 < n; i0 += TILE)
    predict_rows(X + (size_t)i0 * (size_t)c, n - i0 < TILE ? n - i0 : TILE, c, k, theta, z, i0, n, P);
  free(z);
}

static void cpu_predict_raw(ps_backend_t *b, const ps_transform_t *t, const double *theta, int k, const float *X,
                            int64_t n, float *P) {
  /* standardize a tile of rows on the fly (float32, like the training rows), then score it */
  int64_t c = t->c;
  float *xs = ps_malloc(sizeof(float) * TILE * (size_t)c);
  double *z = ps_malloc(sizeof(double) * TILE * (size_t)k);
  for (int64_t i0 = 0; i0 < n; i0 += TILE) {
    int64_t m = n - i0 < TILE ? n - i0 : TILE;
    for (int64_t i = 0; i < m; i++) {
      const float *x = X + (size_t)(i0 + i) * (size_t)t->f;
      float *o = xs + (size_t)i * (size_t)c;
      for (int64_t j = 0; j < c; j++) o[j] = (float)ps_standardize(x[t->src[j]], t->kind[j], t->mean[j], t->scale[j]);
    }
    predict_rows(xs, m, c, k, theta, z, i0, n, P);
  }
  free(xs);
  free(z);
}

static void cpu_destroy(ps_backend_t *b) {
  cpu_t *s = b->impl;
  free(s->xt); free(s->z); free(s->r); free(s->l); free(s->w_pos); free(s->w_neg);
  free(s->carry); free(s->carry_y);
  free(s);
  free(b);
}

ps_backend_t *backend_cpu_create(void) {
  ps_backend_t *b = ps_calloc(1, sizeof *b);
  b->name = "cpu";
  b->impl = ps_calloc(1, sizeof(cpu_t));
  b->set_train = cpu_set_train;
  b->eval = cpu_eval;
  b->eval_begin = cpu_eval_begin;
  b->eval_rows = cpu_eval_rows;
  b->eval_end = cpu_eval_end;
  b->predict_std = cpu_predict_std;
  b->predict_raw = cpu_predict_raw;
  b->destroy = cpu_destroy;
  return b;
}
