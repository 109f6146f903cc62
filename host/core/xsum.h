/* xsum.h: exact sums of doubles in fixed point, the same bits in any order.
 * A value is PS_XS_LIMBS signed 64-bit limbs of 32-bit weight (carry-save:
 * limb i counts units of 2^(32 i - PS_XS_FRAC)) plus one overflow count.
 * Adding a double rounds it once to the quantum 2^-PS_XS_FRAC (1.3e-29)
 * and then adds integers: exact, associative and commutative, so partial
 * sums may be added in any order, on any rank, and summed across ranks as
 * plain int64 vectors (comm_allreduce_sum_i64). Doubles of magnitude
 * >= 2^PS_XS_MAXEXP (1.9e25) or not finite count as overflow: the value
 * then reads as +Inf (a line search backs off).
 *
 * Cost: one frexp and three integer adds per double; callers add partial
 * sums of whole blocks of rows, never single elements. */
#ifndef PS_XSUM_H
#define PS_XSUM_H
#include <math.h>
#include <stdint.h>
#include <string.h>

#define PS_XS_LIMBS 6
#define PS_XS_FRAC 96
#define PS_XS_MAXEXP 84
#define PS_XS_WORDS (PS_XS_LIMBS + 1) /* int64 words of one value (limbs, overflow count) */

/* acc[0 .. PS_XS_WORDS) += d (rounded to the quantum, ties away from zero). */
static inline void ps_xsum_add(int64_t *acc, double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  int be = (int)((u >> 52) & 0x7ff); /* biased exponent */
  if (be == 0) return;              /* zero or subnormal: far below the quantum */
  if (be > PS_XS_MAXEXP + 1022) {   /* too large, Inf or NaN */
    acc[PS_XS_LIMBS]++;
    return;
  }
  int64_t M = (int64_t)((u & (((uint64_t)1 << 52) - 1)) | ((uint64_t)1 << 52)); /* d = +-M 2^(be-1075) */
  int p = be - 1075 + PS_XS_FRAC; /* bit of M's unit in the fixed-point integer */
  if (p < 0) {
    if (p < -54) return; /* below half a quantum */
    M = (M + ((int64_t)1 << (-p - 1))) >> -p;
    p = 0;
    if (M == 0) return;
  }
  if (u >> 63) M = -M;
  int q = p >> 5, s = p & 31;
  __int128 v = (__int128)M * ((__int128)1 << s); /* < 2^85 in magnitude: limbs q, q+1, q+2 */
  acc[q] += (int64_t)(v & 0xffffffff);
  v >>= 32; /* arithmetic: v = low + 2^32 (v >> 32) */
  acc[q + 1] += (int64_t)(v & 0xffffffff);
  acc[q + 2] += (int64_t)(v >> 32);
}

/* Carries propagated: limbs 0 .. L-2 in [0, 2^32), the top limb signed.
 * The normal form of a value is unique, so equal sums have equal words. */
static inline void ps_xsum_norm(int64_t *acc) {
  for (int i = 0; i + 1 < PS_XS_LIMBS; i++) {
    int64_t lo = acc[i] & 0xffffffff; /* two's complement: acc = lo + 2^32 (acc >> 32) */
    acc[i + 1] += (acc[i] - lo) / ((int64_t)1 << 32);
    acc[i] = lo;
  }
}

/* The value as a double (normalizes acc); +Inf after an overflow. A pure
 * function of the exact sum. */
static inline double ps_xsum_value(int64_t *acc) {
  if (acc[PS_XS_LIMBS] != 0) return INFINITY;
  ps_xsum_norm(acc);
  int64_t w[PS_XS_LIMBS];
  memcpy(w, acc, sizeof w);
  int neg = w[PS_XS_LIMBS - 1] < 0;
  if (neg) { /* negate the two's complement number, then every limb is >= 0 */
    for (int i = 0; i < PS_XS_LIMBS; i++) w[i] = -w[i];
    ps_xsum_norm(w);
  }
  double v = 0.0;
  for (int i = 0; i < PS_XS_LIMBS; i++) v += ldexp((double)w[i], 32 * i - PS_XS_FRAC);
  return neg ? -v : v;
}
#endif
