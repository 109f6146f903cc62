/* lightgbm.c: export-model for gradient-boosted trees (models/export_model.h):
 * each head of a trees model as LightGBM's text model file (the format of
 * LightGBM's GBDT::SaveModelToString and Tree::ToString, "version=v4"), so
 * that LightGBM, Treelite/FIL, SynapseML and the ONNX converters load it.
 * The mapping (datasets/SCHEMA.md, "export-model"):
 *  - one file a head: a binary model, objective "binary sigmoid:1";
 *  - the trees in order, node and leaf numbering unchanged (LightGBM's own:
 *    root 0, a child < 0 is leaf ~child); thresholds (float values) printed
 *    as round-trip doubles; decision_type 8 (numerical, missing type NaN)
 *    plus 2 where NaN goes left (default_left): a NaN follows the same
 *    branch, every other value goes left iff value <= threshold;
 *  - leaf values as stored (the learning rate already applied; shrinkage=
 *    records it), the head's initial score added to every leaf of the first
 *    tree (LightGBM has no init score: its raw score is 0 + tree 0 + tree 1
 *    + ..., the very additions of propscore's init + tree 0 + tree 1 + ...,
 *    so LightGBM's raw scores are propscore's bits); a head without trees
 *    gets one single-leaf tree holding the initial score;
 *  - leaf_count / internal_count: the training rows under each node (the
 *    cover TreeSHAP weighs branches by); split_gain: the split gains;
 *    LightGBM's leaf_weight, internal_value and internal_weight (Hessian
 *    sums, pre-split outputs) are not kept by propscore and are left out
 *    (LightGBM reads them as 0; prediction and TreeSHAP do not use them);
 *  - feature names with whitespace get '_' in its place (LightGBM splits
 *    the list on spaces); feature_infos: "[first cut:last cut]" of each
 *    feature, "none" for a feature without cuts (never split on);
 *  - categorical splits (gbdt/gbdt_cat.h): decision_type 9 (categorical,
 *    missing type NaN: NaN goes right), threshold = the node's index among
 *    the tree's categorical nodes, its set as 32-bit words in
 *    cat_boundaries/cat_threshold (LightGBM's bitset: code c is bit c % 32
 *    of word c / 32); feature_infos of a categorical feature: its codes
 *    "0:1:...:C-1".
 * Each tree is printed to memory first: the header lists every tree's size
 * in bytes (tree_sizes). */
#define _POSIX_C_SOURCE 200809L
#include "models/export_model.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "gbdt/gbdt_cat.h"
#include "io/output.h"
#include "models/gbdt/model.h"

/* One tree as LightGBM's Tree::ToString sees it. */
typedef struct {
  int64_t nodes, leaves;
  const int32_t *feature, *left, *right;
  const float *threshold;
  const uint8_t *default_left;
  const double *gain, *value;
  const int64_t *count;
  double bias;      /* added to every leaf value (the initial score, first tree) */
  double shrinkage;
  const int32_t *cat;     /* [nodes] category set index (forest-wide), -1 numerical; NULL: none */
  const uint8_t *cat_set; /* the forest's sets */
} lgb_tree_t;

static void put_ints(FILE *f, const char *key, const int32_t *v, int64_t n) {
  fprintf(f, "%s=", key);
  for (int64_t i = 0; i < n; i++) fprintf(f, i ? " %d" : "%d", v[i]);
  fputc('\n', f);
}

static void put_i64(FILE *f, const char *key, const int64_t *v, int64_t n) {
  fprintf(f, "%s=", key);
  for (int64_t i = 0; i < n; i++) fprintf(f, i ? " %lld" : "%lld", (long long)v[i]);
  fputc('\n', f);
}

/* Rows under every internal node: the sum of its leaves' (children come after their parent). */
static void internal_counts(const lgb_tree_t *t, int64_t *ic) {
  for (int64_t q = t->nodes - 1; q >= 0; q--) {
    int32_t c[2] = {t->left[q], t->right[q]};
    ic[q] = 0;
    for (int s = 0; s < 2; s++) ic[q] += c[s] >= 0 ? ic[c[s]] : t->count[~c[s]];
  }
}

static int is_cat(const lgb_tree_t *t, int64_t q) { return t->cat && t->cat[q] >= 0; }

