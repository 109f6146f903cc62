/* util.h: the bottom layer every part of the host program uses: exit codes,
 * fatal errors and their clean-up hooks, logging, memory, time and small
 * string helpers. No MPI, no HDF5: the layers above register what must
 * happen on the way out (comm: barrier/abort/finalize; io: stop a running
 * pipeline, write the manifest) with ps_on_exit/ps_on_fatal. */
#ifndef PS_UTIL_H
#define PS_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PS_EXIT_ERROR 1    /* bad input, I/O failure, library error */
#define PS_EXIT_USAGE 2    /* bad command line */
#define PS_EXIT_GATE 3     /* the quality gate refused */
#define PS_EXIT_STOPPED 75 /* EX_TEMPFAIL: stopped cleanly by a signal; run the same command again */

/* Set once by comm_init. */
extern int ps_rank;
extern int ps_size;
extern int ps_quiet;

/* Collective fatal error: every rank calls it with the same condition.
 * Rank 0 prints one line "propscore: error: ...", the fatal hook writes the
 * manifest, temporary outputs are removed, the exit hooks run (last
 * registered first: a running pipeline stops, then MPI is finalized) and the
 * process exits with `code`. */
void ps_die_all(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* Fatal error seen by one rank alone: it prints with its rank, writes the
 * manifest, removes the temporary outputs itself and aborts the job. */
void ps_die_local(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Hooks. Fatal: called once, on the rank that reports the error, with the
 * exit code and the message (the manifest). Exit: called on every rank on
 * the way out of ps_die_all (collective) or, with collective = 0, of
 * ps_die_local; they run last-registered first. */
void ps_on_fatal(void (*fn)(int code, const char *msg));
void ps_on_exit(void (*fn)(int collective));
/* Remove an exit hook registered before (e.g. a pipeline that closed). */
void ps_forget_exit(void (*fn)(int collective));

/* Logging on rank 0 (stderr, unless --quiet), warnings (stderr, always),
 * results (stdout, always). */
void ps_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ps_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ps_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *ps_malloc(size_t n);
void *ps_calloc(size_t n, size_t size);
void *ps_realloc(void *p, size_t n);
char *ps_strdup(const char *s);
/* printf into a new string. */
char *ps_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

double ps_now(void); /* wall clock seconds (monotonic) */
/* Reproducible time: SOURCE_DATE_EPOCH if set, else now (UTC ISO-8601). */
void ps_timestamp(char *buf, size_t n);
/* The wall-clock time now (UTC ISO-8601), for logs and manifests. */
void ps_timestamp_now(char *buf, size_t n);

/* Files to remove if the run fails (temporary outputs). Any rank may
 * register; a fatal error removes them on the rank that handles it. */
void ps_tmp_register(const char *path);
void ps_tmp_forget(const char *path);
void ps_tmp_cleanup(void);

/* Split "a,b,c" into a NULL-terminated array of strings (empty items dropped). */
char **ps_split(const char *s, char sep, int *count);
void ps_free_strv(char **v);
int ps_strv_len(char *const *v);
/* Index of the first string that occurs twice in v[0..n), or -1. */
int ps_strv_duplicate(char *const *v, int n);

/* This process's peak resident set (VmHWM) in KiB (0 if unknown). */
long ps_peak_rss_kb(void);
/* Start the peak (VmHWM) again from the current resident set (Linux; a no-op
 * elsewhere): the peak of one phase. */
void ps_reset_peak_rss(void);
/* MemAvailable of this machine in bytes (0 if unknown). */
int64_t ps_mem_available(void);
#endif
