/* hist_pack_cpu.h: small columns packed into shared bytes for the CPU
 * histogram pass (issue 26's "4-bit bins"): columns of <= 16 bins share a
 * byte by mixed radix while the product of their bin counts is <= 256 (two
 * 16-bin columns = two 4-bit nibbles, up to 8 binary columns a byte). The
 * pass accumulates a packed byte's joint histogram (<= 256 cells, one add a
 * row for all its columns) and the columns' histograms are its marginals,
 * summed in int64 once a leaf (hist_pack_cpu.c). CPU only: the CUDA kernels
 * keep one byte a bin, and this pass is no twin of theirs. */
#ifndef PS_GBDT_HIST_PACK_CPU_H
#define PS_GBDT_HIST_PACK_CPU_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Columns of at most this many bins may share a byte. */
#define PS_GBDT_PACK_MAX_BINS 16
/* At most this many columns a byte (binary columns: 2^8 = 256 codes). */
#define PS_GBDT_PACK_MAX_COLS 8

/* The packing of f columns into np bytes a row: byte c holds the columns
 * mem[mfirst[c] .. mfirst[c+1]), the first the lowest digit (code = a0 +
 * nb0 (a1 + nb1 (a2 ...)))); cell_off [np + 1]: byte c's codes are
 * cells cell_off[c] .. cell_off[c+1] (the product of its columns' bins). */
typedef struct {
  int64_t f, np;
  int64_t *mem;      /* [f] */
  int64_t *mfirst;   /* [f + 1] */
  int64_t *cell_off; /* [f + 1] */
  int64_t min_rows;  /* leaves of fewer rows are cheaper unpacked (ps_gbdt_pack_plan) */
} ps_gbdt_pack_t;

/* The packing of the layout bin_off [f + 1]: columns in order; a column of
 * <= PS_GBDT_PACK_MAX_BINS bins joins the last byte opened by such a
 * column if the product of bins stays <= 256 (and its columns <=
 * PS_GBDT_PACK_MAX_COLS), else opens a byte where it stands; larger
 * columns keep a byte each. A function of the layout only. Allocates pk's
 * arrays (ps_gbdt_pack_free). min_rows: the rows from which the adds
 * saved (f - np a row) outweigh the marginals' once a leaf (cells x
 * (columns + 1) a shared byte); either pass gives the same sums. */
void ps_gbdt_pack_plan(const int64_t *bin_off, int64_t f, ps_gbdt_pack_t *pk);
void ps_gbdt_pack_free(ps_gbdt_pack_t *pk);

/* P [n][pk->np] = the packed codes of B [n][pk->f]. */
void ps_gbdt_pack_rows(const uint8_t *B, int64_t n, const int64_t *bin_off, const ps_gbdt_pack_t *pk, uint8_t *P);

/* As ps_gbdt_hist_q_groups_cpu (hist_groups_cpu.h, widths 32 and 64 only)
 * over the packed rows P [n][pk->np]: hist int64 [bin_off[f]][2] of the
 * unpacked columns, overwritten. work: np * PS_GBDT_COL_STRIDE * 8 bytes;
 * first: np + 1 int64. */
void ps_gbdt_hist_q_packed_cpu(const uint8_t *P, const ps_gbdt_pack_t *pk, const int64_t *bin_off,
                               const int64_t *rows, int64_t m, const int32_t *gh, int width, void *work,
                               int64_t *first, int64_t *hist);

#ifdef __cplusplus
}
#endif
#endif
