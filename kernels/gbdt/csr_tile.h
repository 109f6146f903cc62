/* csr_tile.h: C interface to csr_tile.cu, CSR rows scattered into a tile
 * of dense rows on the device (score --device cuda on a CSR file; the twin
 * and contract: csr_tile_cpu.h). Device pointers; queued on s. */
#ifndef PS_GBDT_CSR_TILE_H
#define PS_GBDT_CSR_TILE_H
#include <cuda_runtime_api.h>
#include <stdint.h>

#include "gbdt/csr_tile_cpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ps_gbdt_csr_scatter_cpu on the device (ptr, idx, val, tile: device). */
void ps_gbdt_csr_scatter_cuda(const int64_t *ptr, const int32_t *idx, const float *val, int64_t i0, int64_t m,
                              int64_t f, float *tile, cudaStream_t s);

#ifdef __cplusplus
}
#endif
#endif
