/* launch.h: one way to write a kernel launch for both builds.
 *   PS_LAUNCH(grid, block, shared_bytes, stream, kernel)(args...)
 * is kernel<<<grid, block, shared_bytes, stream>>>(args...) under nvcc and
 * a launch on the emulated device (tests/cudasim) with -DPROPSCORE_CUDA_SIM,
 * so kernel bodies stay plain CUDA. The kernel comes last: a template such
 * as k<float, true> has a comma. ps_grid_1d sizes a 1-D grid and refuses
 * more blocks than CUDA allows (2^31 - 1) instead of wrapping. */
#ifndef PS_LAUNCH_H
#define PS_LAUNCH_H
#include <stdint.h>

#include "common/cuda_check.h"

#if defined(PROPSCORE_CUDA_SIM)
#include "cudasim.h"
/* the kernel's name and the launch site go along, for the emulator's messages */
#define PS_LAUNCH(grid, block, smem, stream, ...) \
  cudasim::launcher(#__VA_ARGS__, __FILE__, __LINE__, __VA_ARGS__, dim3(grid), dim3(block), (smem), (stream))
#else
#define PS_LAUNCH(grid, block, smem, stream, ...) __VA_ARGS__<<<(grid), (block), (smem), (stream)>>>
#endif

static inline unsigned ps_grid_1d(uint64_t items, unsigned per_block) {
  uint64_t blocks = (items + per_block - 1) / per_block;
  if (blocks == 0) blocks = 1;
  if (blocks > 0x7fffffffull) ps_die_local("kernel launch: %llu blocks exceed CUDA's 2^31-1", (unsigned long long)blocks);
  return (unsigned)blocks;
}
#endif
