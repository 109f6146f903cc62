/* update_cpu.c: per-cluster fixed-point sums and counts (kmeans_cpu.h). */
#include "kmeans/kmeans_cpu.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* The same integers as the scalar loop: float -> double is exact, the
 * product by 2^24 is exact, vcvttpd2qq truncates toward zero as the C cast
 * does (and gives the same INT64_MIN where the value is out of range). */
__attribute__((target("avx512f,avx512dq"))) static void update_avx512(const float *X, int64_t n, int64_t c,
                                                                       const int32_t *label, int64_t *sums,
                                                                       int64_t *counts) {
  const __m512d scale = _mm512_set1_pd(KM_FIX_X);
  for (int64_t i = 0; i < n; i++) {
    int32_t l = label[i];
    const float *x = X + (size_t)i * (size_t)c;
    int64_t *s = sums + (size_t)l * (size_t)c;
    int64_t j = 0;
    for (; j + 8 <= c; j += 8) { /* full vectors: plain loads and stores (a masked store stalls the next load) */
      __m512d v = _mm512_cvtps_pd(_mm256_loadu_ps(x + j));
      __m512i q = _mm512_cvttpd_epi64(_mm512_mul_pd(v, scale));
      _mm512_storeu_si512(s + j, _mm512_add_epi64(_mm512_loadu_si512(s + j), q));
    }
    if (j < c) {
      __mmask8 m = (__mmask8)((1u << (c - j)) - 1u);
      __m512d v = _mm512_cvtps_pd(_mm512_castps512_ps256(_mm512_maskz_loadu_ps((__mmask16)m, x + j)));
      __m512i q = _mm512_cvttpd_epi64(_mm512_mul_pd(v, scale));
      _mm512_mask_storeu_epi64(s + j, m, _mm512_add_epi64(_mm512_maskz_loadu_epi64(m, s + j), q));
    }
    counts[l]++;
  }
}
#endif

void km_update_cpu(const float *X, int64_t n, int64_t c, const int32_t *label, const double *d2, int k,
                   int64_t *sums, int64_t *counts, int64_t *inertia) {
  int64_t in = 0;
#if defined(__x86_64__) && defined(__GNUC__)
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")) {
    update_avx512(X, n, c, label, sums, counts);
    if (d2)
      for (int64_t i = 0; i < n; i++) in += km_fix_d2(d2[i]);
    if (inertia) *inertia += in;
    (void)k;
    return;
  }
#endif
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
