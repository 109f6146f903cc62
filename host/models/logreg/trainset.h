/* trainset.h: a rank's training and validation rows for logistic
 * regression: labels validated, ids checked unique, rows split by a hash
 * of customer_id, columns standardized with distributed training-split
 * statistics (stats/prepare.h). Resident when they fit the memory limit;
 * otherwise every pass streams them through the block pipeline. */
#ifndef PS_TRAINSET_H
#define PS_TRAINSET_H
#include <stdint.h>

#include "io/csr.h"
#include "io/data.h"
#include "io/pipeline.h"
#include "models/labels.h"
#include "stats/prepare.h"

typedef struct {
  int64_t f, c;          /* input columns, model columns */
  int k;
  ps_labeled_t lab;      /* labels, split, ids */
  int64_t n_tr, n_va;    /* this rank's rows (= lab's) */
  double g_tr, g_va;     /* rows in all ranks */
  float *Xtr, *Xva;      /* [n][c] standardized (resident) */
  float *spare;          /* resident, standardized in place: the read matrix's tail past Xtr's */
  size_t spare_floats;   /* rows, unused (touched memory: scratch after the fit) */
  uint8_t *Ytr, *Yva;    /* [n][k] (lab's) */
  ps_columns_t cols;
  ps_transform_t tf;
  double *n_pos;         /* [k] positives in the training split (all ranks; lab's) */
  /* streamed (rows larger than the memory limit): X is read again each pass */
  int streamed;
  int64_t block_rows;
  ps_pipe_t *pipe;
  const uint8_t *train;  /* [rank rows] 1 = training row (lab's) */
  float *bx_tr, *bx_va;  /* one block's standardized rows of each split */
  int64_t tr_off, va_off;/* rows of each split handed out so far this pass */
  /* grid blocks (core/partition.h: PS_ROW_GRID rows of the file, a rank's
   * first row on the grid): training rows in each of this rank's, and the
   * grid blocks [blk_g0, blk_g1) of the block trainset_next handed out */
  int64_t n_grid;
  int32_t *grid_ntr;
  int64_t blk_g0, blk_g1;
  /* CSR rows (trainset_csr.c: a CSR file with --standardize scale): the
   * standardized stored values of each split, resident; Xtr, Xva unused */
  int csr;
  ps_csr_block_t tr, va;
  /* streamed CSR rows (trainset_csr_stream.c): tr, va hold one block's */
  struct csr_stream *csr_stream;
  /* the resident training rows' grid blocks by column (train_csr.c builds them at its first pass) */
  struct ps_csc_blocks *csc;
  int64_t csc_room; /* bytes of --host-mem-limit the resident CSR rows leave this rank (the copy's budget) */
} ps_trainset_t;

/* Collective. keep: labels_load's row mask (or NULL). reject_nonfinite: die naming the first NaN/Inf feature (row,
 * column) instead of imputing it. mem_limit: bytes this rank may hold for
 * feature rows; above it the rows stream from the file every pass (resident
 * and streamed give bitwise the same model). */
void trainset_load(ps_data_t *d, char *const *targets, int k, double holdout, int64_t salt, const uint8_t *keep,
                   int missing_ind, int reject_nonfinite, int64_t mem_limit, int scale_only, ps_trainset_t *ts);
/* trainset_csr.c: the CSR rows of a CSR file, for scale-only
 * standardization (every column's mean taken as 0, so values not stored
 * stay 0): statistics as the dense rows' (the same bits), then the rank's
 * stored values standardized and split. Labels already taken. */
void trainset_csr_load(ps_trainset_t *ts, ps_data_t *d, int reject_nonfinite);
/* Rows b (train: their splits) standardized (scale only, zeros dropped) into ts->tr and ts->va. */
void trainset_csr_split(ps_trainset_t *ts, const ps_csr_block_t *b, const uint8_t *train);
/* trainset_csr_stream.c: when the rank's CSR rows (12 bytes a stored value,
 * 8 a row) exceed mem_limit on any rank (collective), the statistics in one
 * pass through the block pipeline, which stays open for the fit: 1; else 0. */
int trainset_csr_stream_open(ps_trainset_t *ts, ps_data_t *d, int reject_nonfinite, int64_t mem_limit);
/* A pass: rewind, then each block's standardized rows into ts->tr, ts->va
 * and its grid blocks [ts->blk_g0, ts->blk_g1); *tr_off, *va_off: rows of
 * each split before the block; 0 at the end. */
void trainset_csr_rewind(ps_trainset_t *ts);
int trainset_csr_next(ps_trainset_t *ts, int64_t *tr_off, int64_t *va_off);
void trainset_csr_stream_free(ps_trainset_t *ts);
/* --standardize scale (dense or CSR): every value column's mean taken as 0 (scale kept: 1/std). */
void trainset_scale_only(ps_columns_t *cols);
/* Streamed sets: start a pass; then the next block's standardized rows of
 * each split and their labels (pointers into Ytr/Yva); 0 at the end. */
void trainset_rewind(ps_trainset_t *ts);
int trainset_next(ps_trainset_t *ts, const float **Xtr, const uint8_t **Ytr, int64_t *ntr, const float **Xva,
                  const uint8_t **Yva, int64_t *nva);
void trainset_free(ps_trainset_t *ts);
#endif