/* The categorical nodes' sets as LightGBM's bitsets (32-bit words, trailing zero words left out). */
static void put_sets(FILE *f, const lgb_tree_t *t) {
  int64_t bound = 0;
  fprintf(f, "cat_boundaries=0");
  for (int64_t q = 0; q < t->nodes; q++) {
    if (!is_cat(t, q)) continue;
    const uint8_t *s = t->cat_set + (size_t)t->cat[q] * PS_GBDT_CAT_BYTES;
    int w = PS_GBDT_CAT_BYTES / 4;
    while (w > 1 && !(s[4 * w - 4] | s[4 * w - 3] | s[4 * w - 2] | s[4 * w - 1])) w--;
    bound += w;
    fprintf(f, " %lld", (long long)bound);
  }
  fprintf(f, "\ncat_threshold=");
  int first = 1;
  for (int64_t q = 0; q < t->nodes; q++) {
    if (!is_cat(t, q)) continue;
    const uint8_t *s = t->cat_set + (size_t)t->cat[q] * PS_GBDT_CAT_BYTES;
    int w = PS_GBDT_CAT_BYTES / 4;
    while (w > 1 && !(s[4 * w - 4] | s[4 * w - 3] | s[4 * w - 2] | s[4 * w - 1])) w--;
    for (int i = 0; i < w; i++, first = 0)
      fprintf(f, first ? "%u" : " %u", (unsigned)s[4 * i] | (unsigned)s[4 * i + 1] << 8 |
                                       (unsigned)s[4 * i + 2] << 16 | (unsigned)s[4 * i + 3] << 24);
  }
  fputc('\n', f);
}

static void put_tree(FILE *f, const lgb_tree_t *t, const int64_t *ic) {
  int64_t n = t->nodes, ncat = 0;
  for (int64_t q = 0; q < n; q++) ncat += is_cat(t, q);
  fprintf(f, "num_leaves=%lld\nnum_cat=%lld\n", (long long)t->leaves, (long long)ncat);
  put_ints(f, "split_feature", t->feature, n);
  fprintf(f, "split_gain=");
  for (int64_t q = 0; q < n; q++) fprintf(f, q ? " %.9g" : "%.9g", (double)(float)t->gain[q]);
  fprintf(f, "\nthreshold=");
  for (int64_t q = 0, c = 0; q < n; q++) {
    if (is_cat(t, q)) fprintf(f, q ? " %lld" : "%lld", (long long)c++); /* the node's set among the tree's */
    else fprintf(f, q ? " %.17g" : "%.17g", (double)t->threshold[q]);
  }
  fprintf(f, "\ndecision_type=");
  for (int64_t q = 0; q < n; q++) fprintf(f, q ? " %d" : "%d", is_cat(t, q) ? 9 : 8 | (t->default_left[q] ? 2 : 0));
  fputc('\n', f);
  put_ints(f, "left_child", t->left, n);
  put_ints(f, "right_child", t->right, n);
  fprintf(f, "leaf_value=");
  for (int64_t l = 0; l < t->leaves; l++) fprintf(f, l ? " %.17g" : "%.17g", t->bias + t->value[l]);
  fputc('\n', f);
  put_i64(f, "leaf_count", t->count, t->leaves);
  put_i64(f, "internal_count", ic, n);
  if (ncat > 0) put_sets(f, t);
  fprintf(f, "is_linear=0\nshrinkage=%.17g\n\n", t->shrinkage);
}

/* "Tree=i\n" + the tree + "\n" into a new string; *len its size. */
static char *tree_text(const lgb_tree_t *t, int64_t i, size_t *len) {
  char *buf = NULL;
  FILE *f = open_memstream(&buf, len);
  if (!f) ps_die_local("export-model: out of memory");
  int64_t *ic = ps_malloc(sizeof(int64_t) * (size_t)(t->nodes > 0 ? t->nodes : 1));
  internal_counts(t, ic);
  fprintf(f, "Tree=%lld\n", (long long)i);
  put_tree(f, t, ic);
  fputc('\n', f);
  free(ic);
  if (fclose(f) != 0) ps_die_local("export-model: out of memory");
  return buf;
}

