/* assign_panels_cpu.c: the CPU Lloyd assignment as a register-blocked GEMM
 * micro-kernel with the argmin fused into its output tile (kmeans_cpu.h).
 * The rows are packed once into panels of KM_PANEL rows, column-major
 * inside a panel ([c][KM_PANEL]), so no iteration copies or re-packs them;
 * each tile of 16 rows x 13 centers is 13 AVX-512 accumulators fed by one
 * load and 13 broadcast FMAs a column, and the scores go straight into the
 * running argmin (no G matrix in memory). A dot product is an fmaf chain
 * over the columns in order, so a row's result has the same bits wherever
 * it is (any rank count) and the same as km_assign_panels_ref. The Lloyd
 * variant adds the fixed-point update from the panel while it is in L1
 * (16 columns at a time transposed in registers to row vectors), so the
 * rows are read once an iteration: the same integers as km_update_cpu. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kmeans/kmeans_cpu.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define KM_HAVE_X86 1
#endif

enum { GROUP = 13 }; /* centers a tile: 13 accumulators + the row load + argmin state fit 32 registers */

int64_t km_panel_floats(int64_t n, int64_t c) { return (n + KM_PANEL - 1) / KM_PANEL * KM_PANEL * c; }

void km_pack_panels(const float *X, int64_t n, int64_t c, float *P) {
  int64_t np = (n + KM_PANEL - 1) / KM_PANEL;
  for (int64_t p = 0; p < np; p++) {
    float *o = P + (size_t)p * (size_t)c * KM_PANEL;
    for (int64_t t = 0; t < c; t++)
      for (int r = 0; r < KM_PANEL; r++) {
        int64_t i = p * KM_PANEL + r;
        o[(size_t)t * KM_PANEL + (size_t)r] = i < n ? X[(size_t)i * (size_t)c + (size_t)t] : 0.0f;
      }
  }
}

void km_assign_panels_ref(const float *P, const double *xnorm, int64_t n, int64_t c, const float *Cf,
                          const double *cnorm, int k, int32_t *label, double *d2) {
  for (int64_t i = 0; i < n; i++) {
    const float *x = P + (size_t)(i / KM_PANEL) * (size_t)c * KM_PANEL + (size_t)(i % KM_PANEL);
    double best = INFINITY;
    int32_t bj = 0;
    for (int j = 0; j < k; j++) {
      double s = km_score(km_dot(x, KM_PANEL, Cf + (size_t)j * (size_t)c, c), cnorm[j]);
      if (s < best) best = s, bj = j;
    }
    label[i] = bj;
    d2[i] = km_dist2(xnorm[i], best);
  }
}

#ifdef KM_HAVE_X86
#define UPS(a, b) _mm512_unpacklo_ps(a, b)
#define HPS(a, b) _mm512_unpackhi_ps(a, b)
#define UPD(a, b) _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)))
#define HPD(a, b) _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)))
/* r[16] (16 columns of 16 rows) -> r[16] (16 rows of 16 columns): moves bits only */
__attribute__((target("avx512f"))) static inline void transpose16(__m512 *r) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) t[i] = UPS(r[i], r[i + 1]), t[i + 1] = HPS(r[i], r[i + 1]);
  for (int i = 0; i < 16; i += 4) {
    r[i] = UPD(t[i], t[i + 2]), r[i + 1] = HPD(t[i], t[i + 2]);
    r[i + 2] = UPD(t[i + 1], t[i + 3]), r[i + 3] = HPD(t[i + 1], t[i + 3]);
  }
  for (int i = 0; i < 4; i++) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88), t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
  }
  for (int i = 0; i < 8; i++)
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88), r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
}

