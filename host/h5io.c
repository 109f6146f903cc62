/* h5io.c: HDF5 access for propscore (see h5io.h). All failures that a user
 * can cause end in one line naming the file and dataset. */
#define _POSIX_C_SOURCE 200809L
#include "h5io.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "comm.h"
#include "util.h"

void h5io_init(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static hid_t fapl_for(int parallel) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5_CHECK(fapl);
  if (parallel) {
    H5_CHECK(H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL));
    H5_CHECK(H5Pset_all_coll_metadata_ops(fapl, 1));
    H5_CHECK(H5Pset_coll_metadata_write(fapl, 1));
    /* Datasets of 1 MiB or more start on a file-system stripe boundary
     * (PROPSCORE_H5_ALIGN bytes, default 4 MiB: a common Lustre stripe). */
    const char *al = getenv("PROPSCORE_H5_ALIGN");
    long long align = al ? atoll(al) : (4LL << 20);
    if (align > 0) H5_CHECK(H5Pset_alignment(fapl, (hsize_t)1 << 20, (hsize_t)align));
  }
  /* Files that read the same everywhere: the 1.8 format is widely readable. */
  H5_CHECK(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST));
  return fapl;
}

hid_t h5io_open(const char *path, int parallel) {
  /* Rank 0 checks first, so a missing file is one clean message. */
  int status = 0; /* 0 ok, 1 missing, 2 unreadable, 3 not hdf5 */
  if (ps_rank == 0 || !parallel) {
    if (access(path, F_OK) != 0) status = 1;
    else if (access(path, R_OK) != 0) status = 2;
    else if (H5Fis_hdf5(path) <= 0) status = 3;
  }
  if (parallel) comm_bcast(&status, sizeof status, 0);
  if (status == 1) ps_die_all(PS_EXIT_ERROR, "%s: no such file", path);
  if (status == 2) ps_die_all(PS_EXIT_ERROR, "%s: permission denied", path);
  if (status == 3) ps_die_all(PS_EXIT_ERROR, "%s: not an HDF5 file (or its header is damaged)", path);
  hid_t fapl = fapl_for(parallel);
  hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  char why[512];
  snprintf(why, sizeof why, "%s", fid < 0 ? ps_h5_last_error() : ""); /* before the next call clears it */
  H5Pclose(fapl);
  int bad = fid < 0;
  if (parallel) {
    int any = bad;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    bad = any;
  }
  if (bad) ps_die_all(PS_EXIT_ERROR, "%s: cannot open HDF5 file: %s", path, why[0] ? why : "damaged or truncated");
  return fid;
}

hid_t h5io_open_rw(const char *path) {
  hid_t fapl = fapl_for(1);
  hid_t fid = H5Fopen(path, H5F_ACC_RDWR, fapl);
  H5Pclose(fapl);
  int bad = fid < 0, any = bad;
  MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (any) ps_die_all(PS_EXIT_ERROR, "%s: cannot reopen to resume: %s (remove it to start over)", path,
                      ps_h5_last_error());
  return fid;
}

hid_t h5io_create(const char *path, int parallel) {
  hid_t fapl = fapl_for(parallel);
  hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
  H5_CHECK(H5Pset_obj_track_times(fcpl, 0)); /* root group: no timestamps, reproducible bytes */
  hid_t fid = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
  char why[512];
  snprintf(why, sizeof why, "%s", fid < 0 ? ps_h5_last_error() : "");
  H5Pclose(fapl);
  H5Pclose(fcpl);
  int bad = fid < 0;
  if (parallel) {
    int any = bad;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    bad = any;
  }
  if (bad && parallel) ps_die_all(PS_EXIT_ERROR, "%s: cannot create HDF5 file: %s", path, why);
  if (bad) ps_die_local("%s: cannot create HDF5 file: %s", path, why);
  return fid;
}

void h5io_close(hid_t fid) {
  if (fid >= 0) H5_CHECK(H5Fclose(fid));
}

int h5io_exists(hid_t loc, const char *name) {
  /* Walk the path so that "/a/b" with a missing "/a" is simply absent. */
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", name);
  for (char *p = buf + 1; *p; p++) {
    if (*p == '/') {
      *p = 0;
      if (H5Lexists(loc, buf, H5P_DEFAULT) <= 0) return 0;
      *p = '/';
    }
  }
  return H5Lexists(loc, buf, H5P_DEFAULT) > 0;
}

