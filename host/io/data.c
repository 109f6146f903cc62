/* data.c: input feature files (see data.h). */
#include "io/data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/rng.h"
#include "core/util.h"

/* ---- categorical columns (/categorical) ---- */
/* /categorical/columns int64 [m] strictly increasing in [0, f),
 * /categorical/offsets int64 [m+1] from 0, each step 1..255,
 * /categorical/names string [offsets[m]]. */
static void data_read_categorical(ps_data_t *d) {
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

static void data_free_categorical(ps_data_t *d) {
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

/* A CSR file (io/csr.h): F is the length of /feature_names. */
static void open_csr(ps_data_t *d) {
  const char *path = d->path;
  if (h5_exists(d->fid, "/features"))
    ps_die_all(PS_EXIT_ERROR, "%s: holds both /features and /features_csr; a feature file has one layout (put the "
               "dense columns into the CSR ones: scripts/to_hdf5.py)", path);
  if (h5_exists(d->fid, "/categorical"))
    ps_die_all(PS_EXIT_ERROR, "%s: /categorical beside /features_csr: categorical columns are read from dense "
               "/features files only (write this file dense: scripts/to_hdf5.py)", path);
  int64_t nn = 0, idd[1];
  d->ids = h5_dset_open(d->fid, path, "/customer_id", 1, PS_KIND_INT, "int64", idd);
  d->feature_names = h5_read_names(d->fid, path, "/feature_names", &nn);
  d->f = nn;
  if (d->f < 1) ps_die_all(PS_EXIT_ERROR, "%s: /feature_names is empty (a CSR file's columns are its names)", path);
  d->csr = 1;
  csr_open(d->fid, path, d->f, &d->sp);
  d->n = d->sp.n;
  if (idd[0] != d->n)
    ps_die_all(PS_EXIT_ERROR, "%s: /features_csr/indptr has %lld values (%lld rows) but /customer_id has %lld rows",
               path, (long long)(d->n + 1), (long long)d->n, (long long)idd[0]);
  ps_log("%s: CSR layout (/features_csr), %lld rows x %lld features, %lld stored values (density %.4f%%); "
         "gbdt and --standardize scale logreg train on the stored values, score (CPU, --explain too) every model "
         "from them; inspect, auto's folds and other training make rows dense a block at a time, segment its --columns", path, (long long)d->n, (long long)d->f, (long long)d->sp.nnz,
         d->n > 0 ? 100.0 * (double)d->sp.nnz / ((double)d->n * (double)d->f) : 0.0);
}

void data_open(const char *path, ps_data_t *d) {
  memset(d, 0, sizeof *d);
  d->path = path;
  d->fid = h5_open(path, 1);
  d->features = d->ids = d->sp.indptr = d->sp.indices = d->sp.values = -1;
  int64_t v = 0;
  if (h5_get_attr_i64(d->fid, "schema_version", &v)) {
    d->schema_version = (int)v;
    if (v > PS_SCHEMA_VERSION)
      ps_die_all(PS_EXIT_ERROR, "%s: schema_version %lld is newer than this propscore understands (%d)", path,
                 (long long)v, PS_SCHEMA_VERSION);
  }
  if (h5_exists(d->fid, "/features_csr")) {
    open_csr(d);
    return;
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
  d->feature_names = h5_read_names(d->fid, path, "/feature_names", &nn);
  if (nn != d->f)
    ps_die_all(PS_EXIT_ERROR, "%s: /feature_names has %lld names but /features has %lld columns", path,
               (long long)nn, (long long)d->f);
  data_read_categorical(d);
}

void data_close(ps_data_t *d) {
  h5_close(d->features);
  h5_close(d->ids);
  csr_close(&d->sp);
  ps_free_strv(d->feature_names);
  data_free_categorical(d);
  h5_close(d->fid);
  memset(d, 0, sizeof *d);
  d->fid = d->features = d->ids = d->sp.indptr = d->sp.indices = d->sp.values = -1;
}

ps_pipe_col_t data_features_col(const ps_data_t *d) {
  if (!d->csr) return (ps_pipe_col_t){.dset = d->features, .type = PS_F32, .cols = d->f};
  return (ps_pipe_col_t){.dset = -1, .type = PS_F32, .cols = d->f, .read = csr_pipe_read, .ctx = &d->sp};
}

void data_read_rows(const ps_data_t *d, int64_t row0, int64_t n, float *X) {
  if (!d->csr) {
    h5_read_range(d->features, PS_F32, row0, n, d->f, X);
    return;
  }
  int64_t br = h5_block_rows(4 * d->f, 0), nb = h5_common_blocks(n, br);
  for (int64_t b = 0; b < nb; b++) {
    int64_t r0 = b * br, m = n - r0 < br ? n - r0 : br;
    if (m < 0) m = 0;
    if (r0 > n) r0 = n;
    csr_pipe_read(&d->sp, row0 + r0, m, X + (size_t)r0 * (size_t)d->f);
  }
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

/* The exact report of repeated ids (taken only when there are some): every
 * (id, row) goes to the rank owning hash(id); each rank finds repeats among
 * its share with a hash table holding each id's two lowest rows. */
typedef struct {
  int64_t id, row;
} idrow_t;

static void report_repeats(const ps_data_t *d, const int64_t *ids, int64_t row0, int64_t n) {
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

/* Duplicate ids, distributed and cache-friendly: ps_mix64 is a bijection of
 * 64-bit words, so ids repeat exactly when their hashes do. Every hash goes
 * to the rank h % P (8 bytes a row, one all-to-all); there the hashes are
 * split by their top bits into buckets of ~1024, and each bucket is checked
 * with a small open-addressing table (L1-resident). Only when some id
 * repeats is the exact report (count, first repeated row) worked out. */
static int64_t bucket_repeats(const uint64_t *h, size_t m, uint64_t *table, size_t cap) {
  int64_t rep = 0;
  int shift = 64;
  for (size_t c = cap; c > 1; c >>= 1) shift--;
  memset(table, 0, sizeof(uint64_t) * cap);
  int zero = 0;
  for (size_t i = 0; i < m; i++) {
    uint64_t x = h[i];
    if (x == 0) { /* 0 marks an empty slot: counted apart */
      rep += zero;
      zero = 1;
      continue;
    }
    size_t s = (size_t)((x * 0x9E3779B97F4A7C15ull) >> shift); /* bits the bucket did not fix */
    while (table[s] && table[s] != x) s = (s + 1) & (cap - 1);
    if (table[s]) rep++;
    else table[s] = x;
  }
  return rep;
}

/* 1 if the ids increase strictly along the file's rows (every rank's slice,
 * and across the ranks' edges): then no id repeats -- the common case of
 * files written in id order, checked in one pass and one allgather. */
static int ids_increasing(const int64_t *ids, int64_t n) {
  int64_t ok = 1;
  for (int64_t i = 1; i < n; i++) ok &= ids[i - 1] < ids[i];
  int64_t mine[4] = {ok, n > 0, n > 0 ? ids[0] : 0, n > 0 ? ids[n - 1] : 0};
  int64_t *all = ps_malloc(sizeof mine * (size_t)ps_size);
  comm_allgather(mine, all, sizeof mine);
  int inc = 1, have = 0;
  int64_t last = 0;
  for (int r = 0; r < ps_size; r++) {
    const int64_t *a = all + 4 * r;
    if (!a[1]) continue;
    inc &= a[0] && (!have || last < a[2]);
    have = 1;
    last = a[3];
  }
  free(all);
  return inc;
}

void data_check_unique_ids(const ps_data_t *d, const int64_t *ids, int64_t row0, int64_t n) {
  if (ids_increasing(ids, n)) return;
  int P = ps_size;
  size_t nn = (size_t)(n > 0 ? n : 1);
  uint64_t *h = ps_malloc(sizeof(uint64_t) * nn);
  size_t *cnt = ps_calloc((size_t)P, sizeof(size_t)), *at = ps_calloc((size_t)P, sizeof(size_t));
  for (int64_t i = 0; i < n; i++) h[i] = ps_mix64((uint64_t)ids[i]);
  uint64_t *mine;
  size_t m;
  if (P > 1) {
    for (int64_t i = 0; i < n; i++) cnt[h[i] % (uint64_t)P]++;
    for (int r = 1; r < P; r++) at[r] = at[r - 1] + cnt[r - 1];
    uint64_t *send = ps_malloc(sizeof(uint64_t) * nn);
    for (int64_t i = 0; i < n; i++) send[at[h[i] % (uint64_t)P]++] = h[i];
    free(h);
    for (int r = 0; r < P; r++) cnt[r] *= sizeof(uint64_t);
    size_t *rs = ps_calloc((size_t)P, sizeof(size_t)), total = 0;
    mine = comm_alltoallv_bytes(send, cnt, rs, &total);
    free(send);
    free(rs);
    m = total / sizeof(uint64_t);
  } else {
    mine = h;
    m = (size_t)n;
  }
  free(cnt);
  free(at);
  /* buckets by the top bits: about 1024 hashes each */
  int bits = 0;
  while (bits < 20 && ((size_t)1 << bits) * 1024 < m) bits++;
  size_t nb = (size_t)1 << bits;
  size_t *bc = ps_calloc(nb + 1, sizeof(size_t));
  int sh = 64 - bits;
  for (size_t i = 0; i < m; i++) bc[(bits ? (size_t)(mine[i] >> sh) : 0) + 1]++;
  size_t biggest = 0;
  for (size_t b = 0; b < nb; b++) {
    if (bc[b + 1] > biggest) biggest = bc[b + 1];
    bc[b + 1] += bc[b];
  }
  uint64_t *sorted = ps_malloc(sizeof(uint64_t) * (m > 0 ? m : 1));
  size_t *pos = ps_malloc(sizeof(size_t) * nb);
  memcpy(pos, bc, sizeof(size_t) * nb);
  for (size_t i = 0; i < m; i++) sorted[pos[bits ? (size_t)(mine[i] >> sh) : 0]++] = mine[i];
  free(mine);
  free(pos);
  size_t cap = 16;
  while (cap < 2 * biggest) cap *= 2;
  uint64_t *table = ps_malloc(sizeof(uint64_t) * cap);
  int64_t repeats = 0;
  for (size_t b = 0; b < nb; b++) {
    size_t len = bc[b + 1] - bc[b], tc = 16;
    while (tc < 2 * len) tc *= 2;
    repeats += bucket_repeats(sorted + bc[b], len, table, tc);
  }
  free(table);
  free(sorted);
  free(bc);
  comm_allreduce_sum_i64(&repeats, 1);
  if (repeats > 0) report_repeats(d, ids, row0, n);
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
  snprintf(buf, n, "%s: %s row %lld column %lld (%s) is %s (--nonfinite reject)", d->path,
           d->csr ? "/features_csr/data" : "/features", (long long)row, (long long)col, d->feature_names[col],
           isnan(v) ? "NaN" : "Inf");
}
