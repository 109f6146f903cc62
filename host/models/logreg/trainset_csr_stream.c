/* trainset_csr_stream.c: CSR training rows that do not fit the memory
 * limit stream from the file every pass (trainset.h), through the one block
 * pipeline (io/pipeline.h: only its thread calls HDF5 and MPI during a
 * pass): each block's CSR slice arrives packed in one buffer (row pointers,
 * columns, values), is standardized and split (trainset_csr_split) and
 * summed grid block by grid block as the resident rows are, so the model is
 * byte-identical to the resident fit's. Blocks are whole grid blocks of
 * rows, sized so that two packed blocks and one split copy fit the limit
 * (the rank's row pointers, 8 bytes a row, are read once to size them). */
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/partition.h"
#include "core/util.h"
#include "models/logreg/trainset.h"

struct csr_stream {
  const ps_csr_t *sp;
  int64_t br, cap;  /* rows and stored values a block holds at most */
  ps_csr_block_t b; /* the block being computed (views into the pipeline's buffer) */
};

/* The pipeline's reader: rows [row0, row0+n) packed as ptr [br+1] (from 0), idx [cap], val [cap]. */
static void packed_read(const void *ctx, int64_t row0, int64_t n, void *buf) {
  const struct csr_stream *s = ctx;
  ps_csr_block_t b;
  csr_read_block(s->sp, row0, n, &b);
  if (b.nnz > s->cap) ps_die_local("train: a CSR block of %lld values over its %lld [%s:%d]", (long long)b.nnz,
                                   (long long)s->cap, __FILE__, __LINE__);
  char *p = buf;
  memcpy(p, b.ptr, sizeof(int64_t) * (size_t)(n + 1));
  p += sizeof(int64_t) * (size_t)(s->br + 1);
  memcpy(p, b.idx, sizeof(int32_t) * (size_t)b.nnz);
  memcpy(p + sizeof(int32_t) * (size_t)s->cap, b.val, sizeof(float) * (size_t)b.nnz);
  csr_block_free(&b);
}

static void unpack(struct csr_stream *s, const ps_block_t *blk, int64_t br) {
  char *p = blk->in[0];
  s->b.n = blk->rows;
  s->b.ptr = (int64_t *)(void *)p;
  s->b.nnz = blk->rows > 0 ? s->b.ptr[blk->rows] : 0;
  s->b.idx = (int32_t *)(void *)(p + sizeof(int64_t) * (size_t)(br + 1));
  s->b.val = (float *)(void *)(p + sizeof(int64_t) * (size_t)(br + 1) + sizeof(int32_t) * (size_t)s->cap);
}

/* Rows a block (whole grid blocks) and the most values one holds (the same on every rank). */
static int64_t block_shape(const int64_t *ptr, int64_t n, int64_t mem_limit, int64_t *cap) {
  double per = (double)(ptr[n] - ptr[0]) / (double)(n > 0 ? n : 1);
  comm_allreduce_max_f64(&per, 1);
  int64_t br = (int64_t)((double)mem_limit / (3.0 * (12.0 * per + 8.0) + 16.0));
  br -= br % PS_ROW_GRID;
  if (br < PS_ROW_GRID) br = PS_ROW_GRID;
  double c = 0;
  for (int64_t r = 0; r < n; r += br) {
    int64_t e = r + br < n ? r + br : n;
    if ((double)(ptr[e] - ptr[r]) > c) c = (double)(ptr[e] - ptr[r]);
  }
  comm_allreduce_max_f64(&c, 1);
  *cap = (int64_t)c > 0 ? (int64_t)c : 1;
  return br;
}

/* One pass for the statistics (and --nonfinite reject). */
static void stream_stats(ps_trainset_t *ts, ps_data_t *d, int reject_nonfinite, ps_colstat_t *st) {
  struct csr_stream *s = ts->csr_stream;
  int64_t row0 = ts->lab.row0, n = ts->lab.n;
  ps_colacc_t *sa = stats_tree_begin(d->f, n > 0 ? row0 : 0);
  ps_block_t blk;
  pipe_start(ts->pipe, 0);
  while (pipe_next(ts->pipe, &blk)) {
    unpack(s, &blk, ts->block_rows);
    for (int64_t p = 0; reject_nonfinite && p < s->b.nnz; p++) {
      if (s->b.val[p] - s->b.val[p] == 0.0f) continue;
      int64_t i = 0;
      char msg[1024];
      while (s->b.ptr[i + 1] <= p) i++;
      data_nonfinite_message(d, row0 + blk.first + i, s->b.idx[p], s->b.val[p], msg, sizeof msg);
      pipe_fail(ts->pipe, row0 + blk.first + i, "%s", msg);
      break;
    }
    stats_tree_add_csr(sa, d->f, s->b.ptr, s->b.idx, s->b.val, blk.rows, ts->train + blk.first);
  }
  pipe_check(ts->pipe, NULL);
  stats_tree_end(sa, st);
}

