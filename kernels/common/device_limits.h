/* device_limits.h: what a kernel's launch plan needs to know of the current
 * device -- the opt-in dynamic shared memory of a block (227 KiB on sm_90,
 * 163 KiB on sm_80, 99 KiB on sm_86/89) and the number of SMs -- queried
 * once per device and cached (CUDA builds only). */
#ifndef PS_DEVICE_LIMITS_H
#define PS_DEVICE_LIMITS_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
typedef struct {
  size_t smem_optin; /* cudaDevAttrMaxSharedMemoryPerBlockOptin */
  int sms;           /* cudaDevAttrMultiProcessorCount */
} ps_device_limits_t;
ps_device_limits_t ps_device_limits(void);
/* Shared memory a tiled kernel's plan may take: the opt-in limit, at most
 * 200 KiB (on an H100 the rest stays L1 cache; the plans of docs/PROFILING.md). */
#define PS_SMEM_PLAN_CAP ((size_t)200 << 10)
size_t ps_smem_plan_budget(void);
#ifdef __cplusplus
}
#endif
#endif
