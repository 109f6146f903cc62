/* util.h: error reporting, logging, timing, memory and small string helpers
 * shared by every part of the host program. */
#ifndef PS_UTIL_H
#define PS_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PS_EXIT_ERROR 1  /* bad input, I/O failure, library error */
#define PS_EXIT_USAGE 2  /* bad command line */

/* Set once by main after MPI_Init. */
extern int ps_rank;
extern int ps_size;
extern int ps_quiet;
/* Called on rank 0 by a fatal error before exiting (the manifest sets it). */
extern void (*ps_on_fatal)(int code, const char *msg);

/* Collective fatal error: every rank calls it with the same condition.
 * Rank 0 prints one line "propscore: error: ...", temporary outputs are
 * removed, MPI is finalized and the process exits with `code`. */
void ps_die_all(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* Local fatal error (one rank): prints with the rank and aborts the job. */
void ps_die_local(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* If any rank passes a non-zero `bad`, every rank dies with `msg` from the
 * lowest such rank (collective). */
void ps_check_all(int bad, const char *msg);

/* Logging on rank 0 (to stderr, unless --quiet). */
void ps_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Results on rank 0 (stdout, always). */
void ps_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Library error checks: print file:line and the library's own message. */
void ps_mpi_fail(int err, const char *expr, const char *file, int line) __attribute__((noreturn));
void ps_h5_fail(const char *expr, const char *file, int line) __attribute__((noreturn));
#define MPI_CHECK(x) do { int e_ = (x); if (e_ != 0) ps_mpi_fail(e_, #x, __FILE__, __LINE__); } while (0)
/* HDF5 calls return a negative value on failure. */
#define H5_CHECK(x) do { if ((x) < 0) ps_h5_fail(#x, __FILE__, __LINE__); } while (0)
/* The innermost message of the current HDF5 error stack ("" if none). */
const char *ps_h5_last_error(void);

void *ps_malloc(size_t n);
void *ps_calloc(size_t n, size_t size);
void *ps_realloc(void *p, size_t n);
char *ps_strdup(const char *s);

double ps_now(void); /* wall clock seconds (monotonic) */

/* Temporary output files: registered names are removed on a fatal error. */
void ps_tmp_register(const char *path);
void ps_tmp_forget(const char *path);
void ps_tmp_cleanup(void);
/* Temporary name beside `final` that is identical on all ranks (collective). */
char *ps_tmp_name(const char *final);
/* Rename tmp -> final and fsync the directory (rank 0 only). 0 on success. */
int ps_commit_file(const char *tmp, const char *final);
/* Fail early (collective) if `path` cannot be created in its directory. */
void ps_check_writable(const char *path);

/* Split "a,b,c" into a NULL-terminated array of strings. */
char **ps_split(const char *s, char sep, int *count);
void ps_free_strv(char **v);
/* Parse numbers strictly; die (usage) with the option name on failure. */
long long ps_parse_ll(const char *opt, const char *s, long long lo, long long hi);
double ps_parse_double(const char *opt, const char *s, double lo, double hi);
/* "512M", "8G", "1.5T" or bytes; dies (usage) naming the option. */
int64_t ps_parse_size(const char *opt, const char *s);
/* MemAvailable of this machine in bytes (0 if unknown). */
int64_t ps_mem_available(void);

/* Progress printer on rank 0: at most one line every `every` seconds. */
typedef struct {
  const char *what;
  double t0, last, every;
  double total;     /* units of work in all */
  double bytes_per; /* bytes moved per unit (for GB/s) */
} ps_progress_t;
void ps_progress_init(ps_progress_t *p, const char *what, double total, double bytes_per);
void ps_progress_update(ps_progress_t *p, double done);

/* Reproducible time: SOURCE_DATE_EPOCH if set, else now (UTC ISO-8601). */
void ps_timestamp(char *buf, size_t n);
/* The wall-clock time now (UTC ISO-8601), for logs and manifests. */
void ps_timestamp_now(char *buf, size_t n);
#endif
