/* logits_cpu.c: the logits of a tile of rows for every head (logits_cpu.h),
 * shared by the gradient and scoring twins. Each row is summed in LANES
 * interleaved partial sums combined in a fixed order, the same for any
 * number of rows at a time, so the compiler vectorizes without
 * reassociating: a row's logit has the same bits whichever path it took. */
#include "logreg/logits_cpu.h"

#define LANES 8
#define RB 4

/* One head, R rows (R a compile-time constant after inlining). */
static inline void logits_rows(const float *restrict X, int R, int64_t c, const double *restrict w,
                               double *restrict out) {
  int64_t cv = c - c % LANES;
  double a[RB][LANES];
  /* start from the first products rather than zeroing (0 + p == p: same bits) */
  for (int r = 0; r < R; r++)
    for (int l = 0; l < LANES; l++) a[r][l] = cv > 0 ? (double)X[(size_t)r * (size_t)c + (size_t)l] * w[l] : 0.0;
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

/* Two heads, two rows at a time: each x is widened once for both heads; the
 * partial sums per (head, row) run in the same lanes and order as above. */
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

PS_KERNEL void ps_logits_cpu(const float *restrict X, int64_t m, int64_t c, int k, const double *restrict theta,
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