int trainset_csr_stream_open(ps_trainset_t *ts, ps_data_t *d, int reject_nonfinite, int64_t mem_limit) {
  int64_t n = ts->lab.n, row0 = ts->lab.row0, *ptr = ps_malloc(sizeof(int64_t) * (size_t)(n + 1));
  ptr[0] = 0;
  h5_xfer_rows(d->sp.indptr, PS_I64, row0, n > 0 ? n + 1 : 0, 0, ptr, 0);
  double need = 12.0 * (double)(ptr[n] - ptr[0]) + 8.0 * (double)n;
  ts->csc_room = mem_limit - (int64_t)need; /* this rank's: the column copy is a rank's own choice */
  comm_allreduce_max_f64(&need, 1);
  if (need <= (double)mem_limit) {
    free(ptr);
    return 0;
  }
  struct csr_stream *s = ps_calloc(1, sizeof *s);
  s->sp = &d->sp;
  ts->block_rows = s->br = block_shape(ptr, n, mem_limit, &s->cap);
  free(ptr);
  ts->csr_stream = s;
  ps_pipe_col_t in = {.dset = -1, .type = PS_U8, .read = packed_read, .ctx = s,
                      .cols = (int64_t)((sizeof(int64_t) * (size_t)(ts->block_rows + 1) + 8 * (size_t)s->cap) /
                                        (size_t)ts->block_rows) + 1};
  ps_pipe_spec_t spec = {.what = "train", .row0 = row0, .n = n, .block_rows = ts->block_rows, .nin = 1, .in = &in};
  ts->pipe = pipe_open(&spec);
  ps_colstat_t *st = ps_malloc(sizeof(ps_colstat_t) * (size_t)(d->f > 0 ? d->f : 1));
  double t0 = ps_now();
  stream_stats(ts, d, reject_nonfinite, st);
  prepare_columns(st, d->f, 0, &ts->cols);
  trainset_scale_only(&ts->cols);
  free(st);
  ts->tf = prepare_transform(&ts->cols);
  ts->c = ts->cols.c;
  ts->csr = ts->streamed = 1;
  ps_log("train: streaming CSR rows in blocks of %lld rows per rank (at most %lld stored values a block; "
         "--host-mem-limit %.1f MiB): statistics %.2f s", (long long)ts->block_rows, (long long)s->cap,
         (double)mem_limit / 1048576.0, ps_now() - t0);
  return 1;
}

void trainset_csr_rewind(ps_trainset_t *ts) {
  ts->tr_off = ts->va_off = 0;
  pipe_start(ts->pipe, 0);
}

int trainset_csr_next(ps_trainset_t *ts, int64_t *tr_off, int64_t *va_off) {
  ps_block_t blk;
  if (!pipe_next(ts->pipe, &blk)) {
    pipe_check(ts->pipe, NULL);
    return 0;
  }
  unpack(ts->csr_stream, &blk, ts->block_rows);
  trainset_csr_split(ts, &ts->csr_stream->b, ts->train + blk.first);
  *tr_off = ts->tr_off;
  *va_off = ts->va_off;
  ts->tr_off += ts->tr.n;
  ts->va_off += ts->va.n;
  ts->blk_g1 = (blk.first + blk.rows + PS_ROW_GRID - 1) / PS_ROW_GRID;
  ts->blk_g0 = blk.rows > 0 ? blk.first / PS_ROW_GRID : ts->blk_g1;
  return 1;
}

void trainset_csr_stream_free(ps_trainset_t *ts) {
  if (!ts->csr_stream) return;
  pipe_close(ts->pipe);
  ts->pipe = NULL;
  free(ts->csr_stream);
  ts->csr_stream = NULL;
}
