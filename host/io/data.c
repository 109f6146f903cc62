/* data.c: input feature files (see data.h). */
#include "io/data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/rng.h"
#include "core/util.h"

void data_open(const char *path, ps_data_t *d) {
  memset(d, 0, sizeof *d);
  d->path = path;
  d->fid = h5_open(path, 1);
  int64_t v = 0;
  if (h5_get_attr_i64(d->fid, "schema_version", &v)) {
    d->schema_version = (int)v;
    if (v > PS_SCHEMA_VERSION)
      ps_die_all(PS_EXIT_ERROR, "%s: schema_version %lld is newer than this propscore understands (%d)", path,
                 (long long)v, PS_SCHEMA_VERSION);
  }
  int64_t fd[2], idd[1];
  d->features = h5_dset_open(d->fid, path, "/features", 2, PS_KIND_FLOAT, "float32", fd);
  size_t tsz = h5_stored_size(d->features);
  if (tsz != 4 && tsz != 8)
    ps_die_all(PS_EXIT_ERROR, "%s: dataset /features has type float%zu, expected float32", path, tsz * 8);
  d->n = fd[0];
  d->f = fd[1];
  if (d->f < 1) ps_die_all(PS_EXIT_ERROR, "%s: dataset /features has no columns", path);
  d->ids = h5_dset_open(d->fid, path, "/customer_id", 1, PS_KIND_INT, "int64", idd);
  if (idd[0] != d->n)
    ps_die_all(PS_EXIT_ERROR, "%s: /customer_id has %lld rows but /features has %lld", path, (long long)idd[0],
               (long long)d->n);
  d->chunk_rows = h5_chunk_rows(d->features);
  if (!h5_fully_written(d->features))
    ps_warn("%s: /features has chunks that were never written; they read as the dataset's fill value", path);
  int64_t nn = 0;
  d->feature_names = h5_read_strings(d->fid, path, "/feature_names", &nn);
  if (nn != d->f)
    ps_die_all(PS_EXIT_ERROR, "%s: /feature_names has %lld names but /features has %lld columns", path,
               (long long)nn, (long long)d->f);
}

void data_close(ps_data_t *d) {
  h5_close(d->features);
  h5_close(d->ids);
  ps_free_strv(d->feature_names);
  h5_close(d->fid);
  memset(d, 0, sizeof *d);
  d->fid = d->features = d->ids = -1;
}

char **data_targets(const ps_data_t *d, int *count) { return h5_list_datasets(d->fid, "/labels", count); }

void data_check_targets(const ps_data_t *d, char *const *targets, int k) {
  int dup = ps_strv_duplicate(targets, k);
  if (dup >= 0) ps_die_all(PS_EXIT_USAGE, "--targets: '%s' is given twice", targets[dup]);
  for (int h = 0; h < k; h++) {
    char *name = ps_sprintf("/labels/%s", targets[h]);
    int ok = h5_is_dataset(d->fid, name);
    free(name);
    if (!ok) ps_die_all(PS_EXIT_ERROR, "%s: dataset /labels/%s not found", d->path, targets[h]);
  }
}

void data_read_labels_raw(const ps_data_t *d, const char *target, int64_t row0, int64_t n, double *out) {
  char *name = ps_sprintf("/labels/%s", target);
  int64_t dims[1];
  ps_h5_t ds = h5_dset_open(d->fid, d->path, name, 1, PS_KIND_INT | PS_KIND_FLOAT, "uint8 (0/1)", dims);
  if (dims[0] != d->n)
    ps_die_all(PS_EXIT_ERROR, "%s: %s has %lld rows but /features has %lld", d->path, name, (long long)dims[0],
               (long long)d->n);
  h5_read_range(ds, PS_F64, row0, n, 0, out);
  h5_close(ds);
  free(name);
}

void data_read_labels(const ps_data_t *d, const char *target, int64_t row0, int64_t n, int k, int h, uint8_t *Y) {
  double *lab = ps_malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  data_read_labels_raw(d, target, row0, n, lab);
  char msg[1024] = {0};
  int bad = 0;
  for (int64_t i = 0; i < n && !bad; i++) {
    if (lab[i] == 0.0 || lab[i] == 1.0) {
      Y[(size_t)i * (size_t)k + (size_t)h] = (uint8_t)lab[i];
    } else {
      bad = 1;
      snprintf(msg, sizeof msg, "%s: /labels/%s row %lld: value %g is not 0 or 1", d->path, target,
               (long long)(row0 + i), lab[i]);
    }
  }
  free(lab);
  ps_check_all(bad, msg); /* the lowest rank with a bad value holds the first bad row */
}

void data_read_ids(const ps_data_t *d, int64_t row0, int64_t n, int64_t *ids) {
  h5_read_range(d->ids, PS_I64, row0, n, 0, ids);
}

