/* hist_q.h: C interface to the quantized tree kernels (hist_q.cu, issue
 * 28): a leaf's histogram of packed (qg, qh) rows (the contract of
 * ps_gbdt_hist_q_cpu, hist_q_cpu.c), and every leaf's exact gradient sums
 * (the CPU backend's leaf_sums). All array arguments are device pointers;
 * every call is queued on stream s. */
#ifndef PS_GBDT_HIST_Q_H
#define PS_GBDT_HIST_Q_H
#include <cuda_runtime_api.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Features are cut into groups of at most 32 (one shared-memory bank each;
 * a block holds 96 KiB of cells) whose bins, at 12 bytes a bin, fit
 * max_smem, each group's first feature a multiple of V (16 when f is a
 * multiple of 16, else 4 when a multiple of 4, else 1: V bins a load).
 * bin_off: host [f+1]. max_smem: 0 = 96 KiB; raised to fit one load's V
 * features; smaller values make smaller groups (the tests). Uploads on s
 * and waits. */
typedef struct ps_gbdt_hist_q_plan ps_gbdt_hist_q_plan_t;
ps_gbdt_hist_q_plan_t *ps_gbdt_hist_q_plan_create(const int64_t *bin_off, int64_t f, size_t max_smem, cudaStream_t s);
void ps_gbdt_hist_q_plan_destroy(ps_gbdt_hist_q_plan_t *p);
/* Blocks over the rows (0: automatic). For the tests: any count gives the same bits. */
void ps_gbdt_hist_q_plan_set_blocks(ps_gbdt_hist_q_plan_t *p, int row_blocks);
/* hist int64 [total_bins][2] = (sum qg, sum qh) of rows rows[0..m) (rows
 * NULL: 0..m-1), gh [n] packed rows (PS_GBDT_QPACK), |qg|, qh <= qmax
 * (< 2^15); overwritten. Each block sums its rows into shared memory with
 * 32-bit atomics -- packed pairs when its rows times qmax < 2^15 (the
 * twin's width-32 rule, per block), for qmax <= 15 packed runs of rows
 * folded into int32 g and h, else g and h as two int32 -- then adds
 * its nonzero bins, widened, into hist with int64 atomics: exact, so the
 * twin's bits for any number of blocks. */
void ps_gbdt_hist_q_cuda(const ps_gbdt_hist_q_plan_t *p, const uint8_t *B, const int64_t *rows, int64_t m,
                         const int32_t *gh, int32_t qmax, int64_t *hist, cudaStream_t s);
/* sums [nleaves][2] = (sum gq, sum hq) over each leaf's rows rows[begin[L]
 * .. begin[L] + count[L]) (begin, count: [nleaves]); overwritten. */
void ps_gbdt_leaf_sums_cuda(const int64_t *rows, const int64_t *begin, const int64_t *count, int nleaves,
                            const int64_t *gq, const int64_t *hq, int64_t *sums, cudaStream_t s);

#ifdef __cplusplus
}
#endif
#endif
