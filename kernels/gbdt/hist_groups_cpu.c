/* hist_groups_cpu.c: the CPU histogram pass, quantized and exact, laid out
 * for the cache (hist_groups_cpu.h; issue 26). Measured on the profile of 300k x 64
 * (58 bundle columns, 50 of 256 bins): at 8-bit gradients almost every
 * leaf accumulates 64-bit packed pairs, 58 x 256 x 8 = 119 KB, more than
 * L1 (48 KB), and each (row, column) cost a load of bin_off besides the
 * bin and the accumulator. Here:
 *  - columns in row-wise groups whose touched accumulators fit
 *    PS_GBDT_GROUP_BYTES (LightGBM's row-wise multi-value bins against its
 *    col-wise passes, chosen by a cost rule on the layout instead of a
 *    timing, so the same run takes the same path);
 *  - every column's accumulators at a stride of PS_GBDT_COL_STRIDE (264:
 *    room for 256 codes, a cache line of skew a column), so the unrolled loop
 *    adds at constant offsets, 8 bins a 64-bit load;
 *  - gathered rows and their packed gradients prefetched ahead, both
 *    ends of a row's bytes in a group (58 bytes of a row cross a cache line
 *    9 times in 10: one line prefetched left the other a miss; gathered
 *    leaves of 5-20% of the rows 1.1-1.6x less CPU a (row, column));
 *  - the root (rows NULL) read in order without the row-index gather.
 * Integer sums: the same bits as ps_gbdt_hist_q_cpu / ps_gbdt_hist_cpu in
 * any order (exact: three int64 a bin, so groups of ~10 columns). */
#include "gbdt/hist_groups_cpu.h"

#include <string.h>

#include "gbdt/gbdt_cpu.h"

#define STRIDE PS_GBDT_COL_STRIDE
#define AHEAD 16 /* rows prefetched ahead of the gather */

int64_t ps_gbdt_hist_groups(const int64_t *bin_off, int64_t f, int64_t bytes, int64_t *first) {
  int64_t ng = 0, used = 0;
  for (int64_t j = 0; j < f; j++) {
    int64_t b = (bin_off[j + 1] - bin_off[j]) * bytes;
    if (j == 0 || used + b > PS_GBDT_GROUP_BYTES) {
      first[ng++] = j;
      used = 0;
    }
    used += b;
  }
  first[ng] = f;
  return ng;
}

/* One row's columns [0, nc) of a group: a = the group's first accumulator,
 * b = the row's first bin of the group, w the packed pair. */
#define ROW_GROUP(T, a, b, nc, w)                                                                                   \
  do {                                                                                                              \
    int64_t c_ = 0;                                                                                                 \
    T *a_ = (a);                                                                                                    \
    const uint8_t *b_ = (b);                                                                                        \
    for (; c_ + 8 <= (nc); c_ += 8, a_ += 8 * STRIDE, b_ += 8) {                                                   \
      uint64_t x_;                                                                                                  \
      memcpy(&x_, b_, 8);                                                                                           \
      a_[x_ & 255] += (w);                                                                                          \
      a_[STRIDE + ((x_ >> 8) & 255)] += (w);                                                                        \
      a_[2 * STRIDE + ((x_ >> 16) & 255)] += (w);                                                                   \
      a_[3 * STRIDE + ((x_ >> 24) & 255)] += (w);                                                                   \
      a_[4 * STRIDE + ((x_ >> 32) & 255)] += (w);                                                                   \
      a_[5 * STRIDE + ((x_ >> 40) & 255)] += (w);                                                                   \
      a_[6 * STRIDE + ((x_ >> 48) & 255)] += (w);                                                                   \
      a_[7 * STRIDE + (x_ >> 56)] += (w);                                                                           \
    }                                                                                                               \
    for (; c_ < (nc); c_++, a_ += STRIDE, b_++) a_[*b_] += (w);                                                     \
  } while (0)

/* The packed pair of row i at width 32 (as stored) or 64 (halves of 32). */
static inline uint32_t w32(int32_t v) { return (uint32_t)v; }
static inline uint64_t w64(int32_t v) {
  return ((uint64_t)(int64_t)PS_GBDT_QG(v) << 32) + (uint64_t)PS_GBDT_QH(v);
}

