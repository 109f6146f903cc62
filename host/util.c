/* util.c: error reporting, logging, timing, temporary-file bookkeeping,
 * strict number parsing and the rank-0 progress printer. */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

int ps_rank = 0;
int ps_size = 1;
int ps_quiet = 0;
void (*ps_on_fatal)(int code, const char *msg) = NULL;

#define PS_MAX_TMP 16
static char *tmp_paths[PS_MAX_TMP];

void ps_tmp_register(const char *path) {
  for (int i = 0; i < PS_MAX_TMP; i++)
    if (!tmp_paths[i]) { tmp_paths[i] = ps_strdup(path); return; }
}
void ps_tmp_forget(const char *path) {
  for (int i = 0; i < PS_MAX_TMP; i++)
    if (tmp_paths[i] && strcmp(tmp_paths[i], path) == 0) { free(tmp_paths[i]); tmp_paths[i] = NULL; }
}
void ps_tmp_cleanup(void) {
  for (int i = 0; i < PS_MAX_TMP; i++)
    if (tmp_paths[i]) {
      if (ps_rank == 0) unlink(tmp_paths[i]);
      free(tmp_paths[i]);
      tmp_paths[i] = NULL;
    }
}

static int mpi_up(void) {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}

void ps_die_all(int code, const char *fmt, ...) {
  if (ps_rank == 0) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "propscore: error: %s\n", msg);
    fflush(stderr);
    if (ps_on_fatal) ps_on_fatal(code, msg);
  }
  if (mpi_up()) MPI_Barrier(MPI_COMM_WORLD); /* the message is out before anyone leaves */
  ps_tmp_cleanup();
  if (mpi_up()) MPI_Finalize();
  exit(code);
}

void ps_die_local(const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "propscore: error (rank %d): %s\n", ps_rank, msg);
  fflush(stderr);
  if (ps_rank == 0 && ps_on_fatal) ps_on_fatal(PS_EXIT_ERROR, msg);
  if (ps_rank == 0) ps_tmp_cleanup();
  if (mpi_up()) MPI_Abort(MPI_COMM_WORLD, PS_EXIT_ERROR);
  exit(PS_EXIT_ERROR);
}

void ps_check_all(int bad, const char *msg) {
  int me = bad ? ps_rank : ps_size, first = me;
  if (mpi_up()) MPI_Allreduce(&me, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (first == ps_size) return;
  /* The rank that saw the problem sends its message to rank 0. */
  char buf[1024] = {0};
  if (bad && ps_rank == first) snprintf(buf, sizeof buf, "%s", msg ? msg : "failed");
  if (mpi_up() && first != 0) {
    if (ps_rank == first) MPI_Send(buf, sizeof buf, MPI_CHAR, 0, 77, MPI_COMM_WORLD);
    if (ps_rank == 0) MPI_Recv(buf, sizeof buf, MPI_CHAR, first, 77, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  }
  ps_die_all(PS_EXIT_ERROR, "%s", buf);
}

static void vlog(FILE *f, const char *fmt, va_list ap) {
  vfprintf(f, fmt, ap);
  fputc('\n', f);
  fflush(f);
}
void ps_log(const char *fmt, ...) {
  if (ps_rank != 0 || ps_quiet) return;
  va_list ap;
  va_start(ap, fmt);
  vlog(stderr, fmt, ap);
  va_end(ap);
}
void ps_out(const char *fmt, ...) {
  if (ps_rank != 0) return;
  va_list ap;
  va_start(ap, fmt);
  vlog(stdout, fmt, ap);
  va_end(ap);
}

void ps_mpi_fail(int err, const char *expr, const char *file, int line) {
  char msg[MPI_MAX_ERROR_STRING] = "unknown MPI error";
  int len = 0;
  MPI_Error_string(err, msg, &len);
  ps_die_local("%s:%d: %s failed: %s", file, line, expr, msg);
}

static herr_t h5_walk(unsigned n, const H5E_error2_t *e, void *data) {
  char *out = data;
  if (n == 0 && e->desc) snprintf(out, 512, "%s", e->desc);
  return 0;
}
const char *ps_h5_last_error(void) {
  static char msg[512];
  msg[0] = 0;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_walk, msg);
  return msg;
}
void ps_h5_fail(const char *expr, const char *file, int line) {
  ps_die_local("%s:%d: HDF5 call %s failed: %s", file, line, expr, ps_h5_last_error());
}

void *ps_malloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) ps_die_local("out of memory allocating %zu bytes", n);
  return p;
}
void *ps_calloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) ps_die_local("out of memory allocating %zu x %zu bytes", n, size);
  return p;
}
void *ps_realloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) ps_die_local("out of memory allocating %zu bytes", n);
  return q;
}
char *ps_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = ps_malloc(n);
  memcpy(d, s, n);
  return d;
}

double ps_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

char *ps_tmp_name(const char *final) {
  long tag = (long)getpid();
  if (mpi_up()) MPI_Bcast(&tag, 1, MPI_LONG, 0, MPI_COMM_WORLD);
  size_t n = strlen(final) + 64;
  char *t = ps_malloc(n);
  snprintf(t, n, "%s.tmp-%ld", final, tag);
  return t;
}

static void fsync_dir_of(const char *path) {
  char *copy = ps_strdup(path);
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) { fsync(fd); close(fd); }
  free(copy);
}

