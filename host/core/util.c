/* util.c: fatal errors and their hooks, logging, memory, time, temporary-
 * file bookkeeping and string helpers (see util.h). */
#define _POSIX_C_SOURCE 200809L
#include "core/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int ps_rank = 0;
int ps_size = 1;
int ps_quiet = 0;

#define PS_MAX_HOOKS 16
static void (*fatal_hook)(int, const char *);
static void (*exit_hooks[PS_MAX_HOOKS])(int);
static int n_exit_hooks;

void ps_on_fatal(void (*fn)(int code, const char *msg)) { fatal_hook = fn; }

void ps_on_exit(void (*fn)(int collective)) {
  if (n_exit_hooks < PS_MAX_HOOKS) exit_hooks[n_exit_hooks++] = fn;
}

void ps_forget_exit(void (*fn)(int collective)) {
  for (int i = n_exit_hooks - 1; i >= 0; i--)
    if (exit_hooks[i] == fn) {
      memmove(exit_hooks + i, exit_hooks + i + 1, sizeof exit_hooks[0] * (size_t)(n_exit_hooks - i - 1));
      n_exit_hooks--;
      return;
    }
}

#define PS_MAX_TMP 16
static char *tmp_paths[PS_MAX_TMP];

void ps_tmp_register(const char *path) {
  for (int i = 0; i < PS_MAX_TMP; i++)
    if (!tmp_paths[i]) {
      tmp_paths[i] = ps_strdup(path);
      return;
    }
  ps_die_local("too many temporary files registered");
}
void ps_tmp_forget(const char *path) {
  for (int i = 0; i < PS_MAX_TMP; i++)
    if (tmp_paths[i] && strcmp(tmp_paths[i], path) == 0) {
      free(tmp_paths[i]);
      tmp_paths[i] = NULL;
    }
}
void ps_tmp_cleanup(void) {
  for (int i = 0; i < PS_MAX_TMP; i++)
    if (tmp_paths[i]) {
      unlink(tmp_paths[i]); /* every rank may try: the first removes it */
      free(tmp_paths[i]);
      tmp_paths[i] = NULL;
    }
}

static void run_exit_hooks(int collective) {
  while (n_exit_hooks > 0) {
    void (*fn)(int) = exit_hooks[--n_exit_hooks];
    fn(collective);
  }
}

void ps_die_all(int code, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (ps_rank == 0) {
    fprintf(stderr, "propscore: error: %s\n", msg);
    fflush(stderr);
    void (*fh)(int, const char *) = fatal_hook;
    fatal_hook = NULL;
    if (fh) fh(code, msg);
  }
  ps_tmp_cleanup();
  run_exit_hooks(1); /* pipelines stop, then comm: barrier (the message is out) and finalize */
  exit(code);
}

void ps_die_local(const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (ps_size > 1) fprintf(stderr, "propscore: error (rank %d): %s\n", ps_rank, msg);
  else fprintf(stderr, "propscore: error: %s\n", msg);
  fflush(stderr);
  void (*fh)(int, const char *) = fatal_hook;
  fatal_hook = NULL;
  if (fh) fh(PS_EXIT_ERROR, msg); /* this rank writes the manifest: rank 0 may never learn */
  ps_tmp_cleanup();
  run_exit_hooks(0); /* comm aborts the job */
  exit(PS_EXIT_ERROR);
}

/* One write per line: stderr is unbuffered, and a line written in pieces
 * (text, then its newline) could be split by rank 0's stdout as mpirun
 * forwards both (lines ran together in a 2>&1 log). */
static void vlog(FILE *f, const char *prefix, const char *fmt, va_list ap) {
  va_list aq;
  va_copy(aq, ap);
  int n = vsnprintf(NULL, 0, fmt, aq);
  va_end(aq);
  size_t lp = prefix ? strlen(prefix) : 0, len = lp + (size_t)(n > 0 ? n : 0);
  char *line = malloc(len + 2);
  if (!line) return;
  if (lp) memcpy(line, prefix, lp);
  vsnprintf(line + lp, len - lp + 1, fmt, ap);
  line[len] = '\n';
  fwrite(line, 1, len + 1, f);
  fflush(f);
  free(line);
}
void ps_log(const char *fmt, ...) {
  if (ps_rank != 0 || ps_quiet) return;
  va_list ap;
  va_start(ap, fmt);
  vlog(stderr, NULL, fmt, ap);
  va_end(ap);
}
void ps_warn(const char *fmt, ...) {
  if (ps_rank != 0) return;
  va_list ap;
  va_start(ap, fmt);
  vlog(stderr, "propscore: warning: ", fmt, ap);
  va_end(ap);
}
void ps_out(const char *fmt, ...) {
  if (ps_rank != 0) return;
  va_list ap;
  va_start(ap, fmt);
  vlog(stdout, NULL, fmt, ap);
  va_end(ap);
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
char *ps_sprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = ps_malloc((size_t)(n > 0 ? n : 0) + 1);
  va_start(ap, fmt);
  vsnprintf(s, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
  va_end(ap);
  return s;
}

double ps_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
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
int ps_strv_len(char *const *v) {
  int n = 0;
  while (v && v[n]) n++;
  return n;
}
int ps_strv_duplicate(char *const *v, int n) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < i; j++)
      if (!strcmp(v[i], v[j])) return i;
  return -1;
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

void ps_reset_peak_rss(void) {
  FILE *f = fopen("/proc/self/clear_refs", "w"); /* "5": VmHWM back to the current RSS (Linux) */
  if (!f) return;
  fputs("5", f);
  fclose(f);
}

long ps_peak_rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  long kb = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
  fclose(f);
  return kb;
}
