/* hist_sparse.h: C interface to the sparse-row histogram kernels
 * (hist_sparse.cu, issue 30; twin: hist_sparse_cpu.c, gbdt_sparse_cpu.h):
 * a leaf's histogram from its rows' kept bins, each feature's zero bin by
 * subtraction from the leaf's totals. All array arguments are device
 * pointers; every call is queued on stream s. */
#ifndef PS_GBDT_HIST_SPARSE_H
#define PS_GBDT_HIST_SPARSE_H
#include <cuda_runtime_api.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sparse rows on the device (gbdt_sparse_cpu.h's layout). */
typedef struct {
  const int64_t *ptr;     /* [n+1] */
  const uint32_t *bin;    /* kept histogram bins, increasing within a row */
  int64_t f, total_bins;
  const int64_t *bin_off; /* [f+1] */
  const uint8_t *zbin;    /* [f] */
} ps_gbdt_sparse_dev_t;

/* hist [total_bins][3] = the (g, h, 1) sums of rows rows[0..m) (rows NULL:
 * 0..m-1), zero bins included, overwritten; tot: device scratch [3].
 * Integer atomics: the twin's (ps_gbdt_hist_sparse_cpu) bits. */
void ps_gbdt_hist_sparse_cuda(const ps_gbdt_sparse_dev_t *s, const int64_t *rows, int64_t m, const int64_t *gq,
                              const int64_t *hq, int64_t *hist, int64_t *tot, cudaStream_t st);
/* hist [total_bins][2] = the (sum qg, sum qh) of the rows' packed gh
 * (PS_GBDT_QPACK), zero bins included (ps_gbdt_hist_q_sparse_cpu's bits
 * at any width); tot: device scratch [2]. */
void ps_gbdt_hist_q_sparse_cuda(const ps_gbdt_sparse_dev_t *s, const int64_t *rows, int64_t m, const int32_t *gh,
                                int64_t *hist, int64_t *tot, cudaStream_t st);

/* ps_gbdt_partition_sparse_cpu on the device (partition.cu: its count,
 * scan and scatter, the twin's stable order): rows[0..m) split by the code
 * of the feature whose histogram bins are [a, b) (zcode: its zero bin),
 * each row's a binary search of its kept bins ptr, bin; work:
 * ps_gbdt_partition_work(m). Returns the left rows (first in rows). */
int64_t ps_gbdt_partition_sparse_cuda(const int64_t *ptr, const uint32_t *bin, int64_t a, int64_t b, int32_t zcode,
                                      int64_t *rows, int64_t m, int32_t bin_split, int32_t default_left, int64_t *tmp,
                                      void *work, cudaStream_t st);

#ifdef __cplusplus
}
#endif
#endif
