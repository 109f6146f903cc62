/* leafhist_kernels.h: C interface to the kernels of a leaf's round trip on
 * the device (issue 28; twins in leafhist.h): the subtraction trick
 * (hist_sub.cu) and the split search of a quantized histogram (split.cu,
 * beside the exact one of gbdt_kernels.h). Device pointers; queued on s. */
#ifndef PS_GBDT_LEAFHIST_KERNELS_H
#define PS_GBDT_LEAFHIST_KERNELS_H
#include <cuda_runtime_api.h>
#include <stdint.h>

#include "gbdt/leafhist.h"

#ifdef __cplusplus
extern "C" {
#endif

/* a[0..n) -= b[0..n) (ps_gbdt_hist_sub_cpu). */
void ps_gbdt_hist_sub_cuda(int64_t *a, const int64_t *b, int64_t n, cudaStream_t s);
/* ps_gbdt_split_q_cpu: hist2 [total_bins][2], bin_off [f+1], use [f] (may
 * be NULL) device; work: ps_gbdt_split_work(f) bytes; *best: device. */
void ps_gbdt_split_q_cuda(const int64_t *hist2, int64_t f, const int64_t *bin_off, const uint8_t *use, int64_t G,
                          int64_t H, int64_t N, ps_split_params_t p, ps_split_q_t q, void *work, ps_split_t *best,
                          cudaStream_t s);
/* The per-feature pass of the split search alone (split.cu): per[j] = the
 * best split of feature j (feature -1: none, unused, or skip[j] != 0) of
 * the exact histogram (q NULL) or of a quantized one in *q's units (q: a
 * host pointer); the category-set search (split_cat.cu) adds its own. */
void ps_gbdt_split_features_cuda(const int64_t *hist, const ps_split_q_t *q, int64_t f, const int64_t *bin_off,
                                 const uint8_t *use, const uint8_t *skip, int64_t G, int64_t H, int64_t N,
                                 ps_split_params_t p, ps_split_t *per, cudaStream_t s);

#ifdef __cplusplus
}
#endif
#endif
