/* bin_cpu.c: CPU twin of bin.cu -- the bin code of every value of raw rows
 * (gbdt_math.h ps_gbdt_bin: 0 for NaN, else 1 + cuts below the value). */
#include "gbdt/gbdt_cpu.h"

/* ps_gbdt_bin without branches on the data: the same count of cuts below v
 * (cuts strictly increasing), by halving a window whose base moves by a
 * conditional add (a cmov); ps_gbdt_bin's binary search mispredicted about
 * one branch a halving, the cost of binning 1,000-wide rows. */
static inline int bin_branchless(float v, const float *cuts, int ncuts) {
  if (ncuts == 0) return v != v ? 0 : 1;
  int base = 0, len = ncuts;
  while (len > 1) {
    int half = len >> 1;
    base += cuts[base + half - 1] < v ? half : 0;
    len -= half;
  }
  base += cuts[base] < v;
  return v != v ? 0 : 1 + base;
}

void ps_gbdt_bin_cpu(const float *X, int64_t n, int64_t f, const float *cuts, const int64_t *cut_off, uint8_t *B) {
  for (int64_t i = 0; i < n; i++) {
    const float *x = X + (size_t)i * (size_t)f;
    uint8_t *b = B + (size_t)i * (size_t)f;
    for (int64_t j = 0; j < f; j++)
      b[j] = (uint8_t)bin_branchless(x[j], cuts + cut_off[j], (int)(cut_off[j + 1] - cut_off[j]));
  }
}
