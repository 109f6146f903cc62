/* h5.h: every HDF5 access of propscore, behind opaque handles, so that no
 * file outside host/io includes hdf5.h. Files, groups and datasets are
 * ps_h5_t; memory types are ps_dtype_t. Failures a user can cause end in
 * one line naming the file and the dataset (and rows); collective calls
 * are marked. Parallel files use MPI-IO through comm's communicator. */
#ifndef PS_H5_H
#define PS_H5_H
#include <stddef.h>
#include <stdint.h>

#define PS_SCHEMA_VERSION 1

typedef int64_t ps_h5_t; /* an open HDF5 file, group or dataset; < 0: none */
typedef enum { PS_F32, PS_F64, PS_I64, PS_I32, PS_U8, PS_I16 } ps_dtype_t;
size_t h5_dtype_size(ps_dtype_t t);

/* Kinds of stored types a dataset may have (h5_dset_open). */
enum { PS_KIND_INT = 1, PS_KIND_FLOAT = 2, PS_KIND_STRING = 4 };

void h5_init(void); /* silence HDF5's own error printing: we report */

/* Open an existing file read-only (collective if parallel). Dies with one
 * line naming the file when it is missing, not a regular file (a FIFO, a
 * directory), unreadable, not HDF5, or damaged. */
ps_h5_t h5_open(const char *path, int parallel);
/* Reopen a file of ours for writing, collectively (to resume it). */
ps_h5_t h5_open_rw(const char *path);
/* Create (truncate) a file for writing; parallel = MPI-IO, collective. */
ps_h5_t h5_create(const char *path, int parallel);
/* Close a file, group or dataset (< 0: nothing). */
void h5_close(ps_h5_t id);
void h5_flush(ps_h5_t fid);

int h5_exists(ps_h5_t loc, const char *name); /* "/a/b" with a missing "/a" is simply absent */
int h5_is_dataset(ps_h5_t loc, const char *name);
ps_h5_t h5_group_create(ps_h5_t loc, const char *name);
ps_h5_t h5_group_open(ps_h5_t loc, const char *file, const char *name); /* dies naming file/group */
/* Names of the datasets directly under `group` (NULL-terminated, sorted by
 * name); subgroups and other objects are skipped. Empty if no such group. */
char **h5_list_datasets(ps_h5_t loc, const char *group, int *count);

/* Datasets: no timestamps (files are reproducible), chunked if chunk != NULL. */
ps_h5_t h5_dset_create(ps_h5_t loc, const char *name, ps_dtype_t type, int rank, const int64_t *dims,
                       const int64_t *chunk);
/* Open a dataset of `rank` dimensions whose stored type is one of `kinds`
 * (`want` names it in messages, e.g. "float32"); fills dims. Dies naming
 * file and dataset when it is missing, of another shape or type, or stored
 * with a filter this HDF5 lacks (LZF, ...). */
ps_h5_t h5_dset_open(ps_h5_t loc, const char *file, const char *name, int rank, int kinds, const char *want,
                     int64_t *dims);
/* Rows per chunk of a chunked dataset (0 if contiguous). */
int64_t h5_chunk_rows(ps_h5_t dset);
/* 0 if some chunks of the dataset were never written (a sparse file):
 * they read as the fill value. */
int h5_fully_written(ps_h5_t dset);
/* Stored element size in bytes. */
size_t h5_stored_size(ps_h5_t dset);

/* One collective transfer of rows [row0, row0+nrows) x ncols: every rank
 * calls it the same number of times (nrows may be 0). 2-D if ncols > 0,
 * else the dataset is 1-D. A failure aborts the job naming file, dataset
 * and rows (one rank may fail alone inside a collective). */
void h5_xfer_rows(ps_h5_t dset, ps_dtype_t type, int64_t row0, int64_t nrows, int64_t ncols, void *buf, int write);
/* Read a whole per-rank range in collective blocks of about 64 MiB. */
void h5_read_range(ps_h5_t dset, ps_dtype_t type, int64_t row0, int64_t nrows, int64_t ncols, void *buf);
/* Rows per I/O block for rows of `row_bytes` bytes (about 64 MiB, >= 1). */
int64_t h5_block_rows(int64_t row_bytes, int64_t chunk_rows);
/* The same number of blocks on every rank: max over ranks (collective). */
int64_t h5_common_blocks(int64_t nrows, int64_t block_rows);

/* Small datasets: in a parallel file created collectively and written by
 * rank 0; in a serial file by the caller. */
void h5_write_small(ps_h5_t loc, const char *name, ps_dtype_t type, int rank, const int64_t *dims, const void *buf);
void h5_write_strings(ps_h5_t loc, const char *name, char *const *v, int64_t n);
/* Strings of a 1-D string dataset (fixed or variable length). */
char **h5_read_strings(ps_h5_t loc, const char *file, const char *name, int64_t *count);
/* The same for column names: dies (collective) naming the file, the dataset,
 * the name and both columns if a name is there twice. */
char **h5_read_names(ps_h5_t loc, const char *file, const char *name, int64_t *count);
/* Read a whole small dataset; dies naming file/dataset unless it has
 * exactly `expect` values. */
void h5_read_small(ps_h5_t loc, const char *file, const char *name, ps_dtype_t type, void *buf, int64_t expect);
/* Number of values of a dataset (-1 if absent). */
int64_t h5_count(ps_h5_t loc, const char *name);

void h5_attr_str(ps_h5_t loc, const char *name, const char *value);
void h5_attr_f64(ps_h5_t loc, const char *name, double value);
void h5_attr_i64(ps_h5_t loc, const char *name, int64_t value);
int h5_get_attr_i64(ps_h5_t loc, const char *name, int64_t *value); /* 0 if absent */
int h5_get_attr_f64(ps_h5_t loc, const char *name, double *value);  /* 0 if absent */
char *h5_get_attr_str(ps_h5_t loc, const char *name);                /* NULL if absent */

/* The innermost message of the current HDF5 error stack ("" if none). */
const char *h5_last_error(void);
#endif
