/* csr.h: sparse feature files (datasets/SCHEMA.md, "CSR layout"):
 * /features_csr/indptr int64 [N+1], /features_csr/indices int32 [nnz],
 * /features_csr/data float32 [nnz], beside /customer_id [N] and
 * /feature_names [F]. Opened and validated here (data_open hands a file
 * with /features_csr to csr_open); row blocks read as their CSR slice or
 * made dense (zeros where no value is stored) for the dense code paths. */
#ifndef PS_CSR_H
#define PS_CSR_H
#include <stdint.h>

#include "io/h5.h"

/* The open CSR datasets of a file. */
typedef struct {
  const char *path;
  ps_h5_t indptr, indices, values;
  int64_t n, f, nnz;
} ps_csr_t;

/* A row block of CSR: ptr [n+1] rebased to start at 0, idx and val [nnz]. */
typedef struct {
  int64_t n, nnz;
  int64_t *ptr;
  int32_t *idx;
  float *val;
} ps_csr_block_t;

/* Collective: the datasets of file `fid` opened (n, nnz set; f columns,
 * the length of /feature_names) and every rank's rows validated: indptr
 * starts at 0, never decreases and ends at nnz, every row's columns lie in
 * [0, F) and increase strictly. Dies with one line naming the file, the
 * dataset and the row. */
void csr_open(ps_h5_t fid, const char *path, int64_t f, ps_csr_t *s);
void csr_close(ps_csr_t *s);
/* Collective (three transfers; n may be 0): rows [row0, row0+n). */
void csr_read_block(const ps_csr_t *s, int64_t row0, int64_t n, ps_csr_block_t *b);
void csr_block_free(ps_csr_block_t *b);
/* The block as dense rows X [n][F] (zeros where no value is stored). */
void csr_densify(const ps_csr_block_t *b, int64_t f, float *X);
/* The pipeline's reader of a CSR file's rows as dense float32 (ctx: the ps_csr_t). */
void csr_pipe_read(const void *ctx, int64_t row0, int64_t n, void *buf);
/* The pipeline's reader of a CSR file's rows kept sparse (score): a column
 * of f + PS_CSR_PACK_COLS float32 a row (ctx: the ps_csr_t). The block is
 * packed into the buffer as int64 {1, nnz}, ptr [n+1] from 0, idx [nnz],
 * val [nnz] -- 8 bytes a stored value and 8 a row; only those pages are
 * touched -- or, when that does not fit (more than about half the row's
 * columns stored), as int64 {0, 0} and the rows made dense. */
#define PS_CSR_PACK_COLS 4
void csr_pipe_read_packed(const void *ctx, int64_t row0, int64_t n, void *buf);
/* A packed block of n rows: 1 and b's views into buf (b->ptr .. b->val;
 * not to be freed) when it is sparse, else 0 and *X the dense rows. */
int csr_packed_view(void *buf, int64_t n, ps_csr_block_t *b, float **X);
#endif
