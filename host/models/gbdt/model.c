/* model.c: gradient-boosted trees model files (see model.h). */
#include "models/gbdt/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "gbdt/gbdt_cat.h"
#include "io/output.h"
#include "models/model_file.h"

void gbdt_model_init(ps_gbdt_model_t *m, int64_t f, int k) {
  memset(m, 0, sizeof *m);
  m->f = f;
  m->k = k;
  m->init_score = ps_calloc((size_t)k, sizeof(double));
  m->forest = ps_calloc((size_t)k, sizeof(ps_forest_t));
  for (int h = 0; h < k; h++) forest_init(&m->forest[h]);
  m->imp_gain = ps_calloc((size_t)(k * f), sizeof(double));
  m->imp_splits = ps_calloc((size_t)(k * f), sizeof(double));
}

void gbdt_model_free(ps_gbdt_model_t *m) {
  for (int h = 0; h < m->k; h++) forest_free(&m->forest[h]);
  free(m->forest);
  free(m->init_score);
  free(m->imp_gain);
  free(m->imp_splits);
  bins_free(&m->bins);
  if (m->owns_names) {
    ps_free_strv(m->feature_names);
    ps_free_strv(m->targets);
  }
  memset(m, 0, sizeof *m);
}

void gbdt_model_write_trees(ps_h5_t fid, const ps_gbdt_model_t *m, int heads) {
  int64_t f = m->f;
  ps_h5_t g = h5_group_create(fid, "/bins");
  int64_t dc[1] = {m->bins.cut_off[f]}, doff[1] = {f + 1};
  h5_write_small(g, "cuts", PS_F32, 1, dc, m->bins.cuts);
  h5_write_small(g, "offsets", PS_I64, 1, doff, m->bins.cut_off);
  if (m->bins.cat) { /* only with categorical features: other files stay as they were */
    int64_t df[1] = {f};
    h5_write_small(g, "categorical", PS_U8, 1, df, m->bins.cat);
  }
  h5_close(g);
  ps_h5_t gt = h5_group_create(fid, "/trees"), gi = h5_group_create(fid, "/importance");
  for (int h = 0; h < heads; h++) {
    const ps_forest_t *fo = &m->forest[h];
    ps_h5_t th = h5_group_create(gt, m->targets[h]);
    h5_attr_f64(th, "init_score", m->init_score[h]);
    h5_attr_i64(th, "trees", fo->ntrees);
    int64_t dt[1] = {fo->ntrees + 1}, dn[1] = {fo->nnodes}, dl[1] = {fo->nleaves};
    h5_write_small(th, "node_offset", PS_I64, 1, dt, fo->node_off);
    h5_write_small(th, "leaf_offset", PS_I64, 1, dt, fo->leaf_off);
    h5_write_small(th, "feature", PS_I32, 1, dn, fo->feature);
    h5_write_small(th, "threshold", PS_F32, 1, dn, fo->threshold);
    h5_write_small(th, "bin", PS_U8, 1, dn, fo->bin);
    h5_write_small(th, "default_left", PS_U8, 1, dn, fo->default_left);
    h5_write_small(th, "left", PS_I32, 1, dn, fo->left);
    h5_write_small(th, "right", PS_I32, 1, dn, fo->right);
    h5_write_small(th, "gain", PS_F64, 1, dn, fo->gain);
    h5_write_small(th, "leaf_value", PS_F64, 1, dl, fo->leaf_value);
    h5_write_small(th, "leaf_count", PS_I64, 1, dl, fo->leaf_count);
    if (fo->ncat > 0) { /* categorical splits (gbdt/gbdt_cat.h) */
      int64_t ds[2] = {fo->ncat, PS_GBDT_CAT_BYTES};
      h5_write_small(th, "cat_index", PS_I32, 1, dn, fo->cat);
      h5_write_small(th, "cat_set", PS_U8, 2, ds, fo->cat_set);
    }
    h5_close(th);
    ps_h5_t ih = h5_group_create(gi, m->targets[h]);
    int64_t df[1] = {f};
    h5_write_small(ih, "gain", PS_F64, 1, df, m->imp_gain + (size_t)h * (size_t)f);
    h5_write_small(ih, "splits", PS_F64, 1, df, m->imp_splits + (size_t)h * (size_t)f);
    h5_close(ih);
  }
  h5_close(gt);
  h5_close(gi);
}

