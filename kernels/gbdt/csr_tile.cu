/* csr_tile.cu: CSR rows scattered into a tile of dense rows kept zero on
 * the device, and the places zeroed again (score --device cuda on a CSR
 * file, issue 30; twin csr_tile_cpu.c, contract csr_tile_cpu.h). A warp a
 * row: its lanes take the row's stored values 32 at a time (a coalesced
 * read of idx and val, a scattered 4-byte store each); only stored places
 * are written, so the tile costs no pass of its own. */
#include "common/cuda_check.h"
#include "common/launch.h"
#include "gbdt/csr_tile.h"

namespace {

constexpr int THREADS = 256;
constexpr int WARPS = THREADS / 32;

__global__ void __launch_bounds__(THREADS)
    scatter_kernel(const int64_t *__restrict__ ptr, const int32_t *__restrict__ idx, const float *__restrict__ val,
                   int64_t i0, int64_t m, int64_t f, float *__restrict__ tile) {
  int64_t i = (int64_t)blockIdx.x * WARPS + threadIdx.x / 32;
  if (i >= m) return;
  int64_t base = ptr[0], end = ptr[i0 + i + 1] - base;
  float *row = tile + i * f;
  for (int64_t p = ptr[i0 + i] - base + threadIdx.x % 32; p < end; p += 32) row[idx[p]] = val ? val[p] : 0.0f;
}

} // namespace

extern "C" void ps_gbdt_csr_scatter_cuda(const int64_t *ptr, const int32_t *idx, const float *val, int64_t i0,
                                         int64_t m, int64_t f, float *tile, cudaStream_t s) {
  if (m <= 0) return;
  PS_LAUNCH(ps_grid_1d((uint64_t)m, WARPS), THREADS, 0, s, scatter_kernel)(ptr, idx, val, i0, m, f, tile);
  CUDA_CHECK(cudaGetLastError());
}