/* Columns [c0, c1) over the rows: acc at stride STRIDE from column c0. */
#define GROUP_PASS(T, WF, B, f, c0, c1, rows, m, gh, acc)                                                            \
  do {                                                                                                              \
    int64_t nc_ = (c1) - (c0);                                                                                      \
    if (!(rows)) {                                                                                                  \
      for (int64_t i_ = 0; i_ < (m); i_++) ROW_GROUP(T, acc, B + (size_t)i_ * (size_t)(f) + (c0), nc_, WF(gh[i_])); \
    } else {                                                                                                        \
      for (int64_t r_ = 0; r_ < (m); r_++) {                                                                        \
        if (r_ + AHEAD < (m)) {                                                                                     \
          const uint8_t *p_ = B + (size_t)rows[r_ + AHEAD] * (size_t)(f) + (c0);                                   \
          __builtin_prefetch(p_);                                                                                   \
          __builtin_prefetch(p_ + nc_ - 1); /* the group's bytes of a row often cross a cache line */               \
          __builtin_prefetch(gh + rows[r_ + AHEAD]);                                                                \
        }                                                                                                           \
        int64_t i_ = rows[r_];                                                                                      \
        ROW_GROUP(T, acc, B + (size_t)i_ * (size_t)(f) + (c0), nc_, WF(gh[i_]));                                    \
      }                                                                                                             \
    }                                                                                                               \
  } while (0)

static void pass32(const uint8_t *B, int64_t f, int64_t c0, int64_t c1, const int64_t *rows, int64_t m,
                   const int32_t *gh, uint32_t *acc) {
  GROUP_PASS(uint32_t, w32, B, f, c0, c1, rows, m, gh, acc);
}

static void pass64(const uint8_t *B, int64_t f, int64_t c0, int64_t c1, const int64_t *rows, int64_t m,
                   const int32_t *gh, uint64_t *acc) {
  GROUP_PASS(uint64_t, w64, B, f, c0, c1, rows, m, gh, acc);
}

/* Width 128: two int64 sums a bin, straight into hist (rows NULL: in order). */
static void hist128(const uint8_t *B, int64_t f, const int64_t *bin_off, const int64_t *rows, int64_t m,
                    const int32_t *gh, int64_t *hist) {
  memset(hist, 0, sizeof(int64_t) * 2 * (size_t)bin_off[f]);
  for (int64_t r = 0; r < m; r++) {
    int64_t i = rows ? rows[r] : r, g = PS_GBDT_QG(gh[i]), h = PS_GBDT_QH(gh[i]);
    const uint8_t *b = B + (size_t)i * (size_t)f;
    for (int64_t j = 0; j < f; j++) {
      int64_t *e = hist + 2 * (bin_off[j] + b[j]);
      e[0] += g;
      e[1] += h;
    }
  }
}

/* Exact sums (g, h, rows) of one row's columns [0, nc) of a group: a = the
 * group's first accumulator triple, stride 3 STRIDE a column. */
static inline void row_group3(int64_t *a, const uint8_t *b, int64_t nc, int64_t g, int64_t h) {
  int64_t c = 0;
  for (; c + 8 <= nc; c += 8, a += 8 * 3 * STRIDE, b += 8) {
    uint64_t x;
    memcpy(&x, b, 8);
    for (int k = 0; k < 8; k++) { /* unrolled by the compiler: constant offsets */
      int64_t *e = a + 3 * (k * STRIDE + (int64_t)((x >> (8 * k)) & 255));
      e[0] += g;
      e[1] += h;
      e[2] += 1;
    }
  }
  for (; c < nc; c++, a += 3 * STRIDE, b++) {
    int64_t *e = a + 3 * (int64_t)*b;
    e[0] += g;
    e[1] += h;
    e[2] += 1;
  }
}

