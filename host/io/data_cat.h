/* data_cat.h: the categorical columns of an input feature file
 * (datasets/SCHEMA.md, /categorical): which columns hold category codes,
 * and each one's category names. A code is an integer 0..C-1 stored as
 * float32 (NaN = missing); anything else is refused with one line naming
 * file, dataset, row and column. */
#ifndef PS_DATA_CAT_H
#define PS_DATA_CAT_H
#include <stddef.h>
#include <stdint.h>

#include "io/data.h"

#define PS_MAX_CATEGORIES 255 /* a category a tree bin: codes 0..254 (gbdt_math.h PS_GBDT_MAX_BIN) */

/* Read /categorical if present (data_open calls it); dies naming the file
 * and dataset on a malformed group. */
void data_read_categorical(ps_data_t *d);
void data_free_categorical(ps_data_t *d);
/* Categories of column j (0: numeric). */
int64_t data_categories(const ps_data_t *d, int64_t j);
/* The first value of rows X [n][f] in a categorical column that is neither
 * NaN nor an integer code 0..C-1: 1 and its row and column, else 0. */
int data_first_bad_code(const ps_data_t *d, const float *X, int64_t n, int64_t *row, int64_t *col);
/* Its message, for global row `row`. */
void data_bad_code_message(const ps_data_t *d, int64_t row, int64_t col, float v, char *buf, size_t n);
#endif