void h5io_type_name(hid_t type, char *buf, size_t n) {
  H5T_class_t c = H5Tget_class(type);
  size_t sz = H5Tget_size(type);
  switch (c) {
    case H5T_INTEGER:
      snprintf(buf, n, "%sint%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", sz * 8);
      break;
    case H5T_FLOAT: snprintf(buf, n, "float%zu", sz * 8); break;
    case H5T_STRING: snprintf(buf, n, "string"); break;
    case H5T_COMPOUND: snprintf(buf, n, "compound"); break;
    case H5T_ENUM: snprintf(buf, n, "enum"); break;
    default: snprintf(buf, n, "class %d", (int)c); break;
  }
}

/* Open a dataset and check rank and type class; dies naming file/dataset. */
static hid_t open_checked(hid_t fid, const char *file, const char *name, int want_rank, H5T_class_t c1,
                          H5T_class_t c2, const char *want_type, int64_t *dims) {
  if (!h5io_exists(fid, name)) ps_die_all(PS_EXIT_ERROR, "%s: dataset %s not found", file, name);
  hid_t d = H5Dopen2(fid, name, H5P_DEFAULT);
  if (d < 0) ps_die_all(PS_EXIT_ERROR, "%s: %s is not a readable dataset: %s", file, name, ps_h5_last_error());
  hid_t s = H5Dget_space(d), t = H5Dget_type(d);
  int r = H5Sget_simple_extent_ndims(s);
  hsize_t hd[8] = {0};
  if (r > 0 && r <= 8) H5Sget_simple_extent_dims(s, hd, NULL);
  if (r != want_rank)
    ps_die_all(PS_EXIT_ERROR, "%s: dataset %s has %d dimension%s, expected %d", file, name, r, r == 1 ? "" : "s",
               want_rank);
  H5T_class_t c = H5Tget_class(t);
  if (c != c1 && c != c2) {
    char tn[64];
    h5io_type_name(t, tn, sizeof tn);
    ps_die_all(PS_EXIT_ERROR, "%s: dataset %s has type %s, expected %s", file, name, tn, want_type);
  }
  for (int i = 0; i < r; i++) dims[i] = (int64_t)hd[i];
  H5Sclose(s);
  H5Tclose(t);
  return d;
}

void h5io_open_data(const char *path, ps_data_t *d) {
  memset(d, 0, sizeof *d);
  d->path = path;
  d->fid = h5io_open(path, 1);
  int64_t fd[2], idd[1];
  d->features = open_checked(d->fid, path, "/features", 2, H5T_FLOAT, H5T_FLOAT, "float32", fd);
  hid_t t = H5Dget_type(d->features);
  size_t tsz = H5Tget_size(t);
  H5Tclose(t);
  if (tsz != 4 && tsz != 8)
    ps_die_all(PS_EXIT_ERROR, "%s: dataset /features has type float%zu, expected float32", path, tsz * 8);
  d->n = fd[0];
  d->f = fd[1];
  if (d->f < 1) ps_die_all(PS_EXIT_ERROR, "%s: dataset /features has no columns", path);
  d->ids = open_checked(d->fid, path, "/customer_id", 1, H5T_INTEGER, H5T_INTEGER, "int64", idd);
  if (idd[0] != d->n)
    ps_die_all(PS_EXIT_ERROR, "%s: /customer_id has %lld rows but /features has %lld", path, (long long)idd[0],
               (long long)d->n);
  hid_t dcpl = H5Dget_create_plist(d->features);
  if (H5Pget_layout(dcpl) == H5D_CHUNKED) {
    hsize_t ch[2];
    H5Pget_chunk(dcpl, 2, ch);
    d->chunk_rows = (int64_t)ch[0];
  }
  H5Pclose(dcpl);
  int64_t nn = 0;
  d->feature_names = h5io_read_strings(d->fid, path, "/feature_names", &nn);
  if (nn != d->f)
    ps_die_all(PS_EXIT_ERROR, "%s: /feature_names has %lld names but /features has %lld columns", path,
               (long long)nn, (long long)d->f);
  int64_t v = 0;
  if (h5io_get_attr_i64(d->fid, "schema_version", &v)) {
    d->schema_version = (int)v;
    if (v > PS_SCHEMA_VERSION)
      ps_die_all(PS_EXIT_ERROR, "%s: schema_version %lld is newer than this propscore understands (%d)", path,
                 (long long)v, PS_SCHEMA_VERSION);
  }
}

