/* rows_csr.c: a CSR file's rows binned sparse for the trees (rows_csr.h). */
#include "models/gbdt/rows_csr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"

#define BLOCK_ROWS 65536 /* rows a CSR read */

int64_t gbdt_csr_stored(const ps_data_t *d, const ps_labeled_t *l) {
  int64_t ends[2] = {0, 0};
  h5_xfer_rows(d->sp.indptr, PS_I64, l->row0, l->n > 0 ? 1 : 0, 0, ends, 0);
  h5_xfer_rows(d->sp.indptr, PS_I64, l->row0 + l->n, l->n > 0 ? 1 : 0, 0, ends + 1, 0);
  return ends[1] - ends[0];
}

double gbdt_csr_bytes(const ps_data_t *d, const ps_labeled_t *l, int index) {
  double per = index ? 9.0 : 4.0; /* at most every stored value kept (rows_csr.h) */
  return per * (double)gbdt_csr_stored(d, l) + 8.0 * (double)l->n;
}

/* A growing CSR of sampled rows. */
typedef struct {
  int64_t m, cap;
  int64_t *ptr;
  int32_t *idx;
  float *val;
} sample_t;

static void sample_add(sample_t *s, const int32_t *idx, const float *val, int64_t k) {
  if (s->ptr[s->m] + k > s->cap) {
    s->cap = 2 * s->cap + k;
    s->idx = ps_realloc(s->idx, sizeof(int32_t) * (size_t)s->cap);
    s->val = ps_realloc(s->val, sizeof(float) * (size_t)s->cap);
  }
  memcpy(s->idx + s->ptr[s->m], idx, sizeof(int32_t) * (size_t)k);
  memcpy(s->val + s->ptr[s->m], val, sizeof(float) * (size_t)k);
  s->ptr[s->m + 1] = s->ptr[s->m] + k;
  s->m++;
}

/* The first non-finite stored value of a block (global rows from row0): 1 and msg. */
static int first_nonfinite(const ps_data_t *d, const ps_csr_block_t *b, int64_t row0, char *msg, size_t len) {
  for (int64_t i = 0; i < b->n; i++)
    for (int64_t p = b->ptr[i]; p < b->ptr[i + 1]; p++)
      if (!isfinite(b->val[p])) {
        data_nonfinite_message(d, row0 + i, b->idx[p], b->val[p], msg, len);
        return 1;
      }
  return 0;
}

/* Pass 1: the sampled training rows' stored values (and the non-finite check). */
static void read_sample(ps_data_t *d, const ps_labeled_t *l, double rate, uint64_t seed, int reject, sample_t *s) {
  int64_t nb = h5_common_blocks(l->n, BLOCK_ROWS);
  int bad = 0;
  char msg[1024] = "";
  s->ptr = ps_calloc((size_t)l->n + 1, sizeof(int64_t));
  for (int64_t k = 0; k < nb; k++) {
    int64_t r0 = k * BLOCK_ROWS, n = l->n - r0 < BLOCK_ROWS ? l->n - r0 : BLOCK_ROWS;
    ps_csr_block_t b;
    csr_read_block(&d->sp, l->row0 + r0, n > 0 ? n : 0, &b);
    if (reject && !bad) bad = first_nonfinite(d, &b, l->row0 + r0, msg, sizeof msg);
    for (int64_t i = 0; i < b.n; i++) {
      int64_t g = r0 + i;
      if (l->train[g] == PS_ROW_TRAIN && bins_in_sample(l->ids[g], rate, seed))
        sample_add(s, b.idx + b.ptr[i], b.val + b.ptr[i], b.ptr[i + 1] - b.ptr[i]);
    }
    csr_block_free(&b);
  }
  ps_check_all(bad, msg);
}

