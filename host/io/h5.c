/* h5.c: HDF5 access for propscore (see h5.h). The only file that includes
 * hdf5.h. */
#define _POSIX_C_SOURCE 200809L
#include "io/h5.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "comm/comm.h"
#include "core/util.h"

/* Internal failures (property lists and the like): the call, HDF5's
 * message and where. */
static void h5_fail(const char *expr, const char *file, int line) {
  ps_die_local("HDF5 call %s failed: %s [%s:%d]", expr, h5_last_error(), file, line);
}
#define H5_CHECK(x)                                      \
  do {                                                   \
    if ((x) < 0) h5_fail(#x, __FILE__, __LINE__);        \
  } while (0)

/* A failure on an object of a file (a damaged or full file, say): one line
 * naming the file, the object and what failed, with HDF5's own message. */
static void obj_fail(hid_t obj, const char *what) {
  char why[512], name[256] = "", file[1024] = "?";
  snprintf(why, sizeof why, "%s", h5_last_error());
  if (obj >= 0) {
    H5Fget_name(obj, file, sizeof file);
    H5Iget_name(obj, name, sizeof name);
  }
  ps_die_local("%s: %s%s%s: %s", file, what, name[0] ? " " : "", name, why[0] ? why : "HDF5 error");
}
#define H5_CHECK_OBJ(x, obj, what)                       \
  do {                                                   \
    if ((x) < 0) obj_fail((obj), (what));                \
  } while (0)

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data) {
  char *out = data;
  if (n == 0 && e->desc) snprintf(out, 512, "%s", e->desc);
  return 0;
}
const char *h5_last_error(void) {
  static char msg[512];
  msg[0] = 0;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_cb, msg);
  return msg;
}