void h5io_close_data(ps_data_t *d) {
  if (d->features > 0) H5Dclose(d->features);
  if (d->ids > 0) H5Dclose(d->ids);
  ps_free_strv(d->feature_names);
  h5io_close(d->fid);
  memset(d, 0, sizeof *d);
}

void h5io_read_labels(ps_data_t *d, const char *target, int64_t row0, int64_t n, double *out) {
  char name[512];
  snprintf(name, sizeof name, "/labels/%s", target);
  int64_t dims[1];
  hid_t ds = open_checked(d->fid, d->path, name, 1, H5T_INTEGER, H5T_FLOAT, "uint8 (0/1)", dims);
  if (dims[0] != d->n)
    ps_die_all(PS_EXIT_ERROR, "%s: %s has %lld rows but /features has %lld", d->path, name, (long long)dims[0],
               (long long)d->n);
  h5io_read_range(ds, H5T_NATIVE_DOUBLE, row0, n, 0, out);
  H5Dclose(ds);
}

static herr_t list_cb(hid_t g, const char *name, const H5L_info_t *info, void *data) {
  char ***acc = data;
  int n = 0;
  while ((*acc)[n]) n++;
  *acc = ps_realloc(*acc, sizeof(char *) * (size_t)(n + 2));
  (*acc)[n] = ps_strdup(name);
  (*acc)[n + 1] = NULL;
  return 0;
}
char **h5io_list_group(hid_t fid, const char *group, int *count) {
  char **v = ps_calloc(1, sizeof(char *));
  *count = 0;
  if (!h5io_exists(fid, group)) return v;
  H5_CHECK(H5Literate_by_name(fid, group, H5_INDEX_NAME, H5_ITER_INC, NULL, list_cb, &v, H5P_DEFAULT));
  while (v[*count]) (*count)++;
  return v;
}

static int file_is_parallel(hid_t obj) {
  hid_t fid = H5Iget_file_id(obj);
  hid_t fapl = H5Fget_access_plist(fid);
  int par = H5Pget_driver(fapl) == H5FD_MPIO;
  H5Pclose(fapl);
  H5Fclose(fid);
  return par;
}

void h5io_xfer_rows(hid_t dset, hid_t memtype, int64_t row0, int64_t nrows, int64_t ncols, void *buf, int write) {
  int rank = ncols > 0 ? 2 : 1;
  hsize_t start[2] = {(hsize_t)row0, 0}, count[2] = {(hsize_t)nrows, (hsize_t)ncols};
  hid_t fs = H5Dget_space(dset);
  H5_CHECK(fs);
  hid_t ms;
  static char dummy[16];
  if (nrows > 0) {
    H5_CHECK(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL));
    ms = H5Screate_simple(rank, count, NULL);
  } else {
    hsize_t one[2] = {1, 1};
    H5_CHECK(H5Sselect_none(fs));
    ms = H5Screate_simple(rank, one, NULL);
    H5_CHECK(H5Sselect_none(ms));
    buf = dummy;
  }
  hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
  if (file_is_parallel(dset)) H5_CHECK(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE));
  herr_t rc = write ? H5Dwrite(dset, memtype, ms, fs, dxpl, buf) : H5Dread(dset, memtype, ms, fs, dxpl, buf);
  if (rc < 0) {
    char why[512], name[256] = "?", file[1024] = "?";
    snprintf(why, sizeof why, "%s", ps_h5_last_error());
    H5Iget_name(dset, name, sizeof name);
    H5Fget_name(dset, file, sizeof file);
    /* One rank may fail alone inside a collective transfer: abort the job. */
    ps_die_local("%s: %s dataset %s rows %lld..%lld: %s", file, write ? "writing" : "reading", name, (long long)row0,
                 (long long)(row0 + nrows - 1), why);
  }
  H5Pclose(dxpl);
  H5Sclose(ms);
  H5Sclose(fs);
}

int64_t h5io_block_rows(int64_t row_bytes, int64_t chunk_rows) {
  int64_t target = (int64_t)64 << 20, rows = target / (row_bytes > 0 ? row_bytes : 1);
  if (rows < 1) rows = 1;
  if (chunk_rows > 0 && rows > chunk_rows) rows -= rows % chunk_rows; /* whole chunks */
  return rows;
}

