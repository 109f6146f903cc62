/* data.h: an input feature file (datasets/SCHEMA.md), opened and validated:
 * /features [N,F] float, /customer_id [N] integer, /feature_names [F],
 * /labels/<target> [N]. Labels are checked to be exactly 0 or 1, ids to be
 * unique; every problem is one line naming file, dataset and row. */
#ifndef PS_DATA_H
#define PS_DATA_H
#include <stddef.h>
#include <stdint.h>

#include "io/csr.h"
#include "io/h5.h"
#include "io/pipeline.h"

typedef struct {
  const char *path;
  ps_h5_t fid;
  ps_h5_t features;     /* /features [N,F] */
  ps_h5_t ids;          /* /customer_id [N] */
  int64_t n, f;
  int64_t chunk_rows;   /* 0 if contiguous */
  char **feature_names; /* F strings */
  int schema_version;   /* 0 if the attribute is absent */
  int64_t *cat_card;     /* [f] categories of each column, 0: numeric (NULL: none categorical; below) */
  int64_t *cat_name_off; /* [f+1] column j's names: cat_names[cat_name_off[j] .. cat_name_off[j+1]) */
  char **cat_names;
  /* a CSR file (io/csr.h): /features_csr instead of /features (features = -1) */
  int csr;
  ps_csr_t sp;
} ps_data_t;

/* Collective. A file with /features_csr is opened as CSR (io/csr.h). */
void data_open(const char *path, ps_data_t *d);
/* The features as a pipeline input: /features itself, or the CSR rows
 * made dense block by block (float32 [rows][F]). */
ps_pipe_col_t data_features_col(const ps_data_t *d);
/* Rows [row0, row0+n) as dense float32 [n][F], either layout. Collective. */
void data_read_rows(const ps_data_t *d, int64_t row0, int64_t n, float *X);
void data_close(ps_data_t *d);
/* Names of the /labels/<target> datasets (NULL-terminated, sorted). */
char **data_targets(const ps_data_t *d, int *count);
/* Dies (usage) naming the target if one is not a dataset under /labels
 * or is given twice. */
void data_check_targets(const ps_data_t *d, char *const *targets, int k);
/* Labels of `target`, rows [row0, row0+n), as float64 (integer and float
 * files, NaN and Inf all seen). Collective. */
void data_read_labels_raw(const ps_data_t *d, const char *target, int64_t row0, int64_t n, double *out);
/* The same, checked to be exactly 0 or 1, into Y[i*k + h]; dies
 * (collectively) naming file, dataset, row and value otherwise. */
void data_read_labels(const ps_data_t *d, const char *target, int64_t row0, int64_t n, int k, int h, uint8_t *Y);
/* This rank's customer ids, rows [row0, row0+n). Collective. */
void data_read_ids(const ps_data_t *d, int64_t row0, int64_t n, int64_t *ids);
/* Dies (collectively) if any customer id occurs twice in the file: counts
 * the repeats and names the first repeated row, never an id. ids: this
 * rank's rows [row0, row0+n). */
void data_check_unique_ids(const ps_data_t *d, const int64_t *ids, int64_t row0, int64_t n);
/* Dies (collectively) unless two files' customer ids agree on this rank's
 * rows [row0, row0+n): "<path>: /customer_id row R differs from <what>
 * <other> (<hint>)", naming the first differing row, never an id. */
void data_check_same_ids(const int64_t *ids, const int64_t *other, int64_t row0, int64_t n, const char *path,
                         const char *what, const char *other_path, const char *hint);
/* The first non-finite value of rows X [n][f]: 1 and its row and column,
 * else 0. */
int data_first_nonfinite(const float *X, int64_t n, int64_t f, int64_t *row, int64_t *col);
/* The --nonfinite reject message for global row `row`, column `col`. */
void data_nonfinite_message(const ps_data_t *d, int64_t row, int64_t col, float v, char *buf, size_t n);

/* The categorical columns (datasets/SCHEMA.md, /categorical): which columns
 * hold category codes, and each one's category names. A code is an integer
 * 0..C-1 stored as float32 (NaN = missing); anything else is refused with
 * one line naming file, dataset, row and column. */
#define PS_MAX_CATEGORIES 255 /* a category a tree bin: codes 0..254 (gbdt_math.h PS_GBDT_MAX_BIN) */

/* data_open reads /categorical when present (a malformed group: one line
 * naming the file and dataset). */
/* Categories of column j (0: numeric). */
int64_t data_categories(const ps_data_t *d, int64_t j);
/* The first value of rows X [n][f] in a categorical column that is neither
 * NaN nor an integer code 0..C-1: 1 and its row and column, else 0. */
int data_first_bad_code(const ps_data_t *d, const float *X, int64_t n, int64_t *row, int64_t *col);
/* Its message, for global row `row`. */
void data_bad_code_message(const ps_data_t *d, int64_t row, int64_t col, float v, char *buf, size_t n);
#endif