void h5_init(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

size_t h5_dtype_size(ps_dtype_t t) {
  switch (t) {
    case PS_F32: case PS_I32: return 4;
    case PS_F64: case PS_I64: return 8;
    case PS_U8: return 1;
    case PS_I16: return 2;
  }
  return 1;
}
static hid_t mem_type(ps_dtype_t t) {
  switch (t) {
    case PS_F32: return H5T_NATIVE_FLOAT;
    case PS_F64: return H5T_NATIVE_DOUBLE;
    case PS_I64: return H5T_NATIVE_INT64;
    case PS_I32: return H5T_NATIVE_INT32;
    case PS_U8: return H5T_NATIVE_UINT8;
    case PS_I16: return H5T_NATIVE_INT16;
  }
  return H5T_NATIVE_UINT8;
}
static hid_t file_type(ps_dtype_t t) {
  switch (t) {
    case PS_F32: return H5T_IEEE_F32LE;
    case PS_F64: return H5T_IEEE_F64LE;
    case PS_I64: return H5T_STD_I64LE;
    case PS_I32: return H5T_STD_I32LE;
    case PS_U8: return H5T_STD_U8LE;
    case PS_I16: return H5T_STD_I16LE;
  }
  return H5T_STD_U8LE;
}

static hid_t fapl_for(int parallel) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5_CHECK(fapl);
  const MPI_Comm *world = comm_mpi_comm();
  if (parallel && world) {
    H5_CHECK(H5Pset_fapl_mpio(fapl, *world, MPI_INFO_NULL));
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

static int is_parallel(int parallel) { return parallel && comm_mpi_comm() != NULL; }

/* Collective "did any rank fail?" for parallel opens. */
static int any_rank(int bad, int parallel) {
  if (!is_parallel(parallel)) return bad;
  int64_t v = bad;
  comm_allreduce_max_i64(&v, 1);
  return v != 0;
}

ps_h5_t h5_open(const char *path, int parallel) {
  /* Rank 0 looks first, so a missing file is one clean message. */
  int status = 0; /* 0 ok, 1 missing, 2 not a regular file, 3 unreadable, 4 not hdf5 */
  if (ps_rank == 0 || !is_parallel(parallel)) {
    struct stat st;
    if (stat(path, &st) != 0) status = 1;
    else if (!S_ISREG(st.st_mode)) status = 2;
    else if (access(path, R_OK) != 0) status = 3;
    else if (H5Fis_hdf5(path) <= 0) status = 4;
  }
  if (is_parallel(parallel)) comm_bcast(&status, sizeof status, 0);
  if (status == 1) ps_die_all(PS_EXIT_ERROR, "%s: no such file", path);
  if (status == 2) ps_die_all(PS_EXIT_ERROR, "%s: not a regular file (a directory, FIFO or device)", path);
  if (status == 3) ps_die_all(PS_EXIT_ERROR, "%s: permission denied", path);
  if (status == 4) ps_die_all(PS_EXIT_ERROR, "%s: not an HDF5 file (or its header is damaged)", path);
  hid_t fapl = fapl_for(parallel);
  hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  char why[512];
  snprintf(why, sizeof why, "%s", fid < 0 ? h5_last_error() : ""); /* before the next call clears it */
  H5Pclose(fapl);
  if (any_rank(fid < 0, parallel))
    ps_die_all(PS_EXIT_ERROR, "%s: cannot open HDF5 file: %s", path, why[0] ? why : "damaged or truncated");
  return fid;
}

ps_h5_t h5_open_rw(const char *path) {
  hid_t fapl = fapl_for(1);
  hid_t fid = H5Fopen(path, H5F_ACC_RDWR, fapl);
  char why[512];
  snprintf(why, sizeof why, "%s", fid < 0 ? h5_last_error() : "");
  H5Pclose(fapl);
  if (any_rank(fid < 0, 1)) ps_die_all(PS_EXIT_ERROR, "%s: cannot reopen to resume: %s", path, why);
  return fid;
}

ps_h5_t h5_create(const char *path, int parallel) {
  hid_t fapl = fapl_for(parallel);
  hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
  H5_CHECK(H5Pset_obj_track_times(fcpl, 0)); /* root group: no timestamps, reproducible bytes */
  hid_t fid = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
  char why[512];
  snprintf(why, sizeof why, "%s", fid < 0 ? h5_last_error() : "");
  H5Pclose(fapl);
  H5Pclose(fcpl);
  int bad = any_rank(fid < 0, parallel);
  if (bad && is_parallel(parallel)) ps_die_all(PS_EXIT_ERROR, "%s: cannot create HDF5 file: %s", path, why);
  if (bad) ps_die_local("%s: cannot create HDF5 file: %s", path, why);
  return fid;
}

void h5_close(ps_h5_t id) {
  if (id < 0) return;
  switch (H5Iget_type(id)) {
    case H5I_FILE: H5_CHECK_OBJ(H5Fclose(id), -1, "closing the file"); break;
    case H5I_GROUP: H5_CHECK_OBJ(H5Gclose(id), -1, "closing a group"); break;
    case H5I_DATASET: H5_CHECK_OBJ(H5Dclose(id), -1, "closing a dataset"); break;
    default: H5_CHECK_OBJ(H5Oclose(id), -1, "closing an object"); break;
  }
}

void h5_flush(ps_h5_t fid) { H5_CHECK_OBJ(H5Fflush(fid, H5F_SCOPE_GLOBAL), fid, "flushing"); }

int h5_exists(ps_h5_t loc, const char *name) {
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

int h5_is_dataset(ps_h5_t loc, const char *name) {
  if (!h5_exists(loc, name)) return 0;
  H5O_info_t info;
  if (H5Oget_info_by_name(loc, name, &info, H5P_DEFAULT) < 0) return 0;
  return info.type == H5O_TYPE_DATASET;
}

ps_h5_t h5_group_create(ps_h5_t loc, const char *name) {
  hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
  H5_CHECK(H5Pset_obj_track_times(gcpl, 0));
  hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
  if (g < 0) obj_fail(loc, "creating a group in");
  H5Pclose(gcpl);
  return g;
}

ps_h5_t h5_group_open(ps_h5_t loc, const char *file, const char *name) {
  if (!h5_exists(loc, name)) ps_die_all(PS_EXIT_ERROR, "%s: group %s not found", file, name);
  hid_t g = H5Gopen2(loc, name, H5P_DEFAULT);
  if (g < 0) ps_die_all(PS_EXIT_ERROR, "%s: %s is not a readable group: %s", file, name, h5_last_error());
  return g;
}

typedef struct {
  char **v;
  int n;
} names_t;
static herr_t list_cb(hid_t g, const char *name, const H5L_info_t *info, void *data) {
  names_t *acc = data;
  H5O_info_t oi;
  if (info->type != H5L_TYPE_HARD || H5Oget_info_by_name(g, name, &oi, H5P_DEFAULT) < 0 ||
      oi.type != H5O_TYPE_DATASET)
    return 0; /* subgroups, soft links and named types are not datasets */
  acc->v = ps_realloc(acc->v, sizeof(char *) * (size_t)(acc->n + 2));
  acc->v[acc->n++] = ps_strdup(name);
  acc->v[acc->n] = NULL;
  return 0;
}
char **h5_list_datasets(ps_h5_t loc, const char *group, int *count) {
  names_t acc = {ps_calloc(1, sizeof(char *)), 0};
  if (h5_exists(loc, group))
    H5_CHECK_OBJ(H5Literate_by_name(loc, group, H5_INDEX_NAME, H5_ITER_INC, NULL, list_cb, &acc, H5P_DEFAULT), loc,
                 "listing the datasets of a group in");
  *count = acc.n;
  return acc.v;
}

/* Our datasets: no timestamps (reproducible bytes), and no fill-value pass
 * (every value is written by us). */
static hid_t untimed_dcpl(void) {
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5_CHECK(H5Pset_obj_track_times(dcpl, 0));
  H5_CHECK(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER));
  return dcpl;
}

ps_h5_t h5_dset_create(ps_h5_t loc, const char *name, ps_dtype_t type, int rank, const int64_t *dims,
                       const int64_t *chunk) {
  hsize_t hd[8] = {0}, hc[8] = {0};
  for (int i = 0; i < rank && i < 8; i++) {
    hd[i] = (hsize_t)dims[i];
    if (chunk) hc[i] = (hsize_t)chunk[i];
  }
  hid_t sp = H5Screate_simple(rank, hd, NULL);
  hid_t dcpl = untimed_dcpl();
  if (chunk) H5_CHECK(H5Pset_chunk(dcpl, rank, hc));
  hid_t d = H5Dcreate2(loc, name, file_type(type), sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (d < 0) obj_fail(loc, "creating a dataset in");
  H5Pclose(dcpl);
  H5Sclose(sp);
  return d;
}

static void type_name(hid_t type, char *buf, size_t n) {
  H5T_class_t c = H5Tget_class(type);
  size_t sz = H5Tget_size(type);
  switch (c) {
    case H5T_INTEGER: snprintf(buf, n, "%sint%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", sz * 8); break;
    case H5T_FLOAT: snprintf(buf, n, "float%zu", sz * 8); break;
    case H5T_STRING: snprintf(buf, n, "string"); break;
    case H5T_COMPOUND: snprintf(buf, n, "compound"); break;
    case H5T_ENUM: snprintf(buf, n, "enum"); break;
    default: snprintf(buf, n, "class %d", (int)c); break;
  }
}

/* Chunks never written (a sparse file) hold the fill value; MPI-IO's
 * collective read cannot express them, so such datasets are read
 * independently (HDF5 fills the gaps). h5_dset_open counts the chunks of
 * every chunked dataset it opens and remembers the sparse ones. */
#define MAX_SPARSE 64
static hid_t sparse[MAX_SPARSE];
static int nsparse;

static int count_is_short(hid_t d) {
  hid_t dcpl = H5Dget_create_plist(d);
  int chunked = H5Pget_layout(dcpl) == H5D_CHUNKED;
  hsize_t ch[8] = {0}, dims[8] = {0};
  int r = chunked ? H5Pget_chunk(dcpl, 8, ch) : 0;
  H5Pclose(dcpl);
  if (!chunked || r <= 0) return 0;
  hid_t sp = H5Dget_space(d);
  H5Sget_simple_extent_dims(sp, dims, NULL);
  hsize_t want = 1, have = 0;
  for (int i = 0; i < r; i++) want *= ch[i] ? (dims[i] + ch[i] - 1) / ch[i] : 1;
  herr_t e = H5Dget_num_chunks(d, sp, &have);
  H5Sclose(sp);
  return e >= 0 && have < want;
}

int h5_fully_written(ps_h5_t dset) {
  for (int i = 0; i < nsparse; i++)
    if (sparse[i] == dset) return 0;
  return 1;
}

/* Filters the data needs that this HDF5 does not have: name the first. */
static void check_filters(hid_t d, const char *file, const char *name) {
  hid_t dcpl = H5Dget_create_plist(d);
  int nf = H5Pget_nfilters(dcpl);
  for (int i = 0; i < nf; i++) {
    unsigned flags = 0, cd[8];
    size_t ncd = 8;
    char fname[64] = "";
    H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, sizeof fname, fname, NULL);
    if (id >= 0 && H5Zfilter_avail(id) <= 0) {
      H5Pclose(dcpl);
      ps_die_all(PS_EXIT_ERROR,
                 "%s: dataset %s is compressed with filter %d (%s), which this HDF5 does not have; "
                 "rewrite it uncompressed or with gzip (h5repack -f NONE)",
                 file, name, (int)id, id == 32000 ? "lzf" : fname[0] ? fname : "unknown");
    }
  }
  H5Pclose(dcpl);
}

ps_h5_t h5_dset_open(ps_h5_t loc, const char *file, const char *name, int rank, int kinds, const char *want,
                     int64_t *dims) {
  if (!h5_exists(loc, name)) ps_die_all(PS_EXIT_ERROR, "%s: dataset %s not found", file, name);
  if (!h5_is_dataset(loc, name)) ps_die_all(PS_EXIT_ERROR, "%s: %s is not a dataset", file, name);
  hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
  if (d < 0) ps_die_all(PS_EXIT_ERROR, "%s: %s is not a readable dataset: %s", file, name, h5_last_error());
  hid_t s = H5Dget_space(d), t = H5Dget_type(d);
  int r = H5Sget_simple_extent_ndims(s);
  hsize_t hd[8] = {0};
  if (r > 0 && r <= 8) H5Sget_simple_extent_dims(s, hd, NULL);
  if (r != rank)
    ps_die_all(PS_EXIT_ERROR, "%s: dataset %s has %d dimension%s, expected %d", file, name, r, r == 1 ? "" : "s", rank);
  H5T_class_t c = H5Tget_class(t);
  int ok = (c == H5T_INTEGER && (kinds & PS_KIND_INT)) || (c == H5T_FLOAT && (kinds & PS_KIND_FLOAT)) ||
           (c == H5T_STRING && (kinds & PS_KIND_STRING));
  if (!ok) {
    char tn[64];
    type_name(t, tn, sizeof tn);
    ps_die_all(PS_EXIT_ERROR, "%s: dataset %s has type %s, expected %s", file, name, tn, want);
  }
  for (int i = 0; i < r; i++) dims[i] = (int64_t)hd[i];
  H5Sclose(s);
  H5Tclose(t);
  check_filters(d, file, name);
  for (int i = 0; i < nsparse; i++) /* an id closed and reused */
    if (sparse[i] == d) sparse[i] = sparse[--nsparse];
  if (count_is_short(d) && nsparse < MAX_SPARSE) sparse[nsparse++] = d;
  return d;
}

int64_t h5_chunk_rows(ps_h5_t dset) {
  hid_t dcpl = H5Dget_create_plist(dset);
  int64_t rows = 0;
  if (H5Pget_layout(dcpl) == H5D_CHUNKED) {
    hsize_t ch[8] = {0};
    H5Pget_chunk(dcpl, 8, ch);
    rows = (int64_t)ch[0];
  }
  H5Pclose(dcpl);
  return rows;
}

size_t h5_stored_size(ps_h5_t dset) {
  hid_t t = H5Dget_type(dset);
  size_t sz = H5Tget_size(t);
  H5Tclose(t);
  return sz;
}

static int file_is_parallel(hid_t obj) {
  hid_t fid = H5Iget_file_id(obj);
  hid_t fapl = H5Fget_access_plist(fid);
  int par = H5Pget_driver(fapl) == H5FD_MPIO;
  H5Pclose(fapl);
  H5Fclose(fid);
  return par;
}

/* Fault injection for tests: PROPSCORE_FAULT_IO=write:N:R makes rank R's
 * N-th row-block write fail as a full disk would. */
static int fault_write(void) {
  static long count = 0;
  const char *spec = getenv("PROPSCORE_FAULT_IO");
  if (!spec || strncmp(spec, "write:", 6)) return 0;
  char *end = NULL;
  long at = strtol(spec + 6, &end, 10);
  int rank = end && *end == ':' ? atoi(end + 1) : 0;
  return ps_rank == rank && ++count == at;
}

/* Memory type of a transfer: an int64 read of a uint64 dataset (customer ids)
 * takes the 8 bytes as they are -- a conversion would clip every id >= 2^63
 * to 2^63 - 1, and distinct ids would read as repeats. */
static hid_t xfer_type(hid_t dset, ps_dtype_t type, int write) {
  if (write || type != PS_I64) return mem_type(type);
  hid_t t = H5Dget_type(dset);
  int u64 = t >= 0 && H5Tget_class(t) == H5T_INTEGER && H5Tget_sign(t) == H5T_SGN_NONE && H5Tget_size(t) == 8;
  if (t >= 0) H5Tclose(t);
  return u64 ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64;
}

void h5_xfer_rows(ps_h5_t dset, ps_dtype_t type, int64_t row0, int64_t nrows, int64_t ncols, void *buf, int write) {
  int rank = ncols > 0 ? 2 : 1;
  hsize_t start[2] = {(hsize_t)row0, 0}, count[2] = {(hsize_t)nrows, (hsize_t)ncols};
  hid_t fs = H5Dget_space(dset);
  H5_CHECK_OBJ(fs, dset, "reading the shape of");
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
  if (file_is_parallel(dset))
    H5_CHECK(H5Pset_dxpl_mpio(dxpl, write || h5_fully_written(dset) ? H5FD_MPIO_COLLECTIVE : H5FD_MPIO_INDEPENDENT));
  int faulty = write && fault_write();
  herr_t rc = faulty ? -1
              : write ? H5Dwrite(dset, mem_type(type), ms, fs, dxpl, buf)
                      : H5Dread(dset, xfer_type(dset, type, 0), ms, fs, dxpl, buf);
  if (rc < 0) {
    char why[512], name[256] = "?", file[1024] = "?";
    snprintf(why, sizeof why, "%s", faulty ? "No space left on device (PROPSCORE_FAULT_IO)" : h5_last_error());
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

int64_t h5_block_rows(int64_t row_bytes, int64_t chunk_rows) {
  int64_t target = (int64_t)64 << 20, rows = target / (row_bytes > 0 ? row_bytes : 1);
  if (rows < 1) rows = 1;
  if (chunk_rows > 0 && rows > chunk_rows) rows -= rows % chunk_rows; /* whole chunks */
  return rows;
}

int64_t h5_common_blocks(int64_t nrows, int64_t block_rows) {
  int64_t nb = (nrows + block_rows - 1) / block_rows;
  comm_allreduce_max_i64(&nb, 1);
  return nb;
}

void h5_read_range(ps_h5_t dset, ps_dtype_t type, int64_t row0, int64_t nrows, int64_t ncols, void *buf) {
  int64_t row_bytes = (int64_t)h5_dtype_size(type) * (ncols > 0 ? ncols : 1);
  int64_t br = h5_block_rows(row_bytes, 0);
  int64_t nb = h5_common_blocks(nrows, br);
  for (int64_t b = 0; b < nb; b++) {
    int64_t r0 = b * br, m = nrows - r0;
    if (m > br) m = br;
    if (m < 0) m = 0;
    h5_xfer_rows(dset, type, row0 + r0, m, ncols, (char *)buf + (size_t)(r0 > 0 ? r0 : 0) * (size_t)row_bytes, 0);
  }
}

void h5_write_small(ps_h5_t loc, const char *name, ps_dtype_t type, int rank, const int64_t *dims, const void *buf) {
  hid_t d = h5_dset_create(loc, name, type, rank, dims, NULL);
  int64_t rows = dims[0], cols = rank == 2 ? dims[1] : 0;
  if (rows == 0 || (rank == 2 && cols == 0)) {
    /* nothing to write (an empty dataset has no storage to write to) */
  } else if (file_is_parallel(d)) {
    h5_xfer_rows(d, type, 0, ps_rank == 0 ? rows : 0, cols, (void *)buf, 1);
  } else
    H5_CHECK_OBJ(H5Dwrite(d, mem_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), d, "writing");
  H5Dclose(d);
}

static hid_t string_type(size_t w) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, w);
  H5Tset_strpad(t, H5T_STR_NULLTERM);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

void h5_write_strings(ps_h5_t loc, const char *name, char *const *v, int64_t n) {
  size_t maxlen = 1;
  for (int64_t i = 0; i < n; i++) {
    size_t l = strlen(v[i]);
    if (l > maxlen) maxlen = l;
  }
  size_t w = maxlen + 1;
  char *buf = ps_calloc((size_t)(n > 0 ? n : 1), w);
  for (int64_t i = 0; i < n; i++) memcpy(buf + (size_t)i * w, v[i], strlen(v[i]));
  hid_t t = string_type(w);
  hsize_t hd[1] = {(hsize_t)n};
  hid_t sp = H5Screate_simple(1, hd, NULL);
  hid_t dcpl = untimed_dcpl();
  hid_t d = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (d < 0) obj_fail(loc, "creating a dataset in");
  if (file_is_parallel(d)) {
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(1, hd, NULL);
    if (ps_rank != 0 || n == 0) {
      H5Sselect_none(fs);
      H5Sselect_none(ms);
    }
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5_CHECK(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE));
    H5_CHECK_OBJ(H5Dwrite(d, t, ms, fs, dxpl, buf), d, "writing");
    H5Pclose(dxpl);
    H5Sclose(ms);
    H5Sclose(fs);
  } else if (n > 0) {
    H5_CHECK_OBJ(H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), d, "writing");
  }
  H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(sp);
  H5Tclose(t);
  free(buf);
}

char **h5_read_strings(ps_h5_t loc, const char *file, const char *name, int64_t *count) {
  int64_t dims[1];
  hid_t d = h5_dset_open(loc, file, name, 1, PS_KIND_STRING, "string", dims);
  int64_t n = dims[0];
  char **v = ps_calloc((size_t)n + 1, sizeof(char *));
  hid_t ft = H5Dget_type(d);
  hid_t mt = H5Tcopy(H5T_C_S1);
  H5Tset_cset(mt, H5Tget_cset(ft));
  int ok = 1;
  if (H5Tis_variable_str(ft) > 0) {
    H5Tset_size(mt, H5T_VARIABLE);
    char **raw = ps_calloc((size_t)n + 1, sizeof(char *));
    if (n > 0) ok = H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) >= 0;
    for (int64_t i = 0; i < n; i++) v[i] = ps_strdup(ok && raw[i] ? raw[i] : "");
    if (n > 0 && ok) {
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
    if (n > 0) ok = H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
    for (int64_t i = 0; i < n; i++) {
      char *s = ps_calloc(w + 1, 1);
      memcpy(s, buf + (size_t)i * w, w);
      v[i] = s;
    }
    free(buf);
  }
  if (!ok) ps_die_all(PS_EXIT_ERROR, "%s: cannot read dataset %s: %s", file, name, h5_last_error());
  H5Tclose(mt);
  H5Tclose(ft);
  H5Dclose(d);
  *count = n;
  return v;
}

/* Sort key for h5_read_names: the name, then the column. */
static char *const *sort_names;
static int by_name(const void *a, const void *b) {
  int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
  int c = strcmp(sort_names[i], sort_names[j]);
  return c ? c : (i > j) - (i < j);
}

char **h5_read_names(ps_h5_t loc, const char *file, const char *name, int64_t *count) {
  char **v = h5_read_strings(loc, file, name, count);
  int64_t n = *count, *ix = ps_malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1)), first = -1, second = -1;
  for (int64_t i = 0; i < n; i++) ix[i] = i;
  sort_names = v;
  qsort(ix, (size_t)n, sizeof *ix, by_name);
  for (int64_t i = 1; i < n; i++) /* the pair whose second column comes first */
    if (!strcmp(v[ix[i - 1]], v[ix[i]]) && (second < 0 || ix[i] < second)) first = ix[i - 1], second = ix[i];
  free(ix);
  if (second >= 0)
    ps_die_all(PS_EXIT_ERROR, "%s: dataset %s names '%s' twice (columns %lld and %lld): names must be unique", file,
               name, v[second], (long long)first, (long long)second);
  return v;
}