int64_t h5io_common_blocks(int64_t nrows, int64_t block_rows) {
  double nb = (double)((nrows + block_rows - 1) / block_rows);
  comm_allreduce_max_f64(&nb, 1);
  return (int64_t)nb;
}

void h5io_read_range(hid_t dset, hid_t memtype, int64_t row0, int64_t nrows, int64_t ncols, void *buf) {
  size_t esz = H5Tget_size(memtype);
  int64_t row_bytes = (int64_t)esz * (ncols > 0 ? ncols : 1);
  int64_t br = h5io_block_rows(row_bytes, 0);
  int64_t nb = h5io_common_blocks(nrows, br);
  for (int64_t b = 0; b < nb; b++) {
    int64_t r0 = b * br, m = nrows - r0;
    if (m > br) m = br;
    if (m < 0) m = 0;
    h5io_xfer_rows(dset, memtype, row0 + r0, m, ncols, (char *)buf + (size_t)(r0 * row_bytes), 0);
  }
}

static hid_t untimed_dcpl(void) {
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5_CHECK(H5Pset_obj_track_times(dcpl, 0));
  return dcpl;
}

hid_t h5io_create_dataset(hid_t loc, const char *name, hid_t type, int rank, const int64_t *dims,
                          const int64_t *chunk) {
  hsize_t hd[8] = {0}, hc[8] = {0};
  for (int i = 0; i < rank && i < 8; i++) {
    hd[i] = (hsize_t)dims[i];
    if (chunk) hc[i] = (hsize_t)chunk[i];
  }
  hid_t sp = H5Screate_simple(rank, hd, NULL);
  hid_t dcpl = untimed_dcpl();
  if (chunk) H5_CHECK(H5Pset_chunk(dcpl, rank, hc));
  /* Written in full by us: skip the fill-value pass. */
  H5_CHECK(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER));
  hid_t d = H5Dcreate2(loc, name, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (d < 0) ps_die_local("cannot create dataset %s: %s", name, ps_h5_last_error());
  H5Pclose(dcpl);
  H5Sclose(sp);
  return d;
}

hid_t h5io_create_group(hid_t loc, const char *name) {
  hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
  H5_CHECK(H5Pset_obj_track_times(gcpl, 0));
  hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
  if (g < 0) ps_die_local("cannot create group %s: %s", name, ps_h5_last_error());
  H5Pclose(gcpl);
  return g;
}

void h5io_write_small(hid_t loc, const char *name, hid_t type, int rank, const int64_t *dims, const void *buf) {
  hid_t d = h5io_create_dataset(loc, name, type, rank, dims, NULL);
  int par = file_is_parallel(d);
  int64_t rows = dims[0], cols = rank == 2 ? dims[1] : 0;
  if (par) h5io_xfer_rows(d, type, 0, ps_rank == 0 ? rows : 0, cols, (void *)buf, 1);
  else H5_CHECK(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf));
  H5Dclose(d);
}

void h5io_write_strings(hid_t loc, const char *name, char *const *v, int64_t n) {
  size_t maxlen = 1;
  for (int64_t i = 0; i < n; i++) {
    size_t l = strlen(v[i]);
    if (l > maxlen) maxlen = l;
  }
  size_t w = maxlen + 1;
  char *buf = ps_calloc((size_t)(n > 0 ? n : 1), w);
  for (int64_t i = 0; i < n; i++) memcpy(buf + (size_t)i * w, v[i], strlen(v[i]));
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, w);
  H5Tset_strpad(t, H5T_STR_NULLTERM);
  H5Tset_cset(t, H5T_CSET_UTF8);
  int64_t dims[1] = {n};
  h5io_write_small(loc, name, t, 1, dims, buf);
  H5Tclose(t);
  free(buf);
}