void gbdt_model_write(ps_output_t *out, const ps_gbdt_model_t *m, const ps_gbdt_report_t *r) {
  ps_h5_t fid = model_file_create(out, "gbdt");
  h5_attr_f64(fid, "holdout", m->holdout);
  h5_attr_i64(fid, "split_salt", m->split_salt);
  h5_attr_f64(fid, "n_train", r->n_train);
  h5_attr_f64(fid, "n_valid", r->n_valid);
  model_file_input(fid, r->input_path);
  const char *in_[] = {"trees", "num_leaves", "max_depth", "min_data_in_leaf", "max_bin", "bagging_freq",
                       "early_stopping_rounds", "seed"};
  int64_t iv[] = {r->trees, r->num_leaves, r->max_depth, r->min_data, r->max_bin, r->bagging_freq,
                  r->early_stopping, r->seed};
  for (int i = 0; i < 8; i++) h5_attr_i64(fid, in_[i], iv[i]);
  const char *dn_[] = {"learning_rate", "min_sum_hessian_in_leaf", "lambda_l2", "min_gain_to_split",
                       "feature_fraction", "bagging_fraction"};
  double dv[] = {r->learning_rate, r->min_hess, r->l2, r->min_gain, r->feature_fraction, r->bagging_fraction};
  for (int i = 0; i < 6; i++) h5_attr_f64(fid, dn_[i], dv[i]);
  h5_attr_str(fid, "class_weight", r->pos_weight);
  h5_write_strings(fid, "/feature_names", m->feature_names, m->f);
  h5_write_strings(fid, "/targets", m->targets, m->k);
  gbdt_model_write_trees(fid, m, m->k);
  ps_h5_t gtr = h5_group_create(fid, "/trace"), gm = h5_group_create(fid, "/metrics");
  for (int h = 0; h < m->k; h++) {
    int64_t dt[2] = {r->trace_rows[h], 3};
    h5_write_small(gtr, m->targets[h], PS_F64, 2, dt, r->trace[h]);
    ps_h5_t mh = h5_group_create(gm, m->targets[h]);
    h5_attr_f64(mh, "pos_weight", r->pos_ratio[h]);
    h5_attr_f64(mh, "n_pos", r->n_pos[h]);
    h5_attr_i64(mh, "trees", m->forest[h].ntrees);
    h5_attr_i64(mh, "best_iteration", r->best_iteration[h]);
    model_file_metrics(mh, &r->train[h], r->valid ? &r->valid[h] : NULL);
    h5_close(mh);
  }
  h5_close(gtr);
  h5_close(gm);
  h5_close(fid);
}

static void bad(const char *path, const char *what, const char *target, int64_t i) {
  ps_die_all(PS_EXIT_ERROR, "%s: /trees/%s %s at %lld: the model is damaged (retrain it)", path, target, what,
             (long long)i);
}

