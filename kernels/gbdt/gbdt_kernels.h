/* gbdt_kernels.h: C interface to the tree kernels (bin.cu, hist.cu,
 * split.cu, partition.cu, predict.cu, shap.cu). Each has the contract of its CPU
 * twin in gbdt_cpu.h and the same per-element rules (gbdt_math.h); every
 * result is an exact function of the inputs (integer sums, rounded double
 * intrinsics, fixed orders), so kernel and twin agree bitwise for any grid.
 * All array arguments are device pointers unless said otherwise; every call
 * is queued on stream s (functions that return a count synchronize it). */
#ifndef PS_GBDT_KERNELS_H
#define PS_GBDT_KERNELS_H
#include <cuda_runtime_api.h>
#include <stdint.h>

#include "gbdt/gbdt_cpu.h"
#include "gbdt/shap_cpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ps_gbdt_bin_cpu: B [n][f] from raw rows X [n][f]. */
void ps_gbdt_bin_cuda(const float *X, int64_t n, int64_t f, const float *cuts, const int64_t *cut_off, uint8_t *B,
                      cudaStream_t s);

/* Histograms. Features are cut into groups whose bins fit one block's
 * shared memory; each block sums a range of rows of one group into shared
 * int64 (g, h, count) with 64-bit integer atomics, then adds its nonzero
 * entries into the output with 64-bit atomics: exact, so the result is the
 * twin's bits for any number of blocks. */
typedef struct ps_gbdt_hist_plan ps_gbdt_hist_plan_t;
/* bin_off: host [f+1]. max_smem: shared memory a block may use (bytes;
 * 0: 96 KiB), at least 256 bins' worth. Uploads on s and waits. */
ps_gbdt_hist_plan_t *ps_gbdt_hist_plan_create(const int64_t *bin_off, int64_t f, size_t max_smem, cudaStream_t s);
void ps_gbdt_hist_plan_destroy(ps_gbdt_hist_plan_t *p);
/* Blocks over the rows (0: automatic). For the tests: any count gives the same bits. */
void ps_gbdt_hist_plan_set_blocks(ps_gbdt_hist_plan_t *p, int row_blocks);
/* hist [total_bins][3] += (g, h, 1) of rows rows[0..m) (rows NULL: 0..m-1). */
void ps_gbdt_hist_cuda(const ps_gbdt_hist_plan_t *p, const uint8_t *B, const int64_t *rows, int64_t m,
                       const int64_t *gq, const int64_t *hq, int64_t *hist, cudaStream_t s);

/* Split search: one block per feature (prefix sums over its bins, every
 * candidate's gain, the first best in the twin's order), then the best over
 * features in feature order. hist: [total_bins][3] (device), bin_off [f+1]
 * and use [f] (may be NULL) device; work: ps_gbdt_split_work(f) bytes;
 * *best: device. */
size_t ps_gbdt_split_work(int64_t f);
void ps_gbdt_split_cuda(const int64_t *hist, int64_t f, const int64_t *bin_off, const uint8_t *use, int64_t G,
                        int64_t H, int64_t N, ps_split_params_t p, void *work, ps_split_t *best, cudaStream_t s);

/* Stable partition of rows[0..m) (ps_gbdt_partition_cpu): a block count,
 * a scan of the counts, a scatter into tmp [m] (left rows then right ones,
 * each in order), copied back into rows. work: ps_gbdt_partition_work(m)
 * bytes. Returns the number of left rows (synchronizes s). */
size_t ps_gbdt_partition_work(int64_t m);
int64_t ps_gbdt_partition_cuda(const uint8_t *B, int64_t f, int64_t *rows, int64_t m, int32_t feature, int32_t bin,
                               int32_t default_left, int64_t *tmp, void *work, cudaStream_t s);
/* ps_gbdt_bag_rows_cpu: the i in [0, n) with bag[i] != 0 (bag NULL: all),
 * in order, then the others. work: ps_gbdt_partition_work(n). Returns the number in the bag. */
int64_t ps_gbdt_bag_rows_cuda(const uint8_t *bag, int64_t n, int64_t *rows, int64_t *tmp, void *work, cudaStream_t s);
/* The leaf of each row of a grown tree: leaf L holds rows[begin[L] ..
 * begin[L] + count[L]) (begin, count: device [nleaves]); leaf_of [n] gets L
 * for those rows (others untouched). */
void ps_gbdt_leaf_of_cuda(const int64_t *rows, const int64_t *begin, const int64_t *count, int nleaves, int64_t m,
                          int32_t *leaf_of, cudaStream_t s);

/* ps_gbdt_predict_cpu: out[i] += the forest's value for raw rows X [n][f],
 * trees in order (the same double additions). fo: a view whose arrays are
 * device pointers (the struct itself on the host). */
void ps_gbdt_predict_cuda(const ps_forest_view_t *fo, const float *X, int64_t n, int64_t f, double *out,
                          cudaStream_t s);

/* ps_gbdt_shap_cpu (shap_cpu.h): phi [n][f] += the TreeSHAP contributions of
 * raw rows X [n][f]. fo and ps: views whose arrays are device pointers (the
 * structs themselves on the host). Returns -1 (nothing queued) when a path
 * is longer than PS_SHAP_MAX_DEPTH, else 0. */
int ps_gbdt_shap_cuda(const ps_forest_view_t *fo, const ps_shap_paths_t *ps, const float *X, int64_t n, int64_t f,
                      double *phi, cudaStream_t s);

/* The same partition by a category set on bins (ps_gbdt_partition_set_cpu,
 * gbdt_cat.h): set is the host's PS_GBDT_CAT_BYTES bytes (passed by value). */
int64_t ps_gbdt_partition_set_cuda(const uint8_t *B, int64_t f, int64_t *rows, int64_t m, int32_t feature,
                                   const uint8_t *set, int64_t *tmp, void *work, cudaStream_t s);

#ifdef __cplusplus
}
#endif
#endif
