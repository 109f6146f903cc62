/* hist_sub_cpu.c: CPU twin of hist_sub.cu -- the subtraction trick: the
 * larger child's histogram is the parent's minus the smaller child's
 * (exact integers). */
#include "gbdt/leafhist.h"

void ps_gbdt_hist_sub_cpu(int64_t *a, const int64_t *b, int64_t n) {
  for (int64_t i = 0; i < n; i++) a[i] -= b[i];
}