__attribute__((target("avx512f,avx512dq"))) static void panels_avx512(const float *P, const double *xnorm, int64_t n,
                                                                       int64_t c, const float *CT,
                                                                       const double *cnorm, int k, int32_t *label,
                                                                       double *d2, int64_t *upd) {
  int64_t np = (n + KM_PANEL - 1) / KM_PANEL;
  const __m512d two = _mm512_set1_pd(2.0), zero = _mm512_setzero_pd();
  /* the update from the panel while it is in L1: 16 columns at a time transposed to rows */
  const __m512 fix = _mm512_set1_ps((float)KM_FIX_X);
  int64_t *counts = upd ? upd + (size_t)k * (size_t)c : NULL, inertia = 0;
  for (int64_t p = 0; p < np; p++) {
    const float *x = P + (size_t)p * (size_t)c * KM_PANEL;
    __m512d best_lo = _mm512_set1_pd(INFINITY), best_hi = best_lo;
    __m512i idx = _mm512_setzero_si512();
    for (int j0 = 0; j0 < k; j0 += GROUP) {
      int m = k - j0 < GROUP ? k - j0 : GROUP;
      const float *ct = CT + (size_t)(j0 / GROUP) * (size_t)c * GROUP; /* [c][GROUP], zero-padded centers */
      __m512 acc[GROUP];
#pragma GCC unroll 13
      for (int j = 0; j < GROUP; j++) acc[j] = _mm512_setzero_ps();
      for (int64_t t = 0; t < c; t++) {
        __m512 xv = _mm512_load_ps(x + (size_t)t * KM_PANEL);
#pragma GCC unroll 13
        for (int j = 0; j < GROUP; j++) acc[j] = _mm512_fmadd_ps(xv, _mm512_set1_ps(ct[(size_t)t * GROUP + j]), acc[j]);
      }
      for (int j = 0; j < m; j++) { /* score = cnorm - 2 dot (2 dot exact: one rounding, as km_score) */
        __m512d cn = _mm512_set1_pd(cnorm[j0 + j]);
        __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(acc[j]));
        __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[j]), 1)));
        __m512d s_lo = _mm512_fnmadd_pd(two, lo, cn), s_hi = _mm512_fnmadd_pd(two, hi, cn);
        __mmask8 m_lo = _mm512_cmp_pd_mask(s_lo, best_lo, _CMP_LT_OQ);
        __mmask8 m_hi = _mm512_cmp_pd_mask(s_hi, best_hi, _CMP_LT_OQ);
        best_lo = _mm512_mask_mov_pd(best_lo, m_lo, s_lo);
        best_hi = _mm512_mask_mov_pd(best_hi, m_hi, s_hi);
        idx = _mm512_mask_set1_epi32(idx, (__mmask16)(m_lo | ((unsigned)m_hi << 8)), j0 + j);
      }
    }
    int64_t i0 = p * KM_PANEL, rows = n - i0 < KM_PANEL ? n - i0 : KM_PANEL;
    __mmask16 mr = (__mmask16)((1u << rows) - 1u);
    __mmask8 ml = (__mmask8)(mr & 0xff), mh = (__mmask8)(mr >> 8);
    _mm512_mask_storeu_epi32(label + i0, mr, idx);
    /* km_dist2: xnorm + score, never below 0 (max also maps NaN to 0, as km_dist2 does) */
    __m512d xl = _mm512_maskz_loadu_pd(ml, xnorm + i0), xh = _mm512_maskz_loadu_pd(mh, xnorm + i0 + 8);
    _mm512_mask_storeu_pd(d2 + i0, ml, _mm512_max_pd(_mm512_add_pd(xl, best_lo), zero));
    _mm512_mask_storeu_pd(d2 + i0 + 8, mh, _mm512_max_pd(_mm512_add_pd(xh, best_hi), zero));
    if (!upd) continue;
    /* km_update_cpu's integers: x * 2^24 is exact in float as in double, and
     * vcvttps2qq truncates (INT64_MIN out of range) as the double cast does */
    int32_t lab[KM_PANEL];
    _mm512_storeu_si512(lab, idx);
    for (int64_t t0 = 0; t0 < c; t0 += 16) { /* 16 columns: transposed in registers to 16 row vectors */
      int64_t w = c - t0 < 16 ? c - t0 : 16;
      __m512 v[16];
#pragma GCC unroll 16
      for (int tt = 0; tt < 16; tt++) v[tt] = tt < w ? _mm512_load_ps(x + (t0 + tt) * KM_PANEL) : _mm512_setzero_ps();
      transpose16(v);
      __mmask8 a = (__mmask8)(w >= 8 ? 0xffu : (1u << w) - 1u), b = (__mmask8)(w >= 16 ? 0xffu : w > 8 ? (1u << (w - 8)) - 1u : 0u);
      for (int64_t r = 0; r < rows; r++) {
        int64_t *s = upd + (size_t)lab[r] * (size_t)c + t0;
        __m512 f = _mm512_mul_ps(v[r], fix);
        __m512i q0 = _mm512_cvttps_epi64(_mm512_castps512_ps256(f));
        __m512i q1 = _mm512_cvttps_epi64(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1)));
        if (w == 16) {
          _mm512_storeu_si512(s, _mm512_add_epi64(_mm512_loadu_si512(s), q0));
          _mm512_storeu_si512(s + 8, _mm512_add_epi64(_mm512_loadu_si512(s + 8), q1));
        } else {
          _mm512_mask_storeu_epi64(s, a, _mm512_add_epi64(_mm512_maskz_loadu_epi64(a, s), q0));
          if (b) _mm512_mask_storeu_epi64(s + 8, b, _mm512_add_epi64(_mm512_maskz_loadu_epi64(b, s + 8), q1));
        }
      }
    }
    for (int64_t r = 0; r < rows; r++) {
      counts[lab[r]]++;
      inertia += km_fix_d2(d2[i0 + r]);
    }
  }
  if (upd) upd[(size_t)k * (size_t)c + (size_t)k] += inertia;
}
#endif

