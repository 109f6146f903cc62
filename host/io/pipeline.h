/* pipeline.h: the one block I/O pipeline. A rank's rows [row0, row0+n) of
 * some datasets go through in blocks: while the caller computes block b,
 * the pipeline's thread reads block b+1 and writes block b-1 (two buffer
 * slots). Every rank runs the same number of blocks (collective reads and
 * writes, empty blocks where a rank has fewer rows).
 *
 * The thread rule: while a pass runs, only the pipeline's thread calls HDF5
 * or MPI. The compute side records problems with pipe_fail; at each block
 * boundary the thread agrees collectively on them (the lowest global row
 * wins, among problems in blocks already computed on every rank, so the
 * outcome does not depend on timing) and, if asked, on a stop signal. A
 * pass ends early on either; the blocks before the stop point are complete
 * in the file. After pipe_next returns 0 the thread is idle and the caller
 * may use HDF5/MPI again (pipe_status tells how the pass ended). A fatal
 * error (ps_die_all) stops a running pipeline before MPI is finalized. */
#ifndef PS_PIPELINE_H
#define PS_PIPELINE_H
#include <stddef.h>
#include <stdint.h>

#include "io/h5.h"

typedef struct {
  ps_h5_t dset;
  ps_dtype_t type; /* memory type of the buffer */
  int64_t cols;    /* values a row; 0 for a 1-D dataset */
  /* optional, inputs only: reads rows [row0, row0+n) into buf instead of
   * dset (collective as a transfer; e.g. CSR rows made dense, io/csr.h) */
  void (*read)(const void *ctx, int64_t row0, int64_t n, void *buf);
  const void *ctx;
} ps_pipe_col_t;

typedef struct {
  const char *what;          /* for messages: "score", "train", ... */
  int64_t row0, n;           /* this rank's rows */
  int64_t block_rows;        /* rows a block, the same on every rank */
  int nin, nout;             /* datasets read / written each block */
  const ps_pipe_col_t *in, *out;
  int agree_stop;            /* end the pass at a block boundary once a stop signal reached any rank */
} ps_pipe_spec_t;

typedef struct {
  int64_t index;  /* block number */
  int64_t first;  /* its first row, as an offset in this rank's range */
  int64_t rows;   /* rows in it (0 possible) */
  void **in;      /* [nin] buffers holding the rows read */
  void **out;     /* [nout] buffers to fill; written once the next block is asked for */
} ps_block_t;

typedef enum { PS_PIPE_DONE = 0, PS_PIPE_STOPPED, PS_PIPE_FAILED } ps_pipe_status_t;

typedef struct ps_pipe ps_pipe_t;

/* Collective: the block count is agreed; the thread starts, idle. */
ps_pipe_t *pipe_open(const ps_pipe_spec_t *spec);
/* Begin a pass at block first_block (0, or where a stopped run ended). */
void pipe_start(ps_pipe_t *p, int64_t first_block);
/* The next block of the pass (the one before it is then complete); 0 when
 * the pass is over and the thread idle. */
int pipe_next(ps_pipe_t *p, ps_block_t *b);
/* Compute side: a problem at a global row of the block being computed
 * (message: one line naming file, dataset, row). The first on a rank is kept. */
void pipe_fail(ps_pipe_t *p, int64_t global_row, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* How the pass ended; on STOPPED the first block not done (every block
 * before it is written), on FAILED the agreed message (the same on every
 * rank). */
ps_pipe_status_t pipe_status(const ps_pipe_t *p, int64_t *stop_block, const char **msg);
/* pipe_status, dying (collectively) on FAILED with the agreed message. */
ps_pipe_status_t pipe_check(const ps_pipe_t *p, int64_t *stop_block);
int64_t pipe_blocks(const ps_pipe_t *p);
double pipe_read_seconds(const ps_pipe_t *p);
double pipe_write_seconds(const ps_pipe_t *p);
/* Not during a pass. */
void pipe_close(ps_pipe_t *p);
#endif
