/* hist_groups_cpu.h: the CPU histogram pass laid out for the cache (issue
 * 26): columns in row-wise groups whose accumulators fit the L1/L2 budget,
 * each group one pass over the leaf's rows (hist_groups_cpu.c). The same
 * sums as ps_gbdt_hist_q_cpu / ps_gbdt_hist_cpu (gbdt_cpu.h): integers, so
 * the same bits for any grouping or row order. */
#ifndef PS_GBDT_HIST_GROUPS_CPU_H
#define PS_GBDT_HIST_GROUPS_CPU_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Accumulator bytes a group may touch (one pass over the rows a group). */
#define PS_GBDT_GROUP_BYTES 65536
/* Every column's accumulators at a fixed stride of 264 entries, room for
 * 256 codes (constant offsets in the unrolled loop): the work buffer's
 * entries, per column. Not 256: at 2 KiB (8-byte cells) every column's bin
 * 0 fell in the same two L1 sets (64 sets of 64 B), and columns that sit
 * in their first bins (0/1 flags, small counts, bundles) evicted each
 * other: 264 moves each column a cache line on (measured: 16-bin columns
 * 2.2x, 0/1 columns 2.1x less CPU a (row, column); 255-bin ones the same). */
#define PS_GBDT_COL_STRIDE 264

/* The groups of columns [first[g], first[g+1]) for accumulators of
 * `bytes` bytes a bin: columns in order, a group closed when its next
 * column's bins would pass PS_GBDT_GROUP_BYTES (a column alone may: then
 * it is a column-wise pass). A function of the layout only, so every run
 * takes the same path. first: f + 1; returns the number of groups. */
int64_t ps_gbdt_hist_groups(const int64_t *bin_off, int64_t f, int64_t bytes, int64_t *first);

/* As ps_gbdt_hist_q_cpu (gbdt_cpu.h) for widths 32 and 64 (128: that
 * function's path), with rows NULL meaning rows 0..m-1 in order (the
 * root, no gather). work: f * PS_GBDT_COL_STRIDE * 8 bytes; first:
 * f + 1 int64 (scratch for the groups). */
void ps_gbdt_hist_q_groups_cpu(const uint8_t *B, int64_t f, const int64_t *bin_off, const int64_t *rows, int64_t m,
                               const int32_t *gh, int width, void *work, int64_t *first, int64_t *hist);

/* The packed accumulators of ps_gbdt_hist_q_groups_cpu before widening
 * (widths 32 and 64): work's column j, bin q at j * PS_GBDT_COL_STRIDE + q,
 * uint32 or uint64 by the width (the bins in use cleared first). */
void ps_gbdt_hist_q_groups_acc(const uint8_t *B, int64_t f, const int64_t *bin_off, const int64_t *rows, int64_t m,
                               const int32_t *gh, int width, void *work, int64_t *first);

/* As ps_gbdt_hist_cpu (gbdt_cpu.h: exact (g, h, rows) int64 a bin), but
 * hist overwritten, not added to, rows NULL meaning 0..m-1. work:
 * f * PS_GBDT_COL_STRIDE * 3 int64; first: f + 1 int64. */
void ps_gbdt_hist_groups_cpu(const uint8_t *B, int64_t f, const int64_t *bin_off, const int64_t *rows, int64_t m,
                             const int64_t *gq, const int64_t *hq, int64_t *work, int64_t *first, int64_t *hist);

#ifdef __cplusplus
}
#endif
#endif