int ps_commit_file(const char *tmp, const char *final) {
  chmod(tmp, 0640); /* customer data: owner and group only */
  int fd = open(tmp, O_RDONLY);
  if (fd >= 0) { fsync(fd); close(fd); }
  if (rename(tmp, final) != 0) return -1;
  fsync_dir_of(final);
  return 0;
}

void ps_check_writable(const char *path) {
  int bad = 0;
  char msg[1024] = {0};
  if (ps_rank == 0) {
    char *copy = ps_strdup(path);
    const char *dir = dirname(copy);
    if (access(dir, W_OK | X_OK) != 0) {
      bad = 1;
      snprintf(msg, sizeof msg, "cannot write output %s: directory %s: %s", path, dir, strerror(errno));
    }
    free(copy);
  }
  if (mpi_up()) {
    MPI_Bcast(&bad, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Bcast(msg, sizeof msg, MPI_CHAR, 0, MPI_COMM_WORLD);
  }
  if (bad) ps_die_all(PS_EXIT_ERROR, "%s", msg);
}

char **ps_split(const char *s, char sep, int *count) {
  int n = 1;
  for (const char *p = s; *p; p++) n += (*p == sep);
  char **v = ps_calloc((size_t)n + 1, sizeof(char *));
  int k = 0;
  const char *start = s;
  for (const char *p = s;; p++) {
    if (*p == sep || *p == 0) {
      size_t len = (size_t)(p - start);
      if (len > 0) {
        v[k] = ps_malloc(len + 1);
        memcpy(v[k], start, len);
        v[k][len] = 0;
        k++;
      }
      if (*p == 0) break;
      start = p + 1;
    }
  }
  *count = k;
  return v;
}
void ps_free_strv(char **v) {
  if (!v) return;
  for (char **p = v; *p; p++) free(*p);
  free(v);
}

long long ps_parse_ll(const char *opt, const char *s, long long lo, long long hi) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  /* Accept 1e6-style integers too. */
  if (end && (*end == 'e' || *end == 'E' || *end == '.')) {
    double d = strtod(s, &end);
    if (*end == 0 && d == (double)(long long)d) v = (long long)d;
  }
  if (errno || !end || *end || end == s)
    ps_die_all(PS_EXIT_USAGE, "%s: '%s' is not an integer", opt, s);
  if (v < lo || v > hi) ps_die_all(PS_EXIT_USAGE, "%s: %lld is out of range [%lld, %lld]", opt, v, lo, hi);
  return v;
}
double ps_parse_double(const char *opt, const char *s, double lo, double hi) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || !end || *end || end == s) ps_die_all(PS_EXIT_USAGE, "%s: '%s' is not a number", opt, s);
  if (!(v >= lo && v <= hi)) ps_die_all(PS_EXIT_USAGE, "%s: %g is out of range [%g, %g]", opt, v, lo, hi);
  return v;
}

int64_t ps_parse_size(const char *opt, const char *s) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  double mul = 1;
  if (end && *end) {
    switch (*end) {
      case 'k': case 'K': mul = 1024.0; break;
      case 'm': case 'M': mul = 1024.0 * 1024; break;
      case 'g': case 'G': mul = 1024.0 * 1024 * 1024; break;
      case 't': case 'T': mul = 1024.0 * 1024 * 1024 * 1024; break;
      default: mul = 0;
    }
    if (mul > 0 && end[1] && !((end[1] == 'B' || end[1] == 'b') && !end[2]) && !((end[1] == 'i') && end[2] == 'B' && !end[3]))
      mul = 0;
  }
  if (errno || end == s || mul == 0 || !(v > 0))
    ps_die_all(PS_EXIT_USAGE, "%s: '%s' is not a size (bytes, or with K, M, G, T)", opt, s);
  return (int64_t)(v * mul);
}

int64_t ps_mem_available(void) {
  FILE *f = fopen("/proc/meminfo", "r");
  if (!f) return 0;
  char line[256];
  long long kb = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1) break;
  fclose(f);
  return (int64_t)kb * 1024;
}

void ps_progress_init(ps_progress_t *p, const char *what, double total, double bytes_per) {
  p->what = what;
  p->t0 = p->last = ps_now();
  p->every = 5.0;
  p->total = total;
  p->bytes_per = bytes_per;
}
void ps_progress_update(ps_progress_t *p, double done) {
  double t = ps_now();
  if (t - p->last < p->every || done >= p->total) return;
  p->last = t;
  double el = t - p->t0, rate = done / (el > 0 ? el : 1e-9);
  double eta = rate > 0 ? (p->total - done) / rate : 0;
  ps_log("%s: %5.1f%%  %.0f/%.0f rows  %.0f rows/s  %.2f GB/s  ETA %.0fs", p->what, 100.0 * done / p->total,
         done, p->total, rate, rate * p->bytes_per / 1e9, eta);
}

static void format_time(time_t t, char *buf, size_t n) {
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
void ps_timestamp(char *buf, size_t n) {
  const char *sde = getenv("SOURCE_DATE_EPOCH");
  format_time(sde ? (time_t)strtoll(sde, NULL, 10) : time(NULL), buf, n);
}
void ps_timestamp_now(char *buf, size_t n) { format_time(time(NULL), buf, n); }
