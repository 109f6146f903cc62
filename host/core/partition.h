/* partition.h: which rows a rank owns. Rows are split into P contiguous,
 * balanced blocks (the first N % P ranks get one more row). */
#ifndef PS_PARTITION_H
#define PS_PARTITION_H
#include <stdint.h>
static inline void ps_partition(int64_t n, int p, int r, int64_t *row0, int64_t *count) {
  int64_t base = n / p, extra = n % p;
  *count = base + (r < extra ? 1 : 0);
  *row0 = (int64_t)r * base + (r < extra ? r : extra);
}
#endif