void data_check_same_ids(const int64_t *ids, const int64_t *other, int64_t row0, int64_t n, const char *path,
                         const char *what, const char *other_path, const char *hint) {
  char msg[1024] = "";
  int bad = 0;
  for (int64_t i = 0; i < n && !bad; i++)
    if (ids[i] != other[i]) {
      bad = 1;
      snprintf(msg, sizeof msg, "%s: /customer_id row %lld differs from %s %s (%s)", path, (long long)(row0 + i), what,
               other_path, hint);
    }
  ps_check_all(bad, msg);
}

/* Duplicate ids, distributed: every (id, row) goes to the rank owning
 * hash(id); each rank finds repeats among its share with a hash table. */
typedef struct {
  int64_t id, row;
} idrow_t;

void data_check_unique_ids(const ps_data_t *d, const int64_t *ids, int64_t row0, int64_t n) {
  int P = ps_size;
  size_t *cnt = ps_calloc((size_t)P, sizeof(size_t)), *at = ps_calloc((size_t)P, sizeof(size_t));
  for (int64_t i = 0; i < n; i++) cnt[ps_mix64((uint64_t)ids[i]) % (uint64_t)P]++;
  for (int r = 1; r < P; r++) at[r] = at[r - 1] + cnt[r - 1];
  idrow_t *send = ps_malloc(sizeof(idrow_t) * (size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) {
    int r = (int)(ps_mix64((uint64_t)ids[i]) % (uint64_t)P);
    send[at[r]++] = (idrow_t){ids[i], row0 + i};
  }
  for (int r = 0; r < P; r++) cnt[r] *= sizeof(idrow_t);
  size_t *rs = ps_calloc((size_t)P, sizeof(size_t)), total = 0;
  idrow_t *mine = comm_alltoallv_bytes(send, cnt, rs, &total);
  free(send);
  size_t m = total / sizeof(idrow_t), cap = 16;
  while (cap < 2 * m) cap *= 2;
  /* open addressing: slot holds the id's lowest row and, once repeated, its second lowest */
  int64_t *key = ps_malloc(sizeof(int64_t) * cap), *lo1 = ps_malloc(sizeof(int64_t) * cap);
  int64_t *lo2 = ps_malloc(sizeof(int64_t) * cap);
  uint8_t *used = ps_calloc(cap, 1);
  int64_t repeats = 0;
  for (size_t i = 0; i < m; i++) {
    size_t s = (size_t)(ps_mix64((uint64_t)mine[i].id ^ 0x5bd1e995ull) & (cap - 1));
    while (used[s] && key[s] != mine[i].id) s = (s + 1) & (cap - 1);
    int64_t row = mine[i].row;
    if (!used[s]) {
      used[s] = 1;
      key[s] = mine[i].id;
      lo1[s] = row;
      lo2[s] = INT64_MAX;
      continue;
    }
    repeats++;
    if (row < lo1[s]) {
      lo2[s] = lo1[s];
      lo1[s] = row;
    } else if (row < lo2[s]) {
      lo2[s] = row;
    }
  }
  int64_t first = INT64_MAX;
  for (size_t s = 0; s < cap; s++)
    if (used[s] && lo2[s] < first) first = lo2[s];
  free(key); free(lo1); free(lo2); free(used); free(mine); free(cnt); free(at); free(rs);
  comm_allreduce_sum_i64(&repeats, 1);
  comm_allreduce_min_i64(&first, 1);
  if (repeats > 0)
    ps_die_all(PS_EXIT_ERROR,
               "%s: /customer_id holds %lld repeated id%s (the first repeat at row %lld); ids must be unique",
               d->path, (long long)repeats, repeats == 1 ? "" : "s", (long long)first);
}

int data_first_nonfinite(const float *X, int64_t n, int64_t f, int64_t *row, int64_t *col) {
  for (int64_t i = 0; i < n; i++) {
    const float *x = X + (size_t)i * (size_t)f;
    float acc = 0.0f; /* x * 0 is 0 for finite x, NaN otherwise: one test a row */
    for (int64_t j = 0; j < f; j++) acc += x[j] * 0.0f;
    if (acc == 0.0f) continue;
    for (int64_t j = 0; j < f; j++)
      if (!isfinite(x[j])) {
        *row = i;
        *col = j;
        return 1;
      }
  }
  return 0;
}

void data_nonfinite_message(const ps_data_t *d, int64_t row, int64_t col, float v, char *buf, size_t n) {
  snprintf(buf, n, "%s: /features row %lld column %lld (%s) is %s (--nonfinite reject)", d->path, (long long)row,
           (long long)col, d->feature_names[col], isnan(v) ? "NaN" : "Inf");
}
