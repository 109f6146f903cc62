/* cuda_probe.h: C interface to the CUDA device probe (CUDA builds only). */
#ifndef PS_CUDA_PROBE_H
#define PS_CUDA_PROBE_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
/* Number of usable CUDA devices; a one-line description in desc. */
int ps_cuda_probe(char *desc, size_t n);
/* The UUIDs (16 bytes each, into uuids) of the first max devices this
 * process sees (CUDA_VISIBLE_DEVICES order); returns how many it sees. The
 * same GPU has the same UUID in every process of its node. */
int ps_cuda_uuids(unsigned char *uuids, int max);
#ifdef __cplusplus
}
#endif
#endif
