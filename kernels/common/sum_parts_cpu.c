/* sum_parts_cpu.c: CPU twin of sum_parts.cu (see sum_parts.h). */
#include "common/sum_parts.h"

void ps_sum_parts_cpu(const double *in, int parts, size_t len, double *out) {
  for (size_t i = 0; i < len; i++) {
    double s = 0.0;
    for (int r = 0; r < parts; r++) s += in[(size_t)r * len + i];
    out[i] = s;
  }
}