/* A feature's name as LightGBM can list it (whitespace -> '_'). */
static void put_name(FILE *f, const ps_gbdt_model_t *m, int64_t j) {
  const char *s = m->feature_names[j];
  if (!*s) fprintf(f, "Column_%lld", (long long)j);
  for (; *s; s++) fputc(isspace((unsigned char)*s) ? '_' : *s, f);
}

static void put_header(FILE *f, const ps_gbdt_model_t *m) {
  fprintf(f, "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n");
  fprintf(f, "max_feature_idx=%lld\nobjective=binary sigmoid:1\nfeature_names=", (long long)(m->f - 1));
  for (int64_t j = 0; j < m->f; j++) {
    if (j) fputc(' ', f);
    put_name(f, m, j);
  }
  fprintf(f, "\nfeature_infos=");
  for (int64_t j = 0; j < m->f; j++) {
    int64_t a = m->bins.cut_off[j], b = m->bins.cut_off[j + 1];
    if (j) fputc(' ', f);
    if (m->bins.cat && m->bins.cat[j])
      for (int64_t c = 0; c <= b - a; c++) fprintf(f, c ? ":%lld" : "%lld", (long long)c);
    else if (a == b) fprintf(f, "none");
    else fprintf(f, "[%.17g:%.17g]", (double)m->bins.cuts[a], (double)m->bins.cuts[b - 1]);
  }
  fputc('\n', f);
}

/* Tree t of head h; the first carries the initial score. */
static lgb_tree_t head_tree(const ps_gbdt_model_t *m, int h, int32_t t, double shrinkage) {
  const ps_forest_t *fo = &m->forest[h];
  int64_t n0 = fo->node_off[t], l0 = fo->leaf_off[t];
  lgb_tree_t r = {.nodes = fo->node_off[t + 1] - n0, .leaves = fo->leaf_off[t + 1] - l0,
                  .feature = fo->feature + n0, .left = fo->left + n0, .right = fo->right + n0,
                  .threshold = fo->threshold + n0, .default_left = fo->default_left + n0, .gain = fo->gain + n0,
                  .value = fo->leaf_value + l0, .count = fo->leaf_count + l0,
                  .bias = t == 0 ? m->init_score[h] : 0.0, .shrinkage = shrinkage, .cat = fo->ncat > 0 ? fo->cat + n0 : NULL,
                  .cat_set = fo->cat_set};
  return r;
}

static int check_counts(const ps_gbdt_model_t *m, int h, char *msg, size_t n) {
  const ps_forest_t *fo = &m->forest[h];
  int64_t total = 0;
  for (int32_t t = 0; t < fo->ntrees; t++) {
    total = 0;
    for (int64_t l = fo->leaf_off[t]; l < fo->leaf_off[t + 1]; l++) total += fo->leaf_count[l];
    if (total > INT32_MAX) {
      snprintf(msg, n, "tree %d of head '%s' covers %lld rows, more than LightGBM's counts hold (2^31 - 1)", t,
               m->targets[h], (long long)total);
      return -1;
    }
  }
  return 0;
}

