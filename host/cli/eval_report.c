/* eval_report.c: eval --report DIR -- finds scripts/report.py and a Python
 * with matplotlib, then (rank 0) writes the eval JSON into a temporary
 * directory, runs the script there (its stdout to our stderr: eval's own
 * stdout stays its results) and swaps the directory in (io/output.c). */
#define _GNU_SOURCE
#include "cli/eval_report.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "comm/comm.h"
#include "core/util.h"
#include "io/output.h"

extern char **environ;

static int readable(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, R_OK) == 0;
}

/* The script: $PROPSCORE_REPORT_SCRIPT, else the installed one beside the
 * executable (bin/propscore -> ../share/propscore/report.py), else the source
 * tree's, whose path CMake compiled in (PROPSCORE_REPORT_PY): any build folder. */
static char *find_script(char *msg, size_t n) {
  const char *env = getenv("PROPSCORE_REPORT_SCRIPT");
  if (env && env[0]) {
    if (readable(env)) return ps_strdup(env);
    snprintf(msg, n, "PROPSCORE_REPORT_SCRIPT=%s: no such readable file", env);
    return NULL;
  }
  char exe[PATH_MAX];
  ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (l > 0) {
    exe[l] = 0;
    char *p = ps_sprintf("%s/../share/propscore/report.py", dirname(exe));
    if (readable(p)) return p;
    free(p);
  }
  if (readable(PROPSCORE_REPORT_PY)) return ps_strdup(PROPSCORE_REPORT_PY);
  snprintf(msg, n,
           "cannot find report.py (looked in ../share/propscore beside the executable and at %s); "
           "set PROPSCORE_REPORT_SCRIPT to scripts/report.py",
           PROPSCORE_REPORT_PY);
  return NULL;
}

static const char *python(void) {
  const char *p = getenv("PROPSCORE_PYTHON");
  return p && p[0] ? p : "python3";
}

/* Run python SCRIPT ARGS...; its stdout goes to stderr. 0 ok, else fills msg. */
static int run_script(char *const *argv, char *msg, size_t n) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, 2, 1);
  pid_t pid;
  int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (e != 0) {
    snprintf(msg, n, "cannot run %s: %s; install Python 3 with matplotlib (scripts/install-deps.sh) or set "
             "PROPSCORE_PYTHON", argv[0], strerror(e));
    return -1;
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) {
      snprintf(msg, n, "waiting for %s: %s", argv[1], strerror(errno));
      return -1;
    }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
    snprintf(msg, n, "%s %s: Python lacks what the report needs (its message above): install matplotlib "
             "(scripts/install-deps.sh, or pip install matplotlib)", argv[0], argv[1]);
  else if (WIFEXITED(st))
    snprintf(msg, n, "%s %s failed (exit %d; its message above)", argv[0], argv[1], WEXITSTATUS(st));
  else
    snprintf(msg, n, "%s %s was killed by signal %d", argv[0], argv[1], WTERMSIG(st));
  return -1;
}

/* Agree on rank 0's outcome: every rank returns the same. */
static int agree(int bad, char *msg, size_t n) {
  int64_t b = bad;
  comm_bcast(&b, sizeof b, 0);
  comm_bcast(msg, n, 0);
  return (int)b;
}

int eval_report_check(const eval_report_t *r, const ps_path_t *inputs, int nin, char *msg, size_t n) {
  int bad = 0;
  memset(msg, 0, n);
  if (ps_rank == 0) bad = out_check_dir("--report", r->dir, inputs, nin, msg, n);
  if (agree(bad, msg, n)) ps_die_all(PS_EXIT_ERROR, "%s", msg);
  for (int i = 0; i < r->nextra; i++)
    if (ps_rank == 0 && !bad && !readable(r->extra[i].path)) {
      bad = 1;
      snprintf(msg, n, "%s %s: no such readable file", r->extra[i].role, r->extra[i].path);
    }
  if (agree(bad, msg, n)) ps_die_all(PS_EXIT_ERROR, "%s", msg);
  /* the script and its Python: checked now, reported after the metrics (which are still written) */
  if (ps_rank == 0) {
    char *script = find_script(msg, n);
    if (!script) bad = 1;
    else {
      char *argv[] = {(char *)python(), script, "--check", NULL};
      bad = run_script(argv, msg, n) != 0;
    }
    free(script);
  }
  bad = agree(bad, msg, n);
  if (bad) ps_warn("eval --report %s: %s; the metrics are computed, then eval fails", r->dir, msg);
  return bad;
}

int eval_report_write(const eval_report_t *r, const char *json, char *msg, size_t n) {
  int bad = 0;
  memset(msg, 0, n);
  if (ps_rank == 0) {
    char *script = find_script(msg, n);
    ps_output_t *o = script ? out_dir_begin(r->dir, msg, n) : NULL;
    bad = o == NULL;
    char *ej = o ? ps_sprintf("%s/eval.json", out_tmp(o)) : NULL;
    char *text = o ? ps_sprintf("%s\n", json) : NULL;
    if (o && out_write_small(ej, text, 0640) != 0) {
      bad = 1;
      snprintf(msg, n, "cannot write %s: %s", ej, strerror(errno));
    }
    if (!bad) {
      /* --opt=PATH: a path that begins with '-' stays the option's value for argparse */
      char **argv = ps_calloc((size_t)(6 + r->nextra), sizeof(char *));
      int a = 0;
      argv[a++] = (char *)python();
      argv[a++] = script;
      argv[a++] = ps_sprintf("--eval=%s", ej);
      argv[a++] = ps_sprintf("--out=%s", out_tmp(o));
      for (int i = 0; i < r->nextra; i++) argv[a++] = ps_sprintf("%s=%s", r->extra[i].flag, r->extra[i].path);
      argv[a] = NULL;
      ps_log("eval: writing the report: %s %s", argv[0], argv[1]);
      bad = run_script(argv, msg, n) != 0;
      for (int i = 2; i < a; i++) free(argv[i]);
      free(argv);
    }
    if (!bad) bad = out_dir_commit(o, msg, n) != 0;
    else if (o) out_dir_abort(o);
    if (!bad) ps_log("eval: report %s/index.html", r->dir);
    free(ej);
    free(text);
    free(script);
  }
  return agree(bad, msg, n);
}
