/* csr_tile_cpu.h: CSR rows scattered into a tile of dense rows kept zero
 * (score on a CSR file, issue 30): the scorers walk the tile as dense rows,
 * so the stored values give the dense file's bits with work per stored
 * value besides the walk. The twin (csr_tile_cpu.c, the CPU scorer's
 * scatter) and its contract; the kernel: csr_tile.cu (csr_tile.h). */
#ifndef PS_GBDT_CSR_TILE_CPU_H
#define PS_GBDT_CSR_TILE_CPU_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Rows [i0, i0 + m) of CSR rows (ptr [n+1], its first entry the base of
 * idx and val; idx within [0, f), no column twice in a row) into tile
 * [m][f]: tile[(i - i0) * f + idx[p]] = val[p]; with val NULL those places
 * set to 0.0f again (the tile stays zero between uses). Only the stored
 * places are written. */
void ps_gbdt_csr_scatter_cpu(const int64_t *ptr, const int32_t *idx, const float *val, int64_t i0, int64_t m,
                             int64_t f, float *tile);

#ifdef __cplusplus
}
#endif
#endif
