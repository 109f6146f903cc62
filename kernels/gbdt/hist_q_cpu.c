/* hist_q_cpu.c: CPU twin of the quantized histogram (issue 26; a CUDA
 * kernel is still to come and mirrors this shape: one packed word a row,
 * one packed accumulator a bin, widened once at the end). A row's gradient
 * and Hessian are small integers packed into one int32 (gbdt_math.h,
 * PS_GBDT_QPACK); a leaf's bins accumulate packed pairs in the narrowest
 * word that cannot overflow (ps_gbdt_hist_q_width), then are widened to
 * int64 (sum qg, sum qh) pairs for the cross-rank sum. Integer sums: the
 * same bits in any row order. */
#include "gbdt/gbdt_cpu.h"

/* Why no accumulator overflows (m rows, |qg| <= Q, 0 <= qh <= Q):
 * a bin's sums obey |sum qg| <= m Q and 0 <= sum qh <= m Q.
 * Width 32 packs (sum qg) * 2^16 + (sum qh) in 32 bits; when m Q < 2^15
 * (= 2^(16-1)), sum qh < 2^15 < 2^16 so the low half never carries into
 * the high one, and |sum qg| < 2^15 so the packed value lies in
 * (-2^31, 2^31): it is exact, and decoding (low 16 bits = sum qh, the rest
 * shifted = sum qg) is exact. Width 64 is the same with halves of 32 bits
 * when m Q < 2^31. Otherwise (only 16-bit gradients on leaves of > 65538
 * rows) two separate int64 sums. The adds are done on unsigned words
 * (wrap-around arithmetic, no undefined behavior) and equal the exact
 * signed sums by the bound above. */
int ps_gbdt_hist_q_width(int64_t m, int32_t qmax) {
  int64_t top = m * (int64_t)qmax; /* m < 2^40, qmax < 2^15: no overflow */
  if (top < ((int64_t)1 << 15)) return 32;
  if (top < ((int64_t)1 << 31)) return 64;
  return 128;
}

static void hist32(const uint8_t *B, int64_t f, const int64_t *bin_off, const int64_t *rows, int64_t m,
                   const int32_t *gh, uint32_t *acc) {
  for (int64_t r = 0; r < m; r++) {
    int64_t i = rows[r];
    uint32_t w = (uint32_t)gh[i];
    const uint8_t *b = B + (size_t)i * (size_t)f;
    for (int64_t j = 0; j < f; j++) acc[bin_off[j] + b[j]] += w;
  }
}

static void hist64(const uint8_t *B, int64_t f, const int64_t *bin_off, const int64_t *rows, int64_t m,
                   const int32_t *gh, uint64_t *acc) {
  for (int64_t r = 0; r < m; r++) {
    int64_t i = rows[r];
    uint64_t w = ((uint64_t)(int64_t)PS_GBDT_QG(gh[i]) << 32) + (uint64_t)PS_GBDT_QH(gh[i]);
    const uint8_t *b = B + (size_t)i * (size_t)f;
    for (int64_t j = 0; j < f; j++) acc[bin_off[j] + b[j]] += w;
  }
}

static void hist128(const uint8_t *B, int64_t f, const int64_t *bin_off, const int64_t *rows, int64_t m,
                    const int32_t *gh, int64_t *hist) {
  for (int64_t r = 0; r < m; r++) {
    int64_t i = rows[r], g = PS_GBDT_QG(gh[i]), h = PS_GBDT_QH(gh[i]);
    const uint8_t *b = B + (size_t)i * (size_t)f;
    for (int64_t j = 0; j < f; j++) {
      int64_t *e = hist + 2 * (bin_off[j] + b[j]);
      e[0] += g;
      e[1] += h;
    }
  }
}

void ps_gbdt_hist_q_cpu(const uint8_t *B, int64_t f, const int64_t *bin_off, int64_t total_bins, const int64_t *rows,
                        int64_t m, const int32_t *gh, int width, void *work, int64_t *hist) {
  size_t nb = (size_t)total_bins;
  if (width == 128) {
    for (size_t q = 0; q < 2 * nb; q++) hist[q] = 0;
    hist128(B, f, bin_off, rows, m, gh, hist);
  } else if (width == 64) {
    uint64_t *acc = work;
    for (size_t q = 0; q < nb; q++) acc[q] = 0;
    hist64(B, f, bin_off, rows, m, gh, acc);
    for (size_t q = 0; q < nb; q++) { /* widen: low half = sum qh (>= 0), the rest sum qg */
      uint64_t lo = acc[q] & 0xFFFFFFFFull;
      hist[2 * q] = (int64_t)(int32_t)(uint32_t)((acc[q] - lo) >> 32);
      hist[2 * q + 1] = (int64_t)lo;
    }
  } else {
    uint32_t *acc = work;
    for (size_t q = 0; q < nb; q++) acc[q] = 0;
    hist32(B, f, bin_off, rows, m, gh, acc);
    for (size_t q = 0; q < nb; q++) {
      uint32_t lo = acc[q] & 0xFFFFu;
      hist[2 * q] = (int64_t)(int16_t)(uint16_t)((acc[q] - lo) >> 16);
      hist[2 * q + 1] = (int64_t)lo;
    }
  }
}