int64_t h5_count(ps_h5_t loc, const char *name) {
  if (!h5_is_dataset(loc, name)) return -1;
  hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
  if (d < 0) return -1;
  hid_t s = H5Dget_space(d);
  int64_t n = (int64_t)H5Sget_simple_extent_npoints(s);
  H5Sclose(s);
  H5Dclose(d);
  return n;
}

void h5_read_small(ps_h5_t loc, const char *file, const char *name, ps_dtype_t type, void *buf, int64_t expect) {
  if (!h5_exists(loc, name)) ps_die_all(PS_EXIT_ERROR, "%s: dataset %s not found", file, name);
  int64_t n = h5_count(loc, name);
  if (n < 0) ps_die_all(PS_EXIT_ERROR, "%s: %s is not a readable dataset", file, name);
  if (n != expect)
    ps_die_all(PS_EXIT_ERROR, "%s: dataset %s has %lld values, expected %lld", file, name, (long long)n,
               (long long)expect);
  hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
  if (n > 0 && H5Dread(d, mem_type(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
    ps_die_all(PS_EXIT_ERROR, "%s: cannot read dataset %s: %s", file, name, h5_last_error());
  H5Dclose(d);
}

static void attr_write(hid_t loc, const char *name, hid_t type, const void *v) {
  if (H5Aexists(loc, name) > 0) H5Adelete(loc, name);
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
  H5_CHECK_OBJ(a, loc, "creating an attribute of");
  H5_CHECK_OBJ(H5Awrite(a, type, v), loc, "writing an attribute of");
  H5Aclose(a);
  H5Sclose(sp);
}
void h5_attr_str(ps_h5_t loc, const char *name, const char *value) {
  /* Variable-length UTF-8: h5py and h5dump read it as a plain string. */
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  attr_write(loc, name, t, &value);
  H5Tclose(t);
}
void h5_attr_f64(ps_h5_t loc, const char *name, double value) { attr_write(loc, name, H5T_NATIVE_DOUBLE, &value); }
void h5_attr_i64(ps_h5_t loc, const char *name, int64_t value) { attr_write(loc, name, H5T_NATIVE_INT64, &value); }

static int attr_read(hid_t loc, const char *name, hid_t type, void *v) {
  if (H5Aexists(loc, name) <= 0) return 0;
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  if (a < 0) return 0;
  int ok = H5Aread(a, type, v) >= 0;
  H5Aclose(a);
  return ok;
}
int h5_get_attr_i64(ps_h5_t loc, const char *name, int64_t *value) { return attr_read(loc, name, H5T_NATIVE_INT64, value); }
int h5_get_attr_f64(ps_h5_t loc, const char *name, double *value) { return attr_read(loc, name, H5T_NATIVE_DOUBLE, value); }

char *h5_get_attr_str(ps_h5_t loc, const char *name) {
  if (H5Aexists(loc, name) <= 0) return NULL;
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  if (a < 0) return NULL;
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
      if (H5Aread(a, mt, out) < 0) {
        free(out);
        out = NULL;
      }
    }
    H5Tclose(mt);
  }
  H5Tclose(ft);
  H5Aclose(a);
  return out;
}
