/* cuda_probe.h: C interface to the CUDA device probe (CUDA builds only). */
#ifndef PS_CUDA_PROBE_H
#define PS_CUDA_PROBE_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
/* Number of usable CUDA devices; a one-line description in desc. */
int ps_cuda_probe(char *desc, size_t n);
#ifdef __cplusplus
}
#endif
#endif
