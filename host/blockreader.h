/* blockreader.h: a rank's rows of /features, block after block, read by a
 * thread of their own: while the caller computes on block b, the reader
 * fills block b + 1 (double buffering). Every rank makes the same number of
 * collective reads per pass; during a pass only the reader thread touches
 * HDF5/MPI, between passes only the caller does (MPI_THREAD_SERIALIZED). */
#ifndef PS_BLOCKREADER_H
#define PS_BLOCKREADER_H
#include <hdf5.h>
#include <stdint.h>

typedef struct blockreader blockreader_t;

/* Rows [row0, row0+n) of dset (n x f float32) in blocks of block_rows. Collective. */
blockreader_t *blockreader_open(hid_t dset, int64_t row0, int64_t n, int64_t f, int64_t block_rows);
/* Start a pass from the first block (the reader begins prefetching). */
void blockreader_rewind(blockreader_t *r);
/* The next block of this pass: its rows, the first row's offset in the rank's
 * range, and the count (0 rows possible). Returns 0 when the pass is over;
 * a block stays valid until the next call. */
int blockreader_next(blockreader_t *r, const float **X, int64_t *first, int64_t *m);
int64_t blockreader_blocks(const blockreader_t *r);
double blockreader_read_seconds(const blockreader_t *r); /* reader time, all passes */
void blockreader_close(blockreader_t *r);
#endif
