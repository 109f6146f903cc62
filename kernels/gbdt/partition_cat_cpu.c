/* partition_cat_cpu.c: a leaf's rows split by a category set on bins
 * (gbdt_cat.h), stable like ps_gbdt_partition_cpu: the left rows first in
 * their order, then the right rows in theirs. */
#include <string.h>

#include "gbdt/gbdt_cat.h"

int64_t ps_gbdt_partition_set_cpu(const uint8_t *B, int64_t f, int64_t *rows, int64_t m, int32_t feature,
                                  const uint8_t *set, int64_t *tmp) {
  int64_t nl = 0, nr = 0;
  for (int64_t r = 0; r < m; r++) {
    int64_t i = rows[r];
    if (ps_gbdt_cat_left_bin(B[(size_t)i * (size_t)f + (size_t)feature], set)) rows[nl++] = i;
    else tmp[nr++] = i;
  }
  memcpy(rows + nl, tmp, sizeof(int64_t) * (size_t)nr);
  return nl;
}