/* Every number finite, every index in range, every tree a tree. */
static void check_forest(const char *path, const char *target, const ps_forest_t *fo, int64_t f, const ps_bins_t *b) {
  if (fo->node_off[0] != 0 || fo->leaf_off[0] != 0) bad(path, "offsets do not start at 0", target, 0);
  for (int32_t t = 0; t < fo->ntrees; t++) {
    int64_t n0 = fo->node_off[t], n1 = fo->node_off[t + 1], l0 = fo->leaf_off[t], l1 = fo->leaf_off[t + 1];
    if (n1 < n0 || l1 - l0 != n1 - n0 + 1 || n1 > fo->nnodes || l1 > fo->nleaves) bad(path, "tree offsets", target, t);
    int64_t nodes = n1 - n0, leaves = l1 - l0;
    for (int64_t q = n0; q < n1; q++) {
      int32_t j = fo->feature[q];
      if (j < 0 || j >= f) bad(path, "feature index", target, q);
      int64_t ncuts = b->cut_off[j + 1] - b->cut_off[j];
      if (fo->cat && fo->cat[q] >= 0 && (fo->cat[q] >= fo->ncat || !b->cat || !b->cat[j]))
        bad(path, "category set", target, q);
      if (fo->bin[q] < 1 || fo->bin[q] > ncuts + 1 || isnan(fo->threshold[q])) bad(path, "split threshold", target, q);
      int32_t c[2] = {fo->left[q], fo->right[q]};
      for (int s = 0; s < 2; s++)
        if (c[s] >= 0 ? (c[s] <= q - n0 || c[s] >= nodes) : (~c[s] >= leaves)) bad(path, "child index", target, q);
    }
    for (int64_t q = l0; q < l1; q++)
      if (!isfinite(fo->leaf_value[q])) bad(path, "leaf value", target, q);
  }
}

static void read_array(ps_h5_t g, const char *path, const char *name, ps_dtype_t t, void **dst, int64_t n) {
  *dst = ps_malloc(h5_dtype_size(t) * (size_t)(n > 0 ? n : 1));
  h5_read_small(g, path, name, t, *dst, n);
}

/* The categorical splits' sets, where the file has them (older files: none). */
static void read_sets(ps_h5_t th, const char *path, ps_forest_t *fo) {
  if (!h5_exists(th, "cat_index")) return;
  read_array(th, path, "cat_index", PS_I32, (void **)&fo->cat, fo->nnodes);
  fo->ncat = h5_count(th, "cat_set") / PS_GBDT_CAT_BYTES;
  fo->cap_cat = fo->ncat;
  read_array(th, path, "cat_set", PS_U8, (void **)&fo->cat_set, fo->ncat * PS_GBDT_CAT_BYTES);
}

/* Which features are categorical, where the file says. */
static void read_categorical(ps_h5_t fid, const char *path, ps_bins_t *b) {
  if (!h5_exists(fid, "/bins/categorical")) return;
  b->cat = ps_malloc((size_t)(b->f > 0 ? b->f : 1));
  h5_read_small(fid, path, "/bins/categorical", PS_U8, b->cat, b->f);
}

