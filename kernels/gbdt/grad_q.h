/* grad_q.h: C interface to a tree's gradients on the device (grad_q.cu;
 * the twin: grad_q_cpu.c, gbdt_cpu.h). Device pointers; queued on s. */
#ifndef PS_GBDT_GRAD_Q_H
#define PS_GBDT_GRAD_Q_H
#include <cuda_runtime_api.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ps_gbdt_grad_q_cpu on the device: gq, hq [n]; out [3] = the loss sum,
 * max |gq|, max hq (zeroed first, then summed and maxed by the blocks:
 * exact in any order). */
void ps_gbdt_grad_q_cuda(const double *score, const uint8_t *y, int64_t ystride, int64_t n, double w_pos,
                         double w_neg, double scale, int64_t *gq, int64_t *hq, int64_t *out, cudaStream_t s);
/* ps_gbdt_quant_cpu on the device: gh [n] from gq, hq, ids [n]. */
void ps_gbdt_quant_cuda(const int64_t *gq, const int64_t *hq, const int64_t *ids, int64_t n, uint64_t seed,
                        uint64_t key, int64_t sg, int64_t sh, int32_t *gh, cudaStream_t s);

/* z[i] += value[leaf[i]] for the rows with leaf[i] >= 0 (one addition a
 * row, as the host's add_leaves): the training scores kept on the device. */
void ps_gbdt_add_leaf_values_cuda(const int32_t *leaf, const double *value, int64_t n, double *z, cudaStream_t s);

#ifdef __cplusplus
}
#endif
#endif
