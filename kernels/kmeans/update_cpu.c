/* update_cpu.c: per-cluster fixed-point sums and counts (kmeans_cpu.h). */
#include "kmeans/kmeans_cpu.h"

void km_update_cpu(const float *X, int64_t n, int64_t c, const int32_t *label, const double *d2, int k,
                   int64_t *sums, int64_t *counts, int64_t *inertia) {
  int64_t in = 0;
  for (int64_t i = 0; i < n; i++) {
    int32_t l = label[i];
    const float *x = X + (size_t)i * (size_t)c;
    int64_t *s = sums + (size_t)l * (size_t)c;
    for (int64_t j = 0; j < c; j++) s[j] += km_fix_x(x[j]);
    counts[l]++;
    if (d2) in += km_fix_d2(d2[i]);
  }
  if (inertia) *inertia += in;
  (void)k;
}
