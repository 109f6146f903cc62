/* partition.h: which rows a rank owns. Rows are cut into grid blocks of
 * PS_ROW_GRID rows of the global order (the last one may be short); each
 * rank gets a contiguous, balanced run of whole grid blocks (the first
 * nb % P ranks get one block more; ranks past the last block get none).
 * Every rank's first row is thus a multiple of PS_ROW_GRID, so a grid block
 * never straddles two ranks: sums taken per grid block and combined exactly
 * (core/xsum.h) or along a fixed tree of grid blocks (stats/colstats.c) are
 * the same for any rank count. */
#ifndef PS_PARTITION_H
#define PS_PARTITION_H
#include <stdint.h>

#define PS_ROW_GRID 256

static inline void ps_partition(int64_t n, int p, int r, int64_t *row0, int64_t *count) {
  int64_t nb = (n + PS_ROW_GRID - 1) / PS_ROW_GRID, base = nb / p, extra = nb % p;
  int64_t b0 = (int64_t)r * base + (r < extra ? r : extra), b1 = b0 + base + (r < extra ? 1 : 0);
  int64_t e0 = b0 * PS_ROW_GRID, e1 = b1 * PS_ROW_GRID;
  *row0 = e0 < n ? e0 : n;
  *count = (e1 < n ? e1 : n) - *row0;
}
#endif
