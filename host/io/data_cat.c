/* data_cat.c: categorical columns of input feature files (see data_cat.h). */
#include "io/data_cat.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* /categorical/columns int64 [m] strictly increasing in [0, f),
 * /categorical/offsets int64 [m+1] from 0, each step 1..255,
 * /categorical/names string [offsets[m]]. */
void data_read_categorical(ps_data_t *d) {
  if (!h5_exists(d->fid, "/categorical")) return;
  int64_t m = h5_count(d->fid, "/categorical/columns"), f = d->f;
  if (m < 0) ps_die_all(PS_EXIT_ERROR, "%s: dataset /categorical/columns not found", d->path);
  int64_t *cols = ps_malloc(sizeof(int64_t) * (size_t)(m + 1)), *off = ps_malloc(sizeof(int64_t) * (size_t)(m + 1));
  h5_read_small(d->fid, d->path, "/categorical/columns", PS_I64, cols, m);
  h5_read_small(d->fid, d->path, "/categorical/offsets", PS_I64, off, m + 1);
  for (int64_t i = 0; i < m; i++)
    if (cols[i] < 0 || cols[i] >= f || (i > 0 && cols[i] <= cols[i - 1]))
      ps_die_all(PS_EXIT_ERROR, "%s: /categorical/columns[%lld] = %lld: column indices must increase within 0..%lld",
                 d->path, (long long)i, (long long)cols[i], (long long)(f - 1));
  for (int64_t i = 0; i < m; i++)
    if (off[0] != 0 || off[i + 1] - off[i] < 1 || off[i + 1] - off[i] > PS_MAX_CATEGORIES)
      ps_die_all(PS_EXIT_ERROR, "%s: /categorical/offsets: column %lld (%s) must have 1..%d categories", d->path,
                 (long long)cols[i], d->feature_names[cols[i]], PS_MAX_CATEGORIES);
  int64_t nn = 0;
  char **names = h5_read_strings(d->fid, d->path, "/categorical/names", &nn);
  if (nn != off[m])
    ps_die_all(PS_EXIT_ERROR, "%s: /categorical/names has %lld names but /categorical/offsets says %lld", d->path,
               (long long)nn, (long long)off[m]);
  d->cat_card = ps_calloc((size_t)f, sizeof(int64_t));
  d->cat_name_off = ps_calloc((size_t)f + 1, sizeof(int64_t));
  for (int64_t i = 0; i < m; i++) d->cat_card[cols[i]] = off[i + 1] - off[i];
  for (int64_t j = 0; j < f; j++) d->cat_name_off[j + 1] = d->cat_name_off[j] + d->cat_card[j];
  d->cat_names = names;
  free(cols);
  free(off);
}

void data_free_categorical(ps_data_t *d) {
  free(d->cat_card);
  free(d->cat_name_off);
  ps_free_strv(d->cat_names);
  d->cat_card = d->cat_name_off = NULL;
  d->cat_names = NULL;
}

int64_t data_categories(const ps_data_t *d, int64_t j) { return d->cat_card ? d->cat_card[j] : 0; }

int data_first_bad_code(const ps_data_t *d, const float *X, int64_t n, int64_t *row, int64_t *col) {
  if (!d->cat_card) return 0;
  int64_t f = d->f;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < f; j++) {
      float v = X[(size_t)i * (size_t)f + (size_t)j];
      if (!d->cat_card[j] || v != v) continue;
      if (!(v >= 0.0f && v < (float)d->cat_card[j] && v == floorf(v))) {
        *row = i;
        *col = j;
        return 1;
      }
    }
  return 0;
}

void data_bad_code_message(const ps_data_t *d, int64_t row, int64_t col, float v, char *buf, size_t n) {
  snprintf(buf, n, "%s: /features row %lld column %lld (%s) is %.9g, not a category code (an integer 0..%lld, "
           "/categorical)", d->path, (long long)row, (long long)col, d->feature_names[col], (double)v,
           (long long)(d->cat_card[col] - 1));
}
