/* nvtx3/nvToolsExt.h (cudasim): NVTX ranges and marks are no-ops on the
 * emulated device (they only name ranges for a profiler). */
#ifndef CUDASIM_NVTOOLSEXT_H
#define CUDASIM_NVTOOLSEXT_H
static inline int nvtxRangePushA(const char *message) { (void)message; return 0; }
static inline int nvtxRangePop(void) { return 0; }
static inline void nvtxMarkA(const char *message) { (void)message; }
#endif
