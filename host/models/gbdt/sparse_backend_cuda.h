/* sparse_backend_cuda.h: private to the trees' CUDA backend -- a CSR
 * file's training rows as sparse bins on the device (issue 30;
 * gbdt/gbdt_sparse_cpu.h's layout): the row starts, the kept bins and the
 * zero bins uploaded once; a leaf's histogram from its rows' kept bins
 * with each zero bin = the leaf's totals - the rest (hist_sparse.cu), and
 * the partition of a leaf's rows on the device (partition.cu's stable
 * scan; each row's code a binary search of its kept bins). Device memory:
 * 4 bytes a kept training value and 8 a row, beside the backend's own. */
#ifndef PS_GBDT_SPARSE_BACKEND_CUDA_H
#define PS_GBDT_SPARSE_BACKEND_CUDA_H
#include <stdint.h>

#include "gbdt/gbdt_sparse_cpu.h"

typedef struct gbdt_sparse_dev gbdt_sparse_dev_t;

/* sp's rows uploaded (on st, the backend's cudaStream_t); dbin_off: the
 * backend's device bin offsets. */
gbdt_sparse_dev_t *gbdt_sparse_dev_create(const ps_gbdt_sparse_t *sp, const int64_t *dbin_off, int64_t total_bins,
                                          void *st);
void gbdt_sparse_dev_destroy(gbdt_sparse_dev_t *d);
/* A leaf's local histogram (device rows[0..m)) into dst: exact [total_bins][3]
 * from gq, hq (gh NULL) or quantized [total_bins][2] from the packed gh. */
void gbdt_sparse_dev_hist(gbdt_sparse_dev_t *d, const int64_t *rows, int64_t m, const int64_t *gq, const int64_t *hq,
                          const int32_t *gh, int64_t *dst);
/* rows[0..m) split (the left ones first, in order); returns their number. */
int64_t gbdt_sparse_dev_split(gbdt_sparse_dev_t *d, int64_t *rows, int64_t m, int32_t feature, int32_t bin,
                              int32_t default_left, int64_t *tmp, void *work);
/* Device bytes of the sparse rows: n rows, kept values. */
int64_t gbdt_sparse_dev_bytes(int64_t n, int64_t kept, int64_t f);
#endif