/* Pass 2: every training and validation row's kept bins. */
static void bin_rows(ps_data_t *d, const ps_labeled_t *l, const ps_bins_t *bins, gbdt_csr_rows_t *r) {
  int64_t nb = h5_common_blocks(l->n, BLOCK_ROWS), rows[2] = {l->n_tr, l->n_va}, cap = 0, used[2] = {0, 0};
  int64_t ends[2] = {0, 0}; /* the rank's stored values: room for every one in either split (untouched pages cost nothing) */
  h5_xfer_rows(d->sp.indptr, PS_I64, l->row0, l->n > 0 ? 1 : 0, 0, ends, 0);
  h5_xfer_rows(d->sp.indptr, PS_I64, l->row0 + l->n, l->n > 0 ? 1 : 0, 0, ends + 1, 0);
  cap = ends[1] - ends[0];
  for (int s = 0; s < 2; s++) {
    r->ptr[s] = ps_calloc((size_t)rows[s] + 1, sizeof(int64_t));
    r->bin[s] = ps_malloc(sizeof(uint32_t) * (size_t)(cap + 1));
    rows[s] = 0;
  }
  for (int64_t k = 0; k < nb; k++) {
    int64_t r0 = k * BLOCK_ROWS, n = l->n - r0 < BLOCK_ROWS ? l->n - r0 : BLOCK_ROWS;
    ps_csr_block_t b;
    csr_read_block(&d->sp, l->row0 + r0, n > 0 ? n : 0, &b);
    for (int64_t i = 0; i < b.n; i++) {
      int place = l->train[r0 + i], s = place == PS_ROW_TRAIN ? 0 : 1;
      if (place == PS_ROW_NONE) continue;
      used[s] += ps_gbdt_sparse_bin_row_cpu(b.idx + b.ptr[i], b.val + b.ptr[i], b.ptr[i + 1] - b.ptr[i], bins->cuts,
                                            bins->cut_off, bins->bin_off, r->zbin, r->bin[s] + used[s]);
      r->ptr[s][++rows[s]] = used[s];
    }
    csr_block_free(&b);
  }
  for (int s = 0; s < 2; s++) r->bin[s] = ps_realloc(r->bin[s], sizeof(uint32_t) * (size_t)(used[s] + 1));
}

void gbdt_csr_load(ps_data_t *d, const ps_labeled_t *l, int64_t bin_sample, uint64_t seed, int max_bin, int reject,
                   ps_bins_t *bins, gbdt_csr_rows_t *r) {
  memset(r, 0, sizeof *r);
  double rate = (double)bin_sample >= l->g_tr ? 1.0 : (double)bin_sample / l->g_tr;
  sample_t s = {0};
  read_sample(d, l, rate, seed, reject, &s);
  r->m = s.m;
  bins_from_csr_sample(s.ptr, s.idx, s.val, s.m, d->f, max_bin, bins);
  free(s.ptr);
  free(s.idx);
  free(s.val);
  if (bins->total_bins >= ((int64_t)1 << 32))
    ps_die_all(PS_EXIT_ERROR, "%s: %lld histogram bins in all: sparse rows hold a bin in 32 bits", d->path,
               (long long)bins->total_bins);
  r->zbin = bins_zero_codes(bins);
  bin_rows(d, l, bins, r);
  for (int s2 = 0; s2 < 2; s2++) {
    ps_gbdt_sparse_t *v = s2 ? &r->va : &r->tr;
    *v = (ps_gbdt_sparse_t){.n = s2 ? l->n_va : l->n_tr, .ptr = r->ptr[s2], .bin = r->bin[s2], .f = bins->f,
                            .bin_off = bins->bin_off, .zbin = r->zbin};
  }
}

void gbdt_csr_index(gbdt_csr_rows_t *r) {
  int64_t n = r->tr.n, f = r->tr.f;
  if (n >= ((int64_t)1 << 32)) return; /* row numbers in 32 bits: else the partition searches each row */
  int64_t kept = r->tr.ptr[n];
  r->col_off = ps_malloc(sizeof(int64_t) * (size_t)(f + 1));
  r->col_row = ps_malloc(sizeof(uint32_t) * (size_t)(kept + 1));
  r->col_code = ps_malloc((size_t)(kept + 1));
  ps_gbdt_sparse_columns_cpu(&r->tr, r->col_off, r->col_row, r->col_code);
  r->tr.col_off = r->col_off;
  r->tr.col_row = r->col_row;
  r->tr.col_code = r->col_code;
}

void gbdt_csr_rows_free(gbdt_csr_rows_t *r) {
  for (int s = 0; s < 2; s++) {
    free(r->ptr[s]);
    free(r->bin[s]);
  }
  free(r->zbin);
  free(r->col_off);
  free(r->col_row);
  free(r->col_code);
  memset(r, 0, sizeof *r);
}
