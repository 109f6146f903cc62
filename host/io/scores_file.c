/* scores_file.c: the per-customer files propscore writes, as the jobs that
 * read them see them (see scores_file.h). */
#include "io/scores_file.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/partition.h"
#include "core/rng.h"
#include "core/util.h"

const ps_score_range_t PS_SCORE_PROBABILITY = {.lo = 0.0f, .hi = 1.0f, .noun = "score", .rule = "a probability"};
const ps_score_range_t PS_SCORE_UPLIFT = {.lo = -1.0f, .hi = 1.0f, .noun = "uplift", .rule = "in [-1, 1]"};
const ps_score_range_t PS_SCORE_FINITE = {.lo = -DBL_MAX, .hi = DBL_MAX, .noun = "score", .rule = "finite"};

ps_h5_t scores_open(const char *path, const char *kind) {
  ps_h5_t f = h5_open(path, 1);
  char *k = h5_get_attr_str(f, "kind");
  if (!k || strcmp(k, kind))
    ps_die_all(PS_EXIT_ERROR, "%s: not a propscore %s file (kind = %s)", path, kind, k ? k : "missing");
  free(k);
  return f;
}

int64_t *scores_read_ids(ps_h5_t f, const char *path, int64_t *N, int64_t *row0, int64_t *n) {
  int64_t dims[1];
  ps_h5_t d = h5_dset_open(f, path, "/customer_id", 1, PS_KIND_INT, "int64", dims);
  *N = dims[0];
  ps_partition(*N, ps_size, ps_rank, row0, n);
  int64_t *ids = ps_malloc(sizeof(int64_t) * (size_t)(*n > 0 ? *n : 1));
  h5_read_range(d, PS_I64, *row0, *n, 0, ids);
  h5_close(d);
  return ids;
}

void scores_check_ids(ps_h5_t f, const char *path, const int64_t *ids, int64_t N, int64_t row0, int64_t n,
                      const char *what, const char *other) {
  int64_t dims[1];
  ps_h5_t d = h5_dset_open(f, path, "/customer_id", 1, PS_KIND_INT, "int64", dims);
  if (dims[0] != N)
    ps_die_all(PS_EXIT_ERROR, "%s: /customer_id has %lld rows but %s %s has %lld", path, (long long)dims[0], what,
               other, (long long)N);
  int64_t *mine = ps_malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
  h5_read_range(d, PS_I64, row0, n, 0, mine);
  h5_close(d);
  data_check_same_ids(ids, mine, row0, n, path, what, other, "made from other data?");
  free(mine);
}

int64_t *scores_data_ids(ps_h5_t sf, const char *path, const ps_data_t *d, int64_t *row0, int64_t *n) {
  ps_partition(d->n, ps_size, ps_rank, row0, n);
  int64_t *ids = ps_malloc(sizeof(int64_t) * (size_t)(*n > 0 ? *n : 1));
  data_read_ids(d, *row0, *n, ids);
  scores_check_ids(sf, path, ids, d->n, *row0, *n, "data", d->path);
  return ids;
}

void scores_read_head(ps_h5_t f, const char *path, const char *name, int64_t N, int64_t row0, int64_t n,
                      const ps_score_range_t *range, ps_dtype_t type, void *out) {
  int64_t dims[1];
  ps_h5_t d = h5_dset_open(f, path, name, 1, PS_KIND_FLOAT, "float32", dims);
  if (dims[0] != N)
    ps_die_all(PS_EXIT_ERROR, "%s: %s has %lld rows but /customer_id has %lld", path, name, (long long)dims[0],
               (long long)N);
  h5_read_range(d, type, row0, n, 0, out);
  h5_close(d);
  char msg[1024] = "";
  int bad = 0;
  for (int64_t i = 0; i < n && !bad; i++) {
    double v = type == PS_F32 ? (double)((const float *)out)[i] : ((const double *)out)[i];
    if (!(v >= range->lo && v <= range->hi)) {
      bad = 1;
      snprintf(msg, sizeof msg, "%s: %s row %lld: %s %g is not %s", path, name, (long long)(row0 + i), range->noun, v,
               range->rule);
    }
  }
  ps_check_all(bad, msg);
}

const char *scores_split(ps_h5_t sf, const char *split, double *holdout, int64_t *salt) {
  double h_file = 0;
  int64_t salt_file = 0;
  h5_get_attr_f64(sf, "holdout", &h_file);
  h5_get_attr_i64(sf, "split_salt", &salt_file);
  if (*holdout < 0) *holdout = h_file;
  if (*salt < 0) *salt = salt_file;
  if (!split) split = *holdout > 0 ? "valid" : "all";
  if (strcmp(split, "all") && !(*holdout > 0))
    ps_die_all(PS_EXIT_USAGE, "--split %s: the scores file records no holdout; give --holdout", split);
  return split;
}

void scores_split_keep(const int64_t *ids, int64_t n, const char *split, double holdout, int64_t salt,
                       uint8_t *keep) {
  int all = !strcmp(split, "all"), valid = !strcmp(split, "valid");
  for (int64_t i = 0; i < n; i++) {
    int va = holdout > 0 && ps_id_unit(ids[i], (uint64_t)salt) < holdout;
    keep[i] = all || (valid ? va : !va);
  }
}
