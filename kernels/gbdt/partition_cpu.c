/* partition_cpu.c: CPU twin of partition.cu -- a leaf's rows split by a
 * node's test on bins (gbdt_math.h ps_gbdt_left_bin), stable: the left rows
 * first in their order, then the right rows in theirs; and a tree's first
 * leaf, the rows of the bag in order (a stable selection too). */
#include <string.h>

#include "gbdt/gbdt_cpu.h"

int64_t ps_gbdt_partition_cpu(const uint8_t *B, int64_t f, int64_t *rows, int64_t m, int32_t feature, int32_t bin,
                              int32_t default_left, int64_t *tmp) {
  int64_t nl = 0, nr = 0;
  for (int64_t r = 0; r < m; r++) { /* without a branch: both stores, one kept (nl <= r: rows[nl] was read) */
    if (r + 16 < m) __builtin_prefetch(B + (size_t)rows[r + 16] * (size_t)f + (size_t)feature);
    int64_t i = rows[r];
    int left = ps_gbdt_left_bin(B[(size_t)i * (size_t)f + (size_t)feature], bin, default_left) != 0;
    rows[nl] = i;
    tmp[nr] = i;
    nl += left;
    nr += 1 - left;
  }
  memcpy(rows + nl, tmp, sizeof(int64_t) * (size_t)nr);
  return nl;
}

int64_t ps_gbdt_bag_rows_cpu(const uint8_t *bag, int64_t n, int64_t *rows) {
  int64_t m = 0;
  for (int64_t i = 0; i < n; i++)
    if (!bag || bag[i]) rows[m++] = i;
  for (int64_t i = 0, r = m; bag && r < n; i++) /* the rows out of the bag after them */
    if (!bag[i]) rows[r++] = i;
  return m;
}
