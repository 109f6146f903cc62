/* predict_tiled.h: the forest's value for raw rows with rows and trees
 * staged in shared memory (predict_tiled.cu), the contract of
 * ps_gbdt_predict_cpu (predict_cpu.c). */
#ifndef PS_GBDT_PREDICT_TILED_H
#define PS_GBDT_PREDICT_TILED_H
#include <cuda_runtime_api.h>
#include <stdint.h>

#include "gbdt/gbdt_cpu.h"

#ifdef __cplusplus
extern "C" {
#endif
/* out[i] += the forest's value of raw rows X [n][f] (fo: a view of device
 * arrays), queued on s. Returns 0, queuing nothing, when the rows are too
 * wide for the kernel's row tile (f above 95) or the forest has category
 * sets (fo->cat) -- the caller runs another kernel --, else 1. */
int ps_gbdt_predict_tiled_cuda(const ps_forest_view_t *fo, const float *X, int64_t n, int64_t f, double *out,
                               cudaStream_t s);
#ifdef __cplusplus
}
#endif
#endif
