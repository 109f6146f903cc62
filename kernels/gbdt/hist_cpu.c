/* hist_cpu.c: CPU twin of hist.cu -- a leaf's histogram: for each of its
 * rows and every feature, (g, h, 1) added to the row's bin. Integer sums:
 * the same bits in any order. */
#include "gbdt/gbdt_cpu.h"

void ps_gbdt_hist_cpu(const uint8_t *B, int64_t f, const int64_t *bin_off, const int64_t *rows, int64_t m,
                      const int64_t *gq, const int64_t *hq, int64_t *hist) {
  for (int64_t r = 0; r < m; r++) {
    int64_t i = rows[r], g = gq[i], h = hq[i];
    const uint8_t *b = B + (size_t)i * (size_t)f;
    for (int64_t j = 0; j < f; j++) {
      int64_t *e = hist + PS_HIST_W * (bin_off[j] + b[j]);
      e[0] += g;
      e[1] += h;
      e[2] += 1;
    }
  }
}
