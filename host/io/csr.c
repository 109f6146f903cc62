/* csr.c: sparse (CSR) feature files: open, validate, read row blocks (csr.h). */
#include "io/csr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/partition.h"
#include "core/util.h"

#define VALIDATE_ROWS 65536 /* rows a rank checks at a time */

void csr_read_block(const ps_csr_t *d, int64_t row0, int64_t n, ps_csr_block_t *b) {
  memset(b, 0, sizeof *b);
  b->n = n;
  b->ptr = ps_malloc(sizeof(int64_t) * (size_t)(n + 1));
  b->ptr[0] = 0;
  h5_xfer_rows(d->indptr, PS_I64, row0, n > 0 ? n + 1 : 0, 0, b->ptr, 0);
  int64_t p0 = n > 0 ? b->ptr[0] : 0, nnz = n > 0 ? b->ptr[n] - p0 : 0;
  for (int64_t i = 0; i <= n; i++) b->ptr[i] -= p0;
  b->nnz = nnz;
  b->idx = ps_malloc(sizeof(int32_t) * (size_t)(nnz > 0 ? nnz : 1));
  b->val = ps_malloc(sizeof(float) * (size_t)(nnz > 0 ? nnz : 1));
  h5_xfer_rows(d->indices, PS_I32, p0, nnz, 0, b->idx, 0);
  h5_xfer_rows(d->values, PS_F32, p0, nnz, 0, b->val, 0);
}

void csr_block_free(ps_csr_block_t *b) {
  free(b->ptr);
  free(b->idx);
  free(b->val);
  memset(b, 0, sizeof *b);
}

void csr_densify(const ps_csr_block_t *b, int64_t f, float *X) {
  memset(X, 0, sizeof(float) * (size_t)b->n * (size_t)f);
  for (int64_t i = 0; i < b->n; i++) {
    float *x = X + (size_t)i * (size_t)f;
    for (int64_t p = b->ptr[i]; p < b->ptr[i + 1]; p++) x[b->idx[p]] = b->val[p];
  }
}

void csr_pipe_read(const void *ctx, int64_t row0, int64_t n, void *buf) {
  const ps_csr_t *d = ctx;
  ps_csr_block_t b;
  csr_read_block(d, row0, n, &b);
  csr_densify(&b, d->f, buf);
  csr_block_free(&b);
}

void csr_pipe_read_packed(const void *ctx, int64_t row0, int64_t n, void *buf) {
  const ps_csr_t *d = ctx;
  ps_csr_block_t b;
  csr_read_block(d, row0, n, &b);
  int64_t *hdr = buf;
  double room = 4.0 * (double)n * (double)(d->f + PS_CSR_PACK_COLS), need = 16.0 + 8.0 * (double)(n + 1) + 8.0 * (double)b.nnz;
  if (need <= room) {
    hdr[0] = 1;
    hdr[1] = b.nnz;
    int64_t *ptr = hdr + 2;
    int32_t *idx = (int32_t *)(ptr + n + 1);
    memcpy(ptr, b.ptr, sizeof(int64_t) * (size_t)(n + 1));
    memcpy(idx, b.idx, sizeof(int32_t) * (size_t)b.nnz);
    memcpy(idx + b.nnz, b.val, sizeof(float) * (size_t)b.nnz);
  } else {
    hdr[0] = hdr[1] = 0;
    csr_densify(&b, d->f, (float *)(hdr + 2));
  }
  csr_block_free(&b);
}

int csr_packed_view(void *buf, int64_t n, ps_csr_block_t *b, float **X) {
  int64_t *hdr = buf;
  *X = (float *)(hdr + 2);
  if (!hdr[0]) return 0;
  b->n = n;
  b->nnz = hdr[1];
  b->ptr = hdr + 2;
  b->idx = (int32_t *)(b->ptr + n + 1);
  b->val = (float *)(b->idx + b->nnz);
  return 1;
}

/* The first problem of a block's indptr slice ptr[0..n] (global rows from
 * row0): a decrease, or a value outside [0, nnz]; 1 and msg if any. */
static int check_ptr(const ps_csr_t *d, const int64_t *ptr, int64_t row0, int64_t n, char *msg, size_t len) {
  for (int64_t i = 0; i < n; i++) {
    if (ptr[i + 1] < ptr[i]) {
      snprintf(msg, len, "%s: /features_csr/indptr row %lld: %lld is less than the row's start %lld (indptr must "
               "not decrease)", d->path, (long long)(row0 + i), (long long)ptr[i + 1], (long long)ptr[i]);
      return 1;
    }
    if (ptr[i] < 0 || ptr[i + 1] > d->nnz) {
      snprintf(msg, len, "%s: /features_csr/indptr row %lld: [%lld, %lld) lies outside the %lld stored values",
               d->path, (long long)(row0 + i), (long long)ptr[i], (long long)ptr[i + 1], (long long)d->nnz);
      return 1;
    }
  }
  return 0;
}

