/* assign_cpu.c: distances by GEMM and the argmin (kmeans_cpu.h). */
#include <cblas.h>
#include <string.h>

#include "kmeans/kmeans_cpu.h"

void km_norms_cpu(const float *X, int64_t n, int64_t c, double *xnorm) {
  for (int64_t i = 0; i < n; i++) xnorm[i] = km_norm2(X + (size_t)i * (size_t)c, c);
}

void km_argmin_cpu(const double *xnorm, int64_t n, const float *G, const double *cnorm, int k, int32_t *label,
                   double *d2) {
  double s[64];
  for (int64_t i = 0; i < n; i++) {
    const float *g = G + (size_t)i * (size_t)k;
    double best = km_score(g[0], cnorm[0]);
    int32_t bj = 0;
    for (int j0 = 0; j0 < k; j0 += 64) { /* scores in a vectorized pass, then the argmin */
      int m = k - j0 < 64 ? k - j0 : 64;
      for (int j = 0; j < m; j++) s[j] = km_score(g[j0 + j], cnorm[j0 + j]);
      for (int j = 0; j < m; j++) {
        int better = s[j] < best;
        best = better ? s[j] : best;
        bj = better ? j0 + j : bj;
      }
    }
    label[i] = bj;
    d2[i] = km_dist2(xnorm[i], best);
  }
}

int64_t km_assign_work(int64_t c, int k) { return (int64_t)KM_BLOCK * ((int64_t)k + c); }

void km_assign_cpu(const float *X, const double *xnorm, int64_t n, int64_t c, const float *Cf, const double *cnorm,
                   int k, int32_t *label, double *d2, float *work) {
  float *G = work, *pad = work + (size_t)KM_BLOCK * (size_t)k;
  for (int64_t i0 = 0; i0 < n; i0 += KM_BLOCK) {
    int64_t m = n - i0 < KM_BLOCK ? n - i0 : KM_BLOCK;
    const float *A = X + (size_t)i0 * (size_t)c;
    if (m < KM_BLOCK) { /* the same GEMM shape for every block */
      memset(pad, 0, sizeof(float) * (size_t)KM_BLOCK * (size_t)c);
      memcpy(pad, A, sizeof(float) * (size_t)m * (size_t)c);
      A = pad;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, KM_BLOCK, k, (int)c, 1.0f, A, (int)c, Cf, (int)c, 0.0f, G,
                k);
    km_argmin_cpu(xnorm + i0, m, G, cnorm, k, label + i0, d2 + i0);
  }
}

void km_exact_d2_cpu(const float *X, int64_t n, int64_t c, const double *C, const int32_t *label, double *d2) {
  for (int64_t i = 0; i < n; i++) {
    const float *x = X + (size_t)i * (size_t)c;
    const double *ct = C + (size_t)label[i] * (size_t)c;
    double s = 0.0;
    for (int64_t j = 0; j < c; j++) {
      double t = (double)x[j] - ct[j];
      s += t * t;
    }
    d2[i] = s;
  }
}
