/* xsum_wide.h: a cheaper front for core/xsum.h's exact sums. One signed
 * 128-bit integer in xsum's quantum (2^-PS_XS_FRAC) holds the exact sum of
 * up to PS_XW_ADDS doubles of magnitude in [2^-44, 2^15), which need no
 * rounding to the quantum (every bit of them is a whole quantum) and whose
 * sum cannot overflow; every other double (zero, tiny, huge, not finite)
 * goes to ps_xsum_add as before. ps_xw_flush adds the integer to the xsum
 * words: they then hold the integer ps_xsum_add of every double would have
 * given, so the normal form (and every bit downstream) is the same. */
#ifndef PS_XSUM_WIDE_H
#define PS_XSUM_WIDE_H
#include <stdint.h>
#include <string.h>

#include "core/xsum.h"

#define PS_XW_BE_LO (1075 - PS_XS_FRAC) /* biased exponent of 2^-44: the mantissa's unit is the quantum */
#define PS_XW_P_MAX 58                  /* the unit's bit at most (2^15 > |d|): |M 2^p| < 2^111 */
#define PS_XW_ADDS ((int64_t)1 << 16)   /* adds between flushes: |sum| < 2^127 */

/* w += d exactly if d is in the fast range (returns 1), or d adds nothing to an xsum (zero, subnormal:
 * 1); else 0: the caller adds d with ps_xsum_add. */
static inline int ps_xw_add(__int128 *w, double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  int be = (int)((u >> 52) & 0x7ff);
  unsigned p = (unsigned)(be - PS_XW_BE_LO);
  if (p > PS_XW_P_MAX) return be == 0;
  int64_t s = (int64_t)u >> 63; /* 0 or -1 */
  int64_t M = (((int64_t)(u & (((uint64_t)1 << 52) - 1)) | ((int64_t)1 << 52)) ^ s) - s; /* d = M 2^(p - FRAC) */
  uint64_t lo = (uint64_t)M << p;
  int64_t hi = (M >> 1) >> (63 - p); /* M 2^p's bits from 64 on (arithmetic shifts: signed) */
  *w += (__int128)(((unsigned __int128)(uint64_t)hi << 64) | lo);
  return 1;
}

static __attribute__((noinline, unused)) void ps_xw_slow(int64_t *acc, double d) { ps_xsum_add(acc, d); }

/* Value i of a pass's sums += d: w[i] where d is in range, else the xsum words acc[i * PS_XS_WORDS ..). */
static inline void ps_xw_add_at(__int128 *w, int64_t *acc, int64_t i, double d) {
  if (!ps_xw_add(&w[i], d)) ps_xw_slow(acc + i * PS_XS_WORDS, d);
}

/* acc (xsum words) += w exactly; w = 0. Limb i counts 2^(32 i) quanta: the low three limbs take 32 bits
 * of w each, the fourth the rest (signed, |w| < 2^127). */
static inline void ps_xw_flush(int64_t *acc, __int128 *w) {
  __int128 v = *w;
  if (v == 0) return;
  acc[0] += (int64_t)(v & 0xffffffff);
  acc[1] += (int64_t)((v >> 32) & 0xffffffff);
  acc[2] += (int64_t)((v >> 64) & 0xffffffff);
  acc[3] += (int64_t)(v >> 96);
  *w = 0;
}
#endif
