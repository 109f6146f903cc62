/* split_cat.h: C interface to the category-set split search on
 * the device (split_cat.cu, issue 28; twin and rules: split_cat_cpu.h). Device
 * pointers unless said otherwise; every call queued on s. */
#ifndef PS_GBDT_SPLIT_CAT_H
#define PS_GBDT_SPLIT_CAT_H
#include <cuda_runtime_api.h>
#include <stddef.h>
#include <stdint.h>

#include "gbdt/split_cat_cpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Work bytes of a search over f features. */
size_t ps_gbdt_split_cat_work(int64_t f);
/* ps_gbdt_split_mixed_cpu: the best split of hist [total_bins][3] over the
 * numeric (split.cu) and categorical (cat [f] != 0) features with use[j]
 * (use may be NULL); *best and set [PS_GBDT_CAT_BYTES] (the winner's codes,
 * zeros for a numeric one) written. */
void ps_gbdt_split_cat_cuda(const int64_t *hist, int64_t f, const int64_t *bin_off, const uint8_t *cat,
                            const uint8_t *use, int64_t G, int64_t H, int64_t N, ps_split_params_t p, void *work,
                            ps_split_t *best, uint8_t *set, cudaStream_t s);
/* ps_gbdt_split_mixed_q_cpu: the same over hist2 [total_bins][2] in q's units. */
void ps_gbdt_split_cat_q_cuda(const int64_t *hist2, int64_t f, const int64_t *bin_off, const uint8_t *cat,
                              const uint8_t *use, int64_t G, int64_t H, int64_t N, ps_split_params_t p,
                              ps_split_q_t q, void *work, ps_split_t *best, uint8_t *set, cudaStream_t s);

#ifdef __cplusplus
}
#endif
#endif