void gbdt_model_read_trees(ps_h5_t fid, const char *path, ps_gbdt_model_t *m, int heads) {
  int64_t f = m->f, offs[1];
  int64_t *cut_off = ps_malloc(sizeof(int64_t) * (size_t)(f + 1));
  offs[0] = h5_count(fid, "/bins/offsets");
  if (offs[0] != f + 1) ps_die_all(PS_EXIT_ERROR, "%s: /bins/offsets has %lld values, expected %lld", path,
                                   (long long)offs[0], (long long)(f + 1));
  h5_read_small(fid, path, "/bins/offsets", PS_I64, cut_off, f + 1);
  for (int64_t j = 0; j < f; j++)
    if (cut_off[0] != 0 || cut_off[j + 1] < cut_off[j] || cut_off[j + 1] - cut_off[j] > PS_GBDT_MAX_BIN - 1)
      ps_die_all(PS_EXIT_ERROR, "%s: /bins/offsets is damaged at feature %lld", path, (long long)j);
  float *cuts = ps_malloc(sizeof(float) * (size_t)(cut_off[f] + 1));
  h5_read_small(fid, path, "/bins/cuts", PS_F32, cuts, cut_off[f]);
  for (int64_t j = 0; j < f; j++)
    for (int64_t q = cut_off[j]; q < cut_off[j + 1]; q++)
      if (!isfinite(cuts[q]) || (q > cut_off[j] && !(cuts[q] > cuts[q - 1])))
        ps_die_all(PS_EXIT_ERROR, "%s: /bins/cuts is damaged at feature %lld", path, (long long)j);
  bins_from_cuts(f, cuts, cut_off, &m->bins);
  read_categorical(fid, path, &m->bins);
  free(cuts);
  free(cut_off);
  for (int h = 0; h < heads; h++) {
    char *name = ps_sprintf("/trees/%s", m->targets[h]);
    ps_h5_t th = h5_group_open(fid, path, name);
    free(name);
    ps_forest_t *fo = &m->forest[h];
    int64_t T = 0;
    if (!h5_get_attr_f64(th, "init_score", &m->init_score[h]) || !isfinite(m->init_score[h]) ||
        !h5_get_attr_i64(th, "trees", &T) || T < 0 || T > INT32_MAX - 1)
      ps_die_all(PS_EXIT_ERROR, "%s: /trees/%s: init_score or trees missing or damaged", path, m->targets[h]);
    forest_free(fo);
    memset(fo, 0, sizeof *fo);
    fo->ntrees = (int32_t)T;
    read_array(th, path, "node_offset", PS_I64, (void **)&fo->node_off, T + 1);
    read_array(th, path, "leaf_offset", PS_I64, (void **)&fo->leaf_off, T + 1);
    fo->nnodes = fo->node_off[T];
    fo->nleaves = fo->leaf_off[T];
    if (fo->nnodes < 0 || fo->nleaves < 1 || fo->nnodes > h5_count(th, "feature") ||
        fo->nleaves > h5_count(th, "leaf_value"))
      ps_die_all(PS_EXIT_ERROR, "%s: /trees/%s: offsets exceed the arrays", path, m->targets[h]);
    fo->cap_nodes = fo->nnodes;
    fo->cap_leaves = fo->nleaves;
    fo->cap_trees = T;
    read_array(th, path, "feature", PS_I32, (void **)&fo->feature, fo->nnodes);
    read_array(th, path, "threshold", PS_F32, (void **)&fo->threshold, fo->nnodes);
    read_array(th, path, "bin", PS_U8, (void **)&fo->bin, fo->nnodes);
    read_array(th, path, "default_left", PS_U8, (void **)&fo->default_left, fo->nnodes);
    read_array(th, path, "left", PS_I32, (void **)&fo->left, fo->nnodes);
    read_array(th, path, "right", PS_I32, (void **)&fo->right, fo->nnodes);
    read_array(th, path, "gain", PS_F64, (void **)&fo->gain, fo->nnodes);
    read_array(th, path, "leaf_value", PS_F64, (void **)&fo->leaf_value, fo->nleaves);
    read_array(th, path, "leaf_count", PS_I64, (void **)&fo->leaf_count, fo->nleaves);
    read_sets(th, path, fo);
    h5_close(th);
    check_forest(path, m->targets[h], fo, f, &m->bins);
    name = ps_sprintf("/importance/%s/gain", m->targets[h]);
    if (h5_exists(fid, name)) h5_read_small(fid, path, name, PS_F64, m->imp_gain + (size_t)h * (size_t)f, f);
    free(name);
    name = ps_sprintf("/importance/%s/splits", m->targets[h]);
    if (h5_exists(fid, name)) h5_read_small(fid, path, name, PS_F64, m->imp_splits + (size_t)h * (size_t)f, f);
    free(name);
  }
}

void gbdt_model_read(ps_h5_t fid, const char *path, ps_gbdt_model_t *m) {
  int64_t f = 0, k = 0;
  char **names = h5_read_names(fid, path, "/feature_names", &f);
  char **targets = h5_read_strings(fid, path, "/targets", &k);
  if (k < 1) ps_die_all(PS_EXIT_ERROR, "%s: the model has no heads (/targets is empty)", path);
  gbdt_model_init(m, f, (int)k);
  m->feature_names = names;
  m->targets = targets;
  m->owns_names = 1;
  gbdt_model_read_trees(fid, path, m, (int)k);
  h5_get_attr_f64(fid, "holdout", &m->holdout);
  h5_get_attr_i64(fid, "split_salt", &m->split_salt);
}
