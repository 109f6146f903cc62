/* predict_heads.h: every head's forest over raw rows with one read of each
 * row (predict_heads.cu, issue 28): the contract of ps_gbdt_predict_cpu
 * (predict_cpu.c) for each head, the same bits. */
#ifndef PS_GBDT_PREDICT_HEADS_H
#define PS_GBDT_PREDICT_HEADS_H
#include <cuda_runtime_api.h>
#include <stdint.h>

#include "gbdt/gbdt_cpu.h"

#ifdef __cplusplus
extern "C" {
#endif
/* The k heads' forests (host views) packed for the kernel (16-byte super-node
 * and leaf records, batches of at most 96 KiB, the tables in the kernel's
 * parameters) and uploaded on s (waits). NULL -- nothing allocated; the
 * caller keeps ps_gbdt_predict_cuda a head -- when a tree's records pass
 * 2 KiB (about 75 to 82 leaves), a threshold is NaN, a feature number
 * reaches 2^19, a forest has category sets, one tree does not fit a batch,
 * or the plan has more than 32 heads, 48 batches or 1,280 trees. */
typedef struct ps_gbdt_predict_plan ps_gbdt_predict_plan_t;
ps_gbdt_predict_plan_t *ps_gbdt_predict_plan_create(const ps_forest_view_t *heads, int k, cudaStream_t s);
void ps_gbdt_predict_plan_destroy(ps_gbdt_predict_plan_t *p);
/* Rows a tile for rows of f features on the current device: the most of
 * 512, 256, 128, 64 whose key tile (rows x f x 4 bytes) fits beside a
 * 96 KiB batch in the opt-in shared memory (H100: f <= 65, 131, 262, 524;
 * A100: 33, 67, 134, 268); 0 when none does. */
int ps_gbdt_predict_heads_rows(int64_t f);
/* z[h * ldz + i] += head h's forest value of raw row i of X [n][f] (device
 * arrays), every head, queued on s, at ps_gbdt_predict_heads_rows(f) rows
 * a tile. Returns 0, queuing nothing, when that is 0 (the caller keeps the
 * head-at-a-time kernels), else 1. */
int ps_gbdt_predict_plan_run(const ps_gbdt_predict_plan_t *p, const float *X, int64_t n, int64_t f, double *z,
                             int64_t ldz, cudaStream_t s);
#ifdef __cplusplus
}
#endif
#endif
