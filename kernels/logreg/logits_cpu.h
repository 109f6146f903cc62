/* logits_cpu.h: private to the CPU twins in this folder: the logits of a
 * tile of rows for every head (hot loops cloned for AVX2: common/simd.h). */
#ifndef PS_LOGITS_CPU_H
#define PS_LOGITS_CPU_H
#include <stddef.h>
#include <stdint.h>

#include "common/simd.h"

/* z[h*ld + i] = bias_h + sum_j X[i][j] * w_h[j] for rows [0, m) of a tile,
 * each row summed in fixed lanes: a row's logit has the same bits whichever
 * path (or tile) it went through. */
void ps_logits_cpu(const float *X, int64_t m, int64_t c, int k, const double *theta, double *z, int64_t ld);
#endif
