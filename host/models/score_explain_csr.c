/* score_explain_csr.c: score --explain on a CSR file's blocks (see
 * score_explain.h). An explainer with top_csr (logreg) ranks straight from
 * the stored values; the others (TreeSHAP) get the rows made dense a tile
 * at a time -- scattered into a scratch kept zero, explained, their places
 * zeroed again -- never the block: tile x f x 12 bytes (the floats and the
 * contributions), 64 rows on the CPU, 1,024 on a device (a launch a tile). */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "gbdt/csr_tile_cpu.h"
#include "io/csr.h"
#include "models/score_explain.h"

static void by_tiles(score_explain_t *x, const int64_t *ptr, const int32_t *idx, const float *val, int64_t rows,
                     void **out) {
  int64_t f = x->f, T = strcmp(x->ex->device, "cpu") ? 1024 : 64;
  if (!x->tile) x->tile = ps_calloc((size_t)T * (size_t)f, sizeof(float));
  if (T > x->cap) {
    free(x->phi);
    x->phi = ps_malloc(sizeof(double) * (size_t)T * (size_t)f);
    x->cap = T;
  }
  for (int64_t i0 = 0; i0 < rows; i0 += T) {
    int64_t m = rows - i0 < T ? rows - i0 : T;
    size_t o = (size_t)i0 * (size_t)x->top;
    ps_gbdt_csr_scatter_cpu(ptr, idx, val, i0, m, f, x->tile);
    for (int h = 0; h < x->k; h++) {
      x->ex->contrib(x->ex, h, x->tile, m, x->phi);
      explain_top(x->phi, m, f, x->top, (int16_t *)out[2 * h] + o, (float *)out[2 * h + 1] + o);
    }
    ps_gbdt_csr_scatter_cpu(ptr, idx, NULL, i0, m, f, x->tile);
  }
}

void score_explain_block_csr(score_explain_t *x, const int64_t *ptr, const int32_t *idx, const float *val,
                             int64_t rows, void **out) {
  if (!x->top) return;
  if (!x->ex->top_csr) {
    by_tiles(x, ptr, idx, val, rows, out);
    return;
  }
  for (int h = 0; h < x->k; h++) x->ex->top_csr(x->ex, h, ptr, idx, val, rows, x->top, out[2 * h], out[2 * h + 1]);
}
