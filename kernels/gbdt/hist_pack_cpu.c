/* hist_pack_cpu.c: small columns packed into shared bytes, their
 * histograms as the marginals of the byte's joint histogram (hist_pack_cpu.h;
 * issue 26's 4-bit bins). LightGBM stores a <= 16-bin feature two rows a
 * byte in its column-wise layout (DenseBin<IS_4BIT>) and reads every value
 * with a shift; in propscore's row-wise groups the bound is the scattered
 * accumulator add (one a row and column), not the bytes read, so here the
 * columns that share a byte share one add: the byte's code indexes a joint
 * accumulator of <= 256 cells (the same group pass as any byte column,
 * hist_groups_cpu.c), and once a leaf each cell's widened (qg, qh) is added
 * to the bin of each of its columns. The packed cells sum subsets of the
 * leaf's rows, so ps_gbdt_hist_q_width's bound holds for them unchanged;
 * the marginals are int64 sums of integers: the same bits as the unpacked
 * pass in any order. */
#include "gbdt/hist_pack_cpu.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "gbdt/gbdt_cpu.h"
#include "gbdt/hist_groups_cpu.h"

#define STRIDE PS_GBDT_COL_STRIDE

void ps_gbdt_pack_plan(const int64_t *bin_off, int64_t f, ps_gbdt_pack_t *pk) {
  pk->f = f;
  pk->mem = ps_malloc(sizeof(int64_t) * (size_t)(f > 0 ? f : 1));
  pk->mfirst = ps_malloc(sizeof(int64_t) * ((size_t)f + 1));
  pk->cell_off = ps_malloc(sizeof(int64_t) * ((size_t)f + 1));
  int64_t *pos = ps_malloc(sizeof(int64_t) * (size_t)(f > 0 ? f : 1)); /* column j's byte */
  int64_t *cnt = ps_calloc((size_t)(f > 0 ? f : 1), sizeof(int64_t));   /* columns of byte c */
  int64_t *cells = ps_malloc(sizeof(int64_t) * (size_t)(f > 0 ? f : 1)); /* codes of byte c */
  int64_t np = 0, open = -1;
  for (int64_t j = 0; j < f; j++) {
    int64_t nb = bin_off[j + 1] - bin_off[j], small = nb >= 1 && nb <= PS_GBDT_PACK_MAX_BINS; /* 0 bins: alone */
    if (small && open >= 0 && cells[open] * nb <= 256 && cnt[open] < PS_GBDT_PACK_MAX_COLS) {
      pos[j] = open;
      cells[open] *= nb;
      cnt[open]++;
      continue;
    }
    pos[j] = np;
    cells[np] = nb;
    cnt[np] = 1;
    if (small) open = np;
    np++;
  }
  pk->np = np;
  pk->mfirst[0] = pk->cell_off[0] = 0;
  int64_t marg = 0;
  for (int64_t c = 0; c < np; c++) {
    if (cnt[c] > 1) marg += cells[c] * (cnt[c] + 1);
    pk->mfirst[c + 1] = pk->mfirst[c] + cnt[c];
    pk->cell_off[c + 1] = pk->cell_off[c] + cells[c];
    cnt[c] = pk->mfirst[c]; /* now the next free slot of byte c */
  }
  pk->min_rows = np < f ? marg / (f - np) + 1 : INT64_MAX;
  for (int64_t j = 0; j < f; j++) pk->mem[cnt[pos[j]]++] = j; /* in column order: the first the lowest digit */
  free(pos), free(cnt), free(cells);
}

void ps_gbdt_pack_free(ps_gbdt_pack_t *pk) {
  free(pk->mem), free(pk->mfirst), free(pk->cell_off);
  memset(pk, 0, sizeof *pk);
}

void ps_gbdt_pack_rows(const uint8_t *B, int64_t n, const int64_t *bin_off, const ps_gbdt_pack_t *pk, uint8_t *P) {
  int64_t f = pk->f, np = pk->np;
  for (int64_t i = 0; i < n; i++) {
    const uint8_t *b = B + (size_t)i * (size_t)f;
    uint8_t *p = P + (size_t)i * (size_t)np;
    for (int64_t c = 0; c < np; c++) {
      unsigned code = 0, radix = 1;
      for (int64_t k = pk->mfirst[c]; k < pk->mfirst[c + 1]; k++) {
        int64_t j = pk->mem[k];
        code += radix * b[j];
        radix *= (unsigned)(bin_off[j + 1] - bin_off[j]);
      }
      p[c] = (uint8_t)code;
    }
  }
}

/* The (qg, qh) of packed cell q of byte c at the width (ps_gbdt_hist_q_cpu's decoding). */
static inline void cell(const void *work, int width, int64_t c, int64_t q, int64_t *g, int64_t *h) {
  if (width == 32) {
    uint32_t v = ((const uint32_t *)work)[(size_t)c * STRIDE + (size_t)q], lo = v & 0xFFFFu;
    *g = (int64_t)(int16_t)(uint16_t)((v - lo) >> 16);
    *h = (int64_t)lo;
  } else {
    uint64_t v = ((const uint64_t *)work)[(size_t)c * STRIDE + (size_t)q], lo = v & 0xFFFFFFFFull;
    *g = (int64_t)(int32_t)(uint32_t)((v - lo) >> 32);
    *h = (int64_t)lo;
  }
}

/* Byte c's columns' bins += the marginals of its joint cells (an odometer
 * over the digits: no division). */
static void marginals(const void *work, int width, const ps_gbdt_pack_t *pk, const int64_t *bin_off, int64_t c,
                      int64_t *hist) {
  int64_t k0 = pk->mfirst[c], k = pk->mfirst[c + 1] - k0, digit[PS_GBDT_PACK_MAX_COLS] = {0};
  int64_t *e[PS_GBDT_PACK_MAX_COLS], nb[PS_GBDT_PACK_MAX_COLS];
  for (int64_t l = 0; l < k; l++) {
    int64_t j = pk->mem[k0 + l];
    nb[l] = bin_off[j + 1] - bin_off[j];
    e[l] = hist + 2 * bin_off[j];
    memset(e[l], 0, sizeof(int64_t) * 2 * (size_t)nb[l]);
  }
  for (int64_t q = 0; q < pk->cell_off[c + 1] - pk->cell_off[c]; q++) {
    int64_t g, h;
    cell(work, width, c, q, &g, &h);
    for (int64_t l = 0; l < k; l++) {
      e[l][2 * digit[l]] += g;
      e[l][2 * digit[l] + 1] += h;
    }
    for (int64_t l = 0; l < k && ++digit[l] == nb[l]; l++) digit[l] = 0;
  }
}

void ps_gbdt_hist_q_packed_cpu(const uint8_t *P, const ps_gbdt_pack_t *pk, const int64_t *bin_off,
                               const int64_t *rows, int64_t m, const int32_t *gh, int width, void *work,
                               int64_t *first, int64_t *hist) {
  ps_gbdt_hist_q_groups_acc(P, pk->np, pk->cell_off, rows, m, gh, width, work, first);
  for (int64_t c = 0; c < pk->np; c++) marginals(work, width, pk, bin_off, c, hist);
}
