/* bin_cpu.c: CPU twin of bin.cu -- the bin code of every value of raw rows
 * (gbdt_math.h ps_gbdt_bin: 0 for NaN, else 1 + cuts below the value). */
#include "gbdt/gbdt_cpu.h"

void ps_gbdt_bin_cpu(const float *X, int64_t n, int64_t f, const float *cuts, const int64_t *cut_off, uint8_t *B) {
  for (int64_t i = 0; i < n; i++) {
    const float *x = X + (size_t)i * (size_t)f;
    uint8_t *b = B + (size_t)i * (size_t)f;
    for (int64_t j = 0; j < f; j++)
      b[j] = (uint8_t)ps_gbdt_bin(x[j], cuts + cut_off[j], (int)(cut_off[j + 1] - cut_off[j]));
  }
}