/* The first row of a block whose columns leave [0, F) or do not increase. */
static int check_idx(const ps_csr_t *d, const ps_csr_block_t *b, int64_t row0, char *msg, size_t len) {
  for (int64_t i = 0; i < b->n; i++)
    for (int64_t p = b->ptr[i]; p < b->ptr[i + 1]; p++) {
      int64_t j = b->idx[p];
      if (j < 0 || j >= d->f) {
        snprintf(msg, len, "%s: /features_csr/indices row %lld: column %lld is out of range [0, %lld)", d->path,
                 (long long)(row0 + i), (long long)j, (long long)d->f);
        return 1;
      }
      if (p > b->ptr[i] && j <= b->idx[p - 1]) {
        snprintf(msg, len, "%s: /features_csr/indices row %lld: columns not increasing (%lld after %lld)", d->path,
                 (long long)(row0 + i), (long long)j, (long long)b->idx[p - 1]);
        return 1;
      }
    }
  return 0;
}

/* Every rank checks its own rows in blocks (the same number of collective
 * reads on every rank); the lowest bad row wins (ps_check_all). */
static void csr_validate(ps_csr_t *d) {
  int64_t row0, n;
  ps_partition(d->n, ps_size, ps_rank, &row0, &n);
  int64_t nb = h5_common_blocks(n, VALIDATE_ROWS);
  int bad = 0;
  char msg[1024] = "";
  int64_t *ptr = ps_malloc(sizeof(int64_t) * (VALIDATE_ROWS + 1));
  for (int64_t k = 0; k < nb; k++) {
    int64_t r0 = k * VALIDATE_ROWS, m = n - r0 < VALIDATE_ROWS ? n - r0 : VALIDATE_ROWS;
    if (m < 0 || bad) m = 0;
    h5_xfer_rows(d->indptr, PS_I64, row0 + r0, m > 0 ? m + 1 : 0, 0, ptr, 0);
    int pbad = m > 0 && check_ptr(d, ptr, row0 + r0, m, msg, sizeof msg);
    bad |= pbad;
    ps_csr_block_t b;
    csr_read_block(d, row0 + r0, pbad ? 0 : m, &b); /* collective: a bad slice reads nothing */
    bad |= check_idx(d, &b, row0 + r0, msg, sizeof msg);
    csr_block_free(&b);
  }
  free(ptr);
  ps_check_all(bad, msg);
}

/* The three datasets, their lengths agreeing; indptr's two ends. */
static void open_sets(ps_h5_t fid, ps_csr_t *d) {
  const char *path = d->path;
  int64_t pd[1], id[1], vd[1];
  d->indptr = h5_dset_open(fid, path, "/features_csr/indptr", 1, PS_KIND_INT, "int64", pd);
  d->indices = h5_dset_open(fid, path, "/features_csr/indices", 1, PS_KIND_INT, "int32", id);
  d->values = h5_dset_open(fid, path, "/features_csr/data", 1, PS_KIND_FLOAT, "float32", vd);
  if (pd[0] < 1) ps_die_all(PS_EXIT_ERROR, "%s: /features_csr/indptr is empty (it holds N+1 values)", path);
  if (id[0] != vd[0])
    ps_die_all(PS_EXIT_ERROR, "%s: /features_csr/indices has %lld values but /features_csr/data has %lld", path,
               (long long)id[0], (long long)vd[0]);
  d->n = pd[0] - 1;
  d->nnz = vd[0];
  int64_t ends[2];
  h5_xfer_rows(d->indptr, PS_I64, 0, ps_rank == 0 ? 1 : 0, 0, ends, 0);
  h5_xfer_rows(d->indptr, PS_I64, d->n, ps_rank == 0 ? 1 : 0, 0, ends + 1, 0);
  comm_bcast(ends, sizeof ends, 0);
  if (ends[0] != 0)
    ps_die_all(PS_EXIT_ERROR, "%s: /features_csr/indptr row 0: starts at %lld, must be 0", path, (long long)ends[0]);
  if (ends[1] != d->nnz)
    ps_die_all(PS_EXIT_ERROR, "%s: /features_csr/indptr row %lld: ends at %lld but /features_csr/data holds %lld "
               "values", path, (long long)(d->n - 1), (long long)ends[1], (long long)d->nnz);
}

void csr_open(ps_h5_t fid, const char *path, int64_t f, ps_csr_t *s) {
  memset(s, 0, sizeof *s);
  s->path = path;
  s->f = f;
  open_sets(fid, s);
  csr_validate(s);
}

void csr_close(ps_csr_t *s) {
  h5_close(s->indptr);
  h5_close(s->indices);
  h5_close(s->values);
  s->indptr = s->indices = s->values = -1;
}
