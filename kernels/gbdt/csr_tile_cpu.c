/* csr_tile_cpu.c: CSR rows scattered into a dense tile kept zero, and the
 * places zeroed again (csr_tile_cpu.h): the twin of csr_tile.cu, and the
 * CPU scorer's (models/gbdt/scorer.c). */
#include "gbdt/csr_tile_cpu.h"

#include <stddef.h>

void ps_gbdt_csr_scatter_cpu(const int64_t *ptr, const int32_t *idx, const float *val, int64_t i0, int64_t m,
                             int64_t f, float *tile) {
  int64_t base = ptr[0];
  for (int64_t i = 0; i < m; i++) {
    float *row = tile + (size_t)i * (size_t)f;
    for (int64_t p = ptr[i0 + i] - base; p < ptr[i0 + i + 1] - base; p++) row[idx[p]] = val ? val[p] : 0.0f;
  }
}
