/* score_explain.c: score --explain N (see score_explain.h). */
#include "models/score_explain.h"

#include <stdlib.h>

#include "core/util.h"

void score_explain_open(score_explain_t *x, int top, const char *model, const char *device, int64_t f) {
  x->top = top;
  if (!top) return;
  x->ex = explainer_open(model, device, "score");
  x->k = x->ex->k;
  x->f = f;
  if (top > f)
    ps_die_all(PS_EXIT_USAGE, "score: --explain %d is above the %lld features of model %s", top, (long long)f, model);
  if (f > 32767) /* /explain/<target>/feature is int16 */
    ps_die_all(PS_EXIT_USAGE, "score: --explain: model %s has %lld features, more than the 32767 it can name",
               model, (long long)f);
  x->gh = ps_malloc(sizeof(ps_h5_t) * (size_t)(3 * x->k));
  x->feat = x->gh + x->k;
  x->val = x->gh + 2 * x->k;
}

void score_explain_create(score_explain_t *x, ps_h5_t fid, char **targets, char **names, int64_t n_all) {
  if (!x->top) return;
  int64_t dims[2] = {n_all, x->top}, chunk[2] = {n_all < 65536 ? n_all : 65536, x->top};
  if (chunk[0] < 1) chunk[0] = 1;
  x->g = h5_group_create(fid, "/explain");
  h5_attr_i64(x->g, "top", x->top);
  h5_attr_str(x->g, "method", x->ex->method);
  h5_write_strings(x->g, "feature_names", names, x->f); /* what /explain/<target>/feature indexes */
  for (int h = 0; h < x->k; h++) {
    x->gh[h] = h5_group_create(x->g, targets[h]);
    h5_attr_f64(x->gh[h], "base_value", x->ex->base[h]);
    x->feat[h] = h5_dset_create(x->gh[h], "feature", PS_I16, 2, dims, chunk);
    x->val[h] = h5_dset_create(x->gh[h], "value", PS_F32, 2, dims, chunk);
  }
}

void score_explain_reopen(score_explain_t *x, ps_h5_t fid, const char *file, char **targets) {
  if (!x->top) return;
  int64_t dims[2];
  x->g = h5_group_open(fid, file, "/explain");
  for (int h = 0; h < x->k; h++) {
    x->gh[h] = h5_group_open(x->g, file, targets[h]);
    x->feat[h] = h5_dset_open(x->gh[h], file, "feature", 2, PS_KIND_INT, "int16", dims);
    x->val[h] = h5_dset_open(x->gh[h], file, "value", 2, PS_KIND_FLOAT, "float32", dims);
  }
}

int score_explain_cols(const score_explain_t *x, ps_pipe_col_t *out) {
  if (!x->top) return 0;
  for (int h = 0; h < x->k; h++) {
    out[2 * h] = (ps_pipe_col_t){.dset = x->feat[h], .type = PS_I16, .cols = x->top};
    out[2 * h + 1] = (ps_pipe_col_t){.dset = x->val[h], .type = PS_F32, .cols = x->top};
  }
  return 2 * x->k;
}

void score_explain_block(score_explain_t *x, const float *X, int64_t rows, void **out) {
  if (!x->top) return;
  if (rows > x->cap) {
    free(x->phi);
    x->phi = ps_malloc(sizeof(double) * (size_t)rows * (size_t)x->f);
    x->cap = rows;
  }
  for (int h = 0; h < x->k; h++) {
    x->ex->contrib(x->ex, h, X, rows, x->phi);
    explain_top(x->phi, rows, x->f, x->top, out[2 * h], out[2 * h + 1]);
  }
}

void score_explain_close(score_explain_t *x) {
  if (!x->top) return;
  for (int h = 0; h < x->k; h++) {
    h5_close(x->feat[h]);
    h5_close(x->val[h]);
    h5_close(x->gh[h]);
  }
  h5_close(x->g);
  free(x->gh);
  free(x->phi);
  free(x->tile);
  explainer_close(x->ex);
  x->top = 0;
}