void ps_gbdt_hist_groups_cpu(const uint8_t *B, int64_t f, const int64_t *bin_off, const int64_t *rows, int64_t m,
                             const int64_t *gq, const int64_t *hq, int64_t *work, int64_t *first, int64_t *hist) {
  for (int64_t j = 0; j < f; j++)
    memset(work + (size_t)j * 3 * STRIDE, 0, sizeof(int64_t) * 3 * (size_t)(bin_off[j + 1] - bin_off[j]));
  int64_t ng = ps_gbdt_hist_groups(bin_off, f, 3 * (int64_t)sizeof(int64_t), first);
  for (int64_t gr = 0; gr < ng; gr++) {
    int64_t c0 = first[gr], nc = first[gr + 1] - c0;
    int64_t *a = work + (size_t)c0 * 3 * STRIDE;
    for (int64_t r = 0; r < m; r++) {
      if (rows && r + AHEAD < m) {
        __builtin_prefetch(B + (size_t)rows[r + AHEAD] * (size_t)f + c0);
        __builtin_prefetch(B + (size_t)rows[r + AHEAD] * (size_t)f + c0 + nc - 1);
        __builtin_prefetch(gq + rows[r + AHEAD]);
        __builtin_prefetch(hq + rows[r + AHEAD]);
      }
      int64_t i = rows ? rows[r] : r;
      row_group3(a, B + (size_t)i * (size_t)f + c0, nc, gq[i], hq[i]);
    }
  }
  for (int64_t j = 0; j < f; j++)
    memcpy(hist + 3 * bin_off[j], work + (size_t)j * 3 * STRIDE, sizeof(int64_t) * 3 * (size_t)(bin_off[j + 1] - bin_off[j]));
}

void ps_gbdt_hist_q_groups_acc(const uint8_t *B, int64_t f, const int64_t *bin_off, const int64_t *rows, int64_t m,
                               const int32_t *gh, int width, void *work, int64_t *first) {
  uint32_t *a32 = work;
  uint64_t *a64 = work;
  for (int64_t j = 0; j < f; j++) { /* only the bins in use: the rest are never read */
    size_t nb = (size_t)(bin_off[j + 1] - bin_off[j]);
    if (width == 32) memset(a32 + (size_t)j * STRIDE, 0, sizeof(uint32_t) * nb);
    else memset(a64 + (size_t)j * STRIDE, 0, sizeof(uint64_t) * nb);
  }
  int64_t ng = ps_gbdt_hist_groups(bin_off, f, width / 8, first);
  for (int64_t g = 0; g < ng; g++) {
    if (width == 32) pass32(B, f, first[g], first[g + 1], rows, m, gh, a32 + (size_t)first[g] * STRIDE);
    else pass64(B, f, first[g], first[g + 1], rows, m, gh, a64 + (size_t)first[g] * STRIDE);
  }
}

void ps_gbdt_hist_q_groups_cpu(const uint8_t *B, int64_t f, const int64_t *bin_off, const int64_t *rows, int64_t m,
                               const int32_t *gh, int width, void *work, int64_t *first, int64_t *hist) {
  if (width == 128) {
    hist128(B, f, bin_off, rows, m, gh, hist);
    return;
  }
  uint32_t *a32 = work;
  uint64_t *a64 = work;
  ps_gbdt_hist_q_groups_acc(B, f, bin_off, rows, m, gh, width, work, first);
  for (int64_t j = 0; j < f; j++) /* widen, as ps_gbdt_hist_q_cpu */
    for (int64_t q = 0; q < bin_off[j + 1] - bin_off[j]; q++) {
      int64_t *e = hist + 2 * (bin_off[j] + q);
      if (width == 32) {
        uint32_t v = a32[(size_t)j * STRIDE + (size_t)q], lo = v & 0xFFFFu;
        e[0] = (int64_t)(int16_t)(uint16_t)((v - lo) >> 16);
        e[1] = (int64_t)lo;
      } else {
        uint64_t v = a64[(size_t)j * STRIDE + (size_t)q], lo = v & 0xFFFFFFFFull;
        e[0] = (int64_t)(int32_t)(uint32_t)((v - lo) >> 32);
        e[1] = (int64_t)lo;
      }
    }
}
