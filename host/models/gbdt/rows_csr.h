/* rows_csr.h: a CSR file's rows binned for the trees without making them
 * dense (issue 30): the cuts from the sampled rows' stored values
 * (binning_csr.c), then every training and validation row kept as its bins
 * that differ from the feature's zero bin (gbdt/gbdt_sparse_cpu.h), read a
 * row block at a time, and for the CPU backend the training rows' column
 * index (its partition). Memory: 4 bytes a kept value plus 8 a row, and 5
 * more a kept training value for the column index (the rank's rows; not
 * with --device cuda, whose partition searches each row's kept bins),
 * beside one block of CSR reads (12 bytes a stored value). --device cuda:
 * the training rows' kept bins go up once (4 bytes each, 8 a row;
 * sparse_backend_cuda.h). */
#ifndef PS_GBDT_ROWS_CSR_H
#define PS_GBDT_ROWS_CSR_H
#include <stdint.h>

#include "gbdt/gbdt_sparse_cpu.h"
#include "io/data.h"
#include "models/gbdt/binning.h"
#include "models/labels.h"

typedef struct {
  ps_gbdt_sparse_t tr, va; /* the training and validation rows, in order */
  int64_t *ptr[2];         /* their row starts (train, valid) */
  uint32_t *bin[2];        /* their kept bins */
  uint8_t *zbin;           /* [f] */
  int64_t *col_off;        /* the training rows' column index (gbdt_sparse_cpu.h), or NULL */
  uint32_t *col_row;
  uint8_t *col_code;
  int64_t m;               /* rows this rank sampled for the cuts */
} gbdt_csr_rows_t;

/* The stored values of this rank's rows (collective). */
int64_t gbdt_csr_stored(const ps_data_t *d, const ps_labeled_t *l);
/* Bytes the binned rows of this rank may need at most, with the column
 * index (index != 0) or without (collective). */
double gbdt_csr_bytes(const ps_data_t *d, const ps_labeled_t *l, int index);
/* Collective: cuts into bins (sample: rows by bins_in_sample(id, rate,
 * seed)) and the binned rows into r; --nonfinite reject (reject != 0):
 * dies naming the first non-finite stored value. */
void gbdt_csr_load(ps_data_t *d, const ps_labeled_t *l, int64_t bin_sample, uint64_t seed, int max_bin, int reject,
                   ps_bins_t *bins, gbdt_csr_rows_t *r);
/* The training rows' column index (r->tr.col_*) for the CPU backend's partition. */
void gbdt_csr_index(gbdt_csr_rows_t *r);
void gbdt_csr_rows_free(gbdt_csr_rows_t *r);
#endif
