/* h5io.h: everything that touches HDF5. Opening and validating input files
 * against the schema (datasets/SCHEMA.md), collective row-block transfers
 * (each rank its own hyperslab), small metadata datasets and attributes. */
#ifndef PS_H5IO_H
#define PS_H5IO_H
#include <hdf5.h>
#include <stdint.h>

#define PS_SCHEMA_VERSION 1

void h5io_init(void); /* silence HDF5's own error printing: we report */

/* Open an existing file (collective if parallel). Dies with a one-line
 * message naming the file when it is missing or not HDF5. */
hid_t h5io_open(const char *path, int parallel);
/* Reopen a file of ours for writing, collectively (to resume it). */
hid_t h5io_open_rw(const char *path);
/* Create (truncate) a file for writing; parallel = MPI-IO collective. */
hid_t h5io_create(const char *path, int parallel);
void h5io_close(hid_t fid);

/* An input feature file, validated against the schema. */
typedef struct {
  const char *path;
  hid_t fid;
  hid_t features;      /* /features [N,F] */
  hid_t ids;           /* /customer_id [N] */
  int64_t n, f;
  int64_t chunk_rows;  /* 0 if contiguous */
  char **feature_names;/* F strings */
  int schema_version;  /* 0 if the attribute is absent */
} ps_data_t;
void h5io_open_data(const char *path, ps_data_t *d);
void h5io_close_data(ps_data_t *d);
/* Labels of `target` ([N] in {0,1}) for rows [row0, row0+n): as float64 so
 * that integer and float files, NaN and Inf are all seen. Collective. */
void h5io_read_labels(ps_data_t *d, const char *target, int64_t row0, int64_t n, double *out);
/* Names under /labels (NULL-terminated, sorted as stored). */
char **h5io_list_group(hid_t fid, const char *group, int *count);

int h5io_exists(hid_t loc, const char *name);
/* "float32", "int64", "string", ... for error messages. */
void h5io_type_name(hid_t type, char *buf, size_t n);

/* One collective transfer of rows [row0, row0+nrows) x ncols: every rank
 * calls it the same number of times (nrows may be 0). 2-D if ncols > 0,
 * else the dataset is 1-D. */
void h5io_xfer_rows(hid_t dset, hid_t memtype, int64_t row0, int64_t nrows, int64_t ncols, void *buf,
                    int write);
/* Read a whole per-rank range in collective blocks of about 64 MiB. */
void h5io_read_range(hid_t dset, hid_t memtype, int64_t row0, int64_t nrows, int64_t ncols, void *buf);
/* Rows per I/O block for rows of `row_bytes` bytes (about 64 MiB, >= 1). */
int64_t h5io_block_rows(int64_t row_bytes, int64_t chunk_rows);
/* The same number of blocks on every rank: max over ranks (collective). */
int64_t h5io_common_blocks(int64_t nrows, int64_t block_rows);

/* Datasets: no timestamps (files are reproducible), chunked if chunk != NULL. */
hid_t h5io_create_dataset(hid_t loc, const char *name, hid_t type, int rank, const int64_t *dims,
                          const int64_t *chunk);
hid_t h5io_create_group(hid_t loc, const char *name);
/* Small datasets written by rank 0 (collective create, rank 0 writes). */
void h5io_write_small(hid_t loc, const char *name, hid_t type, int rank, const int64_t *dims, const void *buf);
void h5io_write_strings(hid_t loc, const char *name, char *const *v, int64_t n);
/* Strings of a 1-D string dataset (fixed or variable length). */
char **h5io_read_strings(hid_t loc, const char *file, const char *name, int64_t *count);
/* Read a whole small dataset as `memtype`; dies naming file/dataset. */
void h5io_read_small(hid_t loc, const char *file, const char *name, hid_t memtype, void *buf, int64_t expect);

void h5io_attr_str(hid_t loc, const char *name, const char *value);
void h5io_attr_f64(hid_t loc, const char *name, double value);
void h5io_attr_i64(hid_t loc, const char *name, int64_t value);
int h5io_get_attr_i64(hid_t loc, const char *name, int64_t *value);   /* 0 if absent */
int h5io_get_attr_f64(hid_t loc, const char *name, double *value);    /* 0 if absent */
char *h5io_get_attr_str(hid_t loc, const char *name);                  /* NULL if absent */
#endif