static int lightgbm_write(FILE *f, const ps_gbdt_model_t *m, int h, double shrinkage, char *msg, size_t n) {
  if (check_counts(m, h, msg, n) != 0) return -1;
  const ps_forest_t *fo = &m->forest[h];
  int32_t T = fo->ntrees > 0 ? fo->ntrees : 1;
  char **text = ps_malloc(sizeof(char *) * (size_t)T);
  size_t *len = ps_malloc(sizeof(size_t) * (size_t)T);
  static const double no_value = 0.0;
  static const int64_t no_count = 0;
  for (int32_t t = 0; t < T; t++) {
    lgb_tree_t tr = {.leaves = 1, .value = &no_value, .count = &no_count, .bias = m->init_score[h],
                     .shrinkage = 1.0};
    if (fo->ntrees > 0) tr = head_tree(m, h, t, shrinkage);
    text[t] = tree_text(&tr, t, &len[t]);
  }
  put_header(f, m);
  fprintf(f, "tree_sizes=");
  for (int32_t t = 0; t < T; t++) fprintf(f, t ? " %zu" : "%zu", len[t]);
  fprintf(f, "\n\n");
  for (int32_t t = 0; t < T; t++) {
    fwrite(text[t], 1, len[t], f);
    free(text[t]);
  }
  free(text);
  free(len);
  fprintf(f, "end of trees\n\nfeature_importances:\n");
  const double *imp = m->imp_splits + (size_t)h * (size_t)m->f;
  int64_t *order = ps_malloc(sizeof(int64_t) * (size_t)(m->f > 0 ? m->f : 1));
  int64_t k = 0;
  for (int64_t j = 0; j < m->f; j++)
    if ((int64_t)imp[j] > 0) order[k++] = j;
  for (int64_t a = 1; a < k; a++) /* stable, by count descending (as LightGBM) */
    for (int64_t b = a; b > 0 && (int64_t)imp[order[b]] > (int64_t)imp[order[b - 1]]; b--) {
      int64_t x = order[b];
      order[b] = order[b - 1];
      order[b - 1] = x;
    }
  for (int64_t a = 0; a < k; a++) {
    put_name(f, m, order[a]);
    fprintf(f, "=%lld\n", (long long)imp[order[a]]);
  }
  free(order);
  fprintf(f, "\npandas_categorical:null\n");
  if (ferror(f)) {
    snprintf(msg, n, "%s", strerror(errno));
    return -1;
  }
  return 0;
}

/* FILE with ".<target>" before its extension (after the last '/'). */
static char *head_path(const char *out, const char *target) {
  const char *slash = strrchr(out, '/'), *dot = strrchr(out, '.');
  if (!dot || (slash && dot < slash) || dot == (slash ? slash + 1 : out)) return ps_sprintf("%s.%s", out, target);
  return ps_sprintf("%.*s.%s%s", (int)(dot - out), out, target, dot);
}

/* Rank 0: head h as a LightGBM file at path, safely. */
static void write_out(const char *path, const ps_gbdt_model_t *g, int h, double lr) {
  ps_output_t *out = out_begin(path, 0);
  FILE *f = fopen(out_tmp(out), "w");
  if (!f) ps_die_local("export-model: cannot write %s: %s", out_tmp(out), strerror(errno));
  char msg[512] = "";
  int bad = lightgbm_write(f, g, h, lr, msg, sizeof msg) != 0;
  if (bad || fflush(f) != 0 || ferror(f) || fclose(f) != 0)
    ps_die_local("export-model: cannot write %s: %s", path, *msg ? msg : strerror(errno));
  out_commit(out);
}

static int find_target(char **targets, int k, const char *t, const char *path) {
  for (int h = 0; h < k; h++)
    if (!strcmp(targets[h], t)) return h;
  ps_die_all(PS_EXIT_USAGE, "export-model: %s has no head '%s' (--target)", path, t);
}

void gbdt_export_lightgbm(const export_model_opts_t *o, ps_h5_t fid) {
  ps_gbdt_model_t m;
  gbdt_model_read(fid, o->model, &m);
  double lr = 1.0;
  h5_get_attr_f64(fid, "learning_rate", &lr);
  int h0 = 0, h1 = m.k;
  if (o->target) {
    h0 = find_target(m.targets, m.k, o->target, o->model);
    h1 = h0 + 1;
  }
  int single = o->target || m.k == 1;
  char **paths = ps_malloc(sizeof(char *) * (size_t)m.k);
  for (int h = h0; h < h1; h++) paths[h] = single ? ps_strdup(o->out) : head_path(o->out, m.targets[h]);
  ps_path_t in[] = {{"--model", o->model}};
  ps_path_t *outs = ps_malloc(sizeof(ps_path_t) * (size_t)m.k);
  for (int h = h0; h < h1; h++) outs[h - h0] = (ps_path_t){"--out", paths[h]};
  out_check_paths(in, 1, outs, h1 - h0);
  for (int h = h0; h < h1 && ps_rank == 0; h++) {
    write_out(paths[h], &m, h, lr);
    ps_out("export-model: wrote %s: head '%s', %d trees, LightGBM text model", paths[h], m.targets[h],
           m.forest[h].ntrees);
  }
  for (int h = h0; h < h1; h++) free(paths[h]);
  free(paths);
  free(outs);
  gbdt_model_free(&m);
}