int km_assign_panels_available(void) {
#ifdef KM_HAVE_X86
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
#else
  return 0;
#endif
}

static void assign_panels(const float *P, const float *X, const double *xnorm, int64_t n, int64_t c,
                          const float *Cf, const double *cnorm, int k, int32_t *label, double *d2, int64_t *acc) {
#ifdef KM_HAVE_X86
  if (km_assign_panels_available()) {
    /* the centers by groups of GROUP, column-major in a group: one pointer, constant offsets */
    int groups = (k + GROUP - 1) / GROUP;
    float *CT = calloc((size_t)groups * (size_t)c * GROUP, sizeof(float));
    if (CT) {
      for (int j = 0; j < k; j++)
        for (int64_t t = 0; t < c; t++)
          CT[((size_t)(j / GROUP) * (size_t)c + (size_t)t) * GROUP + (size_t)(j % GROUP)] =
              Cf[(size_t)j * (size_t)c + (size_t)t];
      panels_avx512(P, xnorm, n, c, CT, cnorm, k, label, d2, acc);
      free(CT);
      return;
    }
  }
#endif
  km_assign_panels_ref(P, xnorm, n, c, Cf, cnorm, k, label, d2);
  if (acc) km_update_cpu(X, n, c, label, d2, k, acc, acc + (size_t)k * (size_t)c, acc + (size_t)k * (size_t)c + k);
}

void km_assign_panels_cpu(const float *P, const double *xnorm, int64_t n, int64_t c, const float *Cf,
                          const double *cnorm, int k, int32_t *label, double *d2) {
  assign_panels(P, NULL, xnorm, n, c, Cf, cnorm, k, label, d2, NULL);
}

void km_assign_update_panels_cpu(const float *P, const float *X, const double *xnorm, int64_t n, int64_t c,
                                 const float *Cf, const double *cnorm, int k, int32_t *label, double *d2,
                                 int64_t *acc) {
  assign_panels(P, X, xnorm, n, c, Cf, cnorm, k, label, d2, acc);
}