char **h5io_read_strings(hid_t loc, const char *file, const char *name, int64_t *count) {
  int64_t dims[1];
  hid_t d = open_checked(loc, file, name, 1, H5T_STRING, H5T_STRING, "string", dims);
  int64_t n = dims[0];
  char **v = ps_calloc((size_t)n + 1, sizeof(char *));
  hid_t ft = H5Dget_type(d);
  hid_t mt = H5Tcopy(H5T_C_S1);
  H5Tset_cset(mt, H5Tget_cset(ft));
  if (H5Tis_variable_str(ft) > 0) {
    H5Tset_size(mt, H5T_VARIABLE);
    char **raw = ps_calloc((size_t)n + 1, sizeof(char *));
    if (n > 0) H5_CHECK(H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw));
    for (int64_t i = 0; i < n; i++) v[i] = ps_strdup(raw[i] ? raw[i] : "");
    if (n > 0) {
      hid_t sp = H5Dget_space(d);
      H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, raw);
      H5Sclose(sp);
    }
    free(raw);
  } else {
    size_t w = H5Tget_size(ft);
    H5Tset_size(mt, w);
    H5Tset_strpad(mt, H5T_STR_NULLPAD);
    char *buf = ps_calloc((size_t)n + 1, w);
    if (n > 0) H5_CHECK(H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf));
    for (int64_t i = 0; i < n; i++) {
      char *s = ps_calloc(w + 1, 1);
      memcpy(s, buf + (size_t)i * w, w);
      v[i] = s;
    }
    free(buf);
  }
  H5Tclose(mt);
  H5Tclose(ft);
  H5Dclose(d);
  *count = n;
  return v;
}

void h5io_read_small(hid_t loc, const char *file, const char *name, hid_t memtype, void *buf, int64_t expect) {
  if (!h5io_exists(loc, name)) ps_die_all(PS_EXIT_ERROR, "%s: dataset %s not found", file, name);
  hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
  hid_t s = H5Dget_space(d);
  int64_t n = (int64_t)H5Sget_simple_extent_npoints(s);
  if (n != expect)
    ps_die_all(PS_EXIT_ERROR, "%s: dataset %s has %lld values, expected %lld", file, name, (long long)n,
               (long long)expect);
  if (n > 0 && H5Dread(d, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
    ps_die_all(PS_EXIT_ERROR, "%s: cannot read dataset %s: %s", file, name, ps_h5_last_error());
  H5Sclose(s);
  H5Dclose(d);
}

static void attr_write(hid_t loc, const char *name, hid_t type, const void *v) {
  if (H5Aexists(loc, name) > 0) H5Adelete(loc, name);
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
  H5_CHECK(a);
  H5_CHECK(H5Awrite(a, type, v));
  H5Aclose(a);
  H5Sclose(sp);
}
void h5io_attr_str(hid_t loc, const char *name, const char *value) {
  /* Variable-length UTF-8: h5py and h5dump read it as a plain string. */
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  attr_write(loc, name, t, &value);
  H5Tclose(t);
}
void h5io_attr_f64(hid_t loc, const char *name, double value) { attr_write(loc, name, H5T_NATIVE_DOUBLE, &value); }
void h5io_attr_i64(hid_t loc, const char *name, int64_t value) { attr_write(loc, name, H5T_NATIVE_INT64, &value); }

static int attr_read(hid_t loc, const char *name, hid_t type, void *v) {
  if (H5Aexists(loc, name) <= 0) return 0;
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  int ok = H5Aread(a, type, v) >= 0;
  H5Aclose(a);
  return ok;
}
int h5io_get_attr_i64(hid_t loc, const char *name, int64_t *value) {
  return attr_read(loc, name, H5T_NATIVE_INT64, value);
}
int h5io_get_attr_f64(hid_t loc, const char *name, double *value) {
  return attr_read(loc, name, H5T_NATIVE_DOUBLE, value);
}
char *h5io_get_attr_str(hid_t loc, const char *name) {
  if (H5Aexists(loc, name) <= 0) return NULL;
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  hid_t ft = H5Aget_type(a);
  char *out = NULL;
  if (H5Tget_class(ft) == H5T_STRING) {
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_cset(mt, H5Tget_cset(ft));
    if (H5Tis_variable_str(ft) > 0) {
      H5Tset_size(mt, H5T_VARIABLE);
      char *s = NULL;
      if (H5Aread(a, mt, &s) >= 0 && s) {
        out = ps_strdup(s);
        H5free_memory(s);
      }
    } else {
      size_t w = H5Tget_size(ft);
      H5Tset_size(mt, w);
      out = ps_calloc(w + 1, 1);
      H5Aread(a, mt, out);
    }
    H5Tclose(mt);
  }
  H5Tclose(ft);
  H5Aclose(a);
  return out;
}
