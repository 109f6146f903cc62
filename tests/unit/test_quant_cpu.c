/* test_quant_cpu.c: --grad-bits' packed words (ps_gbdt_quant_cpu, kernels/
 * gbdt/grad_q_cpu.c: a vectorized multiply-high and one correction each
 * way) = the formula with a 128-bit product and floor, where a carry lost
 * or a correction skipped would show: each row's g and h placed so that
 * g + r lands exactly on a multiple of the step or one below it (r = the
 * row's draw times the step / 2^64), steps from 1 to 2^61 with low and high
 * halves set, every Q of 4, 8 and 16 bits. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/rng.h"
#include "gbdt/gbdt_cpu.h"

static int64_t draw(uint64_t u, int64_t step) { return (int64_t)(((unsigned __int128)u * (uint64_t)step) >> 64); }
static int64_t old_quant(int64_t v, int64_t step, uint64_t u) {
  int64_t x = v + draw(u, step), q = (int64_t)floor((double)x / (double)step);
  while (q * step > x) q--;
  while ((q + 1) * step <= x) q++;
  return q;
}

static void boundaries(void **state) {
  (void)state;
  enum { N = 4099 };
  static int64_t ids[N], gq[N], hq[N];
  static int32_t gh[N];
  static const int64_t steps[] = {1, 2, 3, 255, 65537, 0xFFFFFFFFll, 0x100000001ll, 0x123456789Bll, 0x7FFFFFFFFFFFll,
                                  (int64_t)1 << 45, ((int64_t)1 << 61) / 7};
  uint64_t key = (1ull << 32) | 9;
  for (int64_t i = 0; i < N; i++) ids[i] = (int64_t)(ps_rng_u64(5, 1, (uint64_t)i, 0) >> 1);
  for (int32_t qmax = 7; qmax <= 32767; qmax = qmax * 16 + 15)
    for (size_t a = 0; a < sizeof steps / sizeof *steps; a++) {
      int64_t sg = steps[a], sh = steps[(a + 3) % (sizeof steps / sizeof *steps)];
      if (sg > ((int64_t)1 << 61) / (qmax + 2) || sh > ((int64_t)1 << 61) / (qmax + 2)) continue; /* |v| + step < 2^62 */
      for (int64_t i = 0; i < N; i++) {
        uint64_t u = ps_rng_u64(42, PS_GBDT_QUANT_STREAM, (uint64_t)ids[i], key);
        int64_t k = (int64_t)(i % (2 * qmax - 1)) - (qmax - 1), kh = 1 + i % qmax, below = i % 2;
        gq[i] = k * sg - draw(u, sg) - below; /* g + r = k sg (or one less) */
        hq[i] = kh * sh - draw(ps_mix64(u), sh) - (i / 2) % 2;
        if (hq[i] < 0) hq[i] = 0;
      }
      ps_gbdt_quant_cpu(gq, hq, ids, N, 42, key, sg, sh, gh);
      for (int64_t i = 0; i < N; i++) {
        uint64_t u = ps_rng_u64(42, PS_GBDT_QUANT_STREAM, (uint64_t)ids[i], key);
        int64_t qg = old_quant(gq[i], sg, u), qh = old_quant(hq[i], sh, ps_mix64(u));
        if (gh[i] != PS_GBDT_QPACK(qg, qh))
          fail_msg("row %lld step %lld/%lld: %08x, want (%lld, %lld)", (long long)i, (long long)sg, (long long)sh,
                   (unsigned)gh[i], (long long)qg, (long long)qh);
      }
    }
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(boundaries)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
