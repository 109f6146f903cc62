/* output.c: safe outputs (see output.h). */
#define _GNU_SOURCE
#include "io/output.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "comm/comm.h"
#include "core/rng.h"
#include "core/util.h"

#define TMP_SUFFIX_MAX 40 /* ".partial-" + 16 hex, ".tmp-<pid>-<8 hex>", ".manifest.json.tmp-..." */

struct ps_output {
  char *final, *tmp, *lock;
  int lock_fd; /* rank 0 (the writer) */
  int parallel, partial;
  int locked; /* out_lock: the lock held, the temporary not made yet */
};

/* realpath of the directory + the last component: the name an output will
 * have, whether or not it exists yet. NULL if the directory is missing. */
static char *canonical(const char *path) {
  char *d = ps_strdup(path), *b = ps_strdup(path);
  char real[PATH_MAX], *out = NULL;
  if (realpath(dirname(d), real)) out = ps_sprintf("%s/%s", strcmp(real, "/") ? real : "", basename(b));
  free(d);
  free(b);
  return out;
}

static int same_file(const char *a, const char *b) {
  struct stat sa, sb;
  if (stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino) return 1;
  char *ca = canonical(a), *cb = canonical(b);
  int same = ca && cb && !strcmp(ca, cb);
  free(ca);
  free(cb);
  return same;
}

/* <output>.lock is the lock of <output>: no output may have such a name (a
 * run writing <output> would take it as its lock and remove it). */
static int lock_name(const char *base) {
  size_t l = strlen(base);
  return l >= 5 && !strcmp(base + l - 5, ".lock");
}

static int check_one(const ps_path_t *o, char *msg, size_t n) {
  char *copy = ps_strdup(o->path), *bcopy = ps_strdup(o->path);
  const char *dir = dirname(copy), *base = basename(bcopy);
  struct stat st;
  int bad = 1;
  if (!o->path[0] || !strcmp(base, ".") || !strcmp(base, "..") || o->path[strlen(o->path) - 1] == '/')
    snprintf(msg, n, "%s %s: not a file name", o->role, o->path);
  else if (lock_name(base))
    snprintf(msg, n, "%s %s: names ending in .lock are propscore's locks (another run's lock would replace it); "
             "give another name", o->role, o->path);
  else if (strlen(base) + TMP_SUFFIX_MAX > NAME_MAX || strlen(o->path) + TMP_SUFFIX_MAX >= PATH_MAX)
    snprintf(msg, n, "%s %s: the name is too long for its temporary names (at most %d characters)", o->role,
             o->path, NAME_MAX - TMP_SUFFIX_MAX);
  else if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    snprintf(msg, n, "cannot write output %s: directory %s does not exist", o->path, dir);
  else if (access(dir, W_OK | X_OK) != 0)
    snprintf(msg, n, "cannot write output %s: directory %s: %s", o->path, dir, strerror(errno));
  else if (lstat(o->path, &st) == 0 && S_ISLNK(st.st_mode) && stat(o->path, &st) != 0)
    bad = 0; /* a dangling symlink: the rename replaces the link itself */
  else if (stat(o->path, &st) == 0 && !S_ISREG(st.st_mode))
    snprintf(msg, n, "%s %s is a %s, not a file; refusing to replace it", o->role, o->path,
             S_ISDIR(st.st_mode) ? "directory" : "special file");
  else
    bad = 0;
  free(copy);
  free(bcopy);
  return bad;
}

void out_check_paths(const ps_path_t *inputs, int nin, const ps_path_t *outputs, int nout) {
  char msg[2048] = {0};
  int bad = 0;
  if (ps_rank == 0) {
    for (int i = 0; i < nout && !bad; i++) {
      if (!outputs[i].path) continue;
      bad = check_one(&outputs[i], msg, sizeof msg);
      for (int j = 0; j < nin && !bad; j++)
        if (inputs[j].path && same_file(outputs[i].path, inputs[j].path)) {
          bad = 1;
          snprintf(msg, sizeof msg, "%s %s is the input %s %s: refusing to overwrite an input", outputs[i].role,
                   outputs[i].path, inputs[j].role, inputs[j].path);
        }
      for (int j = 0; j < i && !bad; j++)
        if (outputs[j].path && same_file(outputs[i].path, outputs[j].path)) {
          bad = 1;
          snprintf(msg, sizeof msg, "%s %s and %s %s are the same file: give them different names", outputs[j].role,
                   outputs[j].path, outputs[i].role, outputs[i].path);
        }
    }
  }
  int64_t b = bad;
  comm_bcast(&b, sizeof b, 0);
  comm_bcast(msg, sizeof msg, 0);
  if (b) ps_die_all(PS_EXIT_ERROR, "%s", msg);
}

static void fsync_dir_of(const char *path) {
  char *copy = ps_strdup(path);
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  free(copy);
}

/* Rank 0: take <final>.lock; 0 on success, else fills msg. */
static int take_lock(ps_output_t *o, char *msg, size_t n) {
  for (int tries = 0; tries < 10; tries++) {
    int fd = open(o->lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
      snprintf(msg, n, "cannot create lock %s: %s", o->lock, strerror(errno));
      return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      close(fd);
      snprintf(msg, n, "another propscore run is writing %s (it holds %s); wait for it to finish or stop it",
               o->final, o->lock);
      return -1;
    }
    /* the holder before us may have removed the name: lock the file the name is now */
    struct stat a, b;
    if (fstat(fd, &a) == 0 && stat(o->lock, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
      if (a.st_size != 0 || !S_ISREG(a.st_mode)) { /* a lock is empty: this is someone's file, not ours */
        close(fd);
        snprintf(msg, n, "%s is not a propscore lock (it is not an empty file); it is left alone: rename it, or "
                 "give %s another name", o->lock, o->final);
        return -1;
      }
      o->lock_fd = fd;
      return 0;
    }
    close(fd);
  }
  snprintf(msg, n, "cannot lock %s: it keeps changing", o->lock);
  return -1;
}

static void release_lock(ps_output_t *o) {
  ps_tmp_forget(o->lock);
  if (o->lock_fd < 0) return;
  /* still holding it: a waiter re-checks the name; the name is removed only
   * while it is still our lock file (never a file that has taken its name) */
  struct stat a, b;
  if (fstat(o->lock_fd, &a) == 0 && lstat(o->lock, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
    unlink(o->lock);
  close(o->lock_fd);
  o->lock_fd = -1;
}

static long tmp_name_pid(const char *rest, int kind);
static int pid_dead(long pid);

/* Holding the lock: <final>.tmp-<pid>-<8 hex> files of dead processes are
 * left by runs that died; remove them. Nothing else is touched (a user's
 * "scores.h5.tmp-backup" stays). */
static void remove_leftovers(const ps_output_t *o) {
  char *copy = ps_strdup(o->final), *bcopy = ps_strdup(o->final);
  const char *dir = dirname(copy), *base = basename(bcopy);
  char *prefix = ps_sprintf("%s.tmp-", base);
  DIR *dp = opendir(dir);
  int removed = 0;
  for (struct dirent *e; dp && (e = readdir(dp));) {
    if (strncmp(e->d_name, prefix, strlen(prefix))) continue;
    long pid = tmp_name_pid(e->d_name + strlen(prefix), 0);
    if (!pid || !pid_dead(pid)) continue;
    char *p = ps_sprintf("%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && unlink(p) == 0) removed++;
    free(p);
  }
  if (dp) closedir(dp);
  if (removed)
    ps_log("output: removed %d temporary file%s of %s left by an interrupted run", removed, removed == 1 ? "" : "s",
           o->final);
  free(prefix);
  free(copy);
  free(bcopy);
}

/* Remove a tree without following links (nftw, depth first). */
static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f) {
  (void)st;
  (void)f;
  return flag == FTW_DP ? rmdir(p) : unlink(p);
}
static void remove_tree(const char *path) { nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static ps_output_t *make(const char *final, int parallel) {
  ps_output_t *o = ps_calloc(1, sizeof *o);
  o->final = ps_strdup(final);
  o->lock = ps_sprintf("%s.lock", final);
  o->lock_fd = -1;
  o->parallel = parallel;
  return o;
}

/* The writer (rank 0) makes the temporary; every rank learns its name or the error. */
static void create_tmp(ps_output_t *o, uint64_t runid, int *exists) {
  char msg[1024] = {0}, name[PATH_MAX] = {0};
  int64_t st[2] = {0, 0}; /* error, existed */
  int writer = !o->parallel || ps_rank == 0, locked = o->locked; /* out_lock took it already */
  if (writer && !locked && take_lock(o, msg, sizeof msg) != 0) st[0] = 1;
  if (writer && !st[0]) {
    remove_leftovers(o);
    if (o->partial) {
      snprintf(name, sizeof name, "%s.partial-%016llx", o->final, (unsigned long long)runid);
      struct stat s;
      if (lstat(name, &s) == 0) {
        if (!S_ISREG(s.st_mode)) {
          st[0] = 1;
          snprintf(msg, sizeof msg, "%s is not a regular file; remove it", name);
        }
        st[1] = 1;
      }
    }
    for (int tries = 0; !st[0] && !st[1] && tries < 100; tries++) {
      if (!o->partial)
        snprintf(name, sizeof name, "%s.tmp-%ld-%08llx", o->final, (long)getpid(),
                 (unsigned long long)(ps_mix64((uint64_t)ps_now() * 1000003u + (uint64_t)tries) & 0xffffffffu));
      int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd >= 0) {
        close(fd);
        break;
      }
      if (errno != EEXIST || o->partial) {
        st[0] = 1;
        snprintf(msg, sizeof msg, "cannot create %s: %s", name, strerror(errno));
      }
    }
  }
  if (o->parallel) {
    comm_bcast(st, sizeof st, 0);
    comm_bcast(msg, sizeof msg, 0);
    comm_bcast(name, sizeof name, 0);
  }
  if (st[0]) {
    release_lock(o);
    if (o->parallel) ps_die_all(PS_EXIT_ERROR, "%s", msg);
    ps_die_local("%s", msg);
  }
  o->tmp = ps_strdup(name);
  ps_tmp_register(o->tmp); /* a failure removes it and the lock's name, on whichever rank fails */
  if (!locked) ps_tmp_register(o->lock);
  if (exists) *exists = (int)st[1];
}

ps_output_t *out_begin(const char *final, int parallel) {
  ps_output_t *o = make(final, parallel);
  create_tmp(o, 0, NULL);
  return o;
}

static void release(ps_output_t *o);

ps_output_t *out_lock(const char *final, int parallel) {
  ps_output_t *o = make(final, parallel);
  char msg[1024] = {0};
  int64_t bad = 0;
  if ((!parallel || ps_rank == 0) && take_lock(o, msg, sizeof msg) != 0) bad = 1;
  if (parallel) {
    comm_bcast(&bad, sizeof bad, 0);
    comm_bcast(msg, sizeof msg, 0);
  }
  if (bad) {
    release(o);
    if (parallel) ps_die_all(PS_EXIT_ERROR, "%s", msg);
    ps_die_local("%s", msg);
  }
  ps_tmp_register(o->lock);
  o->locked = 1;
  return o;
}

void out_create(ps_output_t *o) { create_tmp(o, 0, NULL); }

ps_output_t *out_begin_partial(const char *final, uint64_t runid, int *exists) {
  ps_output_t *o = make(final, 1);
  o->partial = 1;
  create_tmp(o, runid, exists);
  return o;
}

const char *out_tmp(const ps_output_t *o) { return o->tmp; }

int out_side_tmp(const ps_output_t *o, char **path) {
  *path = NULL;
  for (int tries = 0; tries < 100; tries++) {
    char *name = ps_sprintf("%s.tmp-%ld-%08llx", o->final, (long)getpid(),
                            (unsigned long long)(ps_mix64((uint64_t)(ps_now() * 1e9) + (uint64_t)tries) & 0xffffffffu));
    int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ps_tmp_register(name);
      *path = name;
      return fd;
    }
    int e = errno;
    free(name);
    if (e != EEXIST) {
      errno = e;
      return -1;
    }
  }
  return -1;
}

void out_side_remove(char *path) {
  if (!path) return;
  unlink(path);
  ps_tmp_forget(path);
  free(path);
}

static void release(ps_output_t *o) {
  release_lock(o);
  free(o->final);
  free(o->tmp);
  free(o->lock);
  free(o);
}

void out_commit(ps_output_t *o) {
  char msg[1024] = {0};
  int64_t bad = 0;
  if (!o->parallel || ps_rank == 0) {
    int fd = open(o->tmp, O_RDONLY | O_NOFOLLOW);
    if (fd < 0 || fsync(fd) != 0 || fchmod(fd, 0640) != 0) { /* customer data: owner and group only */
      bad = 1;
      snprintf(msg, sizeof msg, "cannot finish %s: %s", o->tmp, strerror(errno));
    }
    if (fd >= 0) close(fd);
    if (!bad && rename(o->tmp, o->final) != 0) {
      bad = 1;
      snprintf(msg, sizeof msg, "cannot rename %s to %s: %s", o->tmp, o->final, strerror(errno));
    }
    if (!bad) fsync_dir_of(o->final);
  }
  if (o->parallel) {
    comm_bcast(&bad, sizeof bad, 0);
    comm_bcast(msg, sizeof msg, 0);
  }
  if (bad) {
    if (o->parallel) ps_die_all(PS_EXIT_ERROR, "%s", msg);
    ps_die_local("%s", msg);
  }
  ps_tmp_forget(o->tmp);
  release(o);
}

void out_keep(ps_output_t *o) {
  if (!o->parallel || ps_rank == 0) fsync_dir_of(o->tmp);
  ps_tmp_forget(o->tmp);
  release(o);
}

void out_abort(ps_output_t *o) {
  if (o->tmp && (!o->parallel || ps_rank == 0)) unlink(o->tmp);
  if (o->tmp) ps_tmp_forget(o->tmp);
  release(o);
}

int out_write_small(const char *final, const char *text, int mode) {
  char *tmp = ps_sprintf("%s.tmp-%ld-%08llx", final, (long)getpid(),
                         (unsigned long long)(ps_mix64((uint64_t)(ps_now() * 1e9)) & 0xffffffffu));
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  int ok = fd >= 0, e = errno;
  if (ok) {
    size_t len = strlen(text);
    errno = EIO; /* a short write sets none */
    ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0 && fchmod(fd, (mode_t)mode) == 0;
    e = errno;
    if (close(fd) != 0 && ok) ok = 0, e = errno;
  }
  if (ok && rename(tmp, final) != 0) ok = 0, e = errno;
  if (!ok) unlink(tmp);
  else fsync_dir_of(final);
  free(tmp);
  errno = e; /* the failure's, for the caller's message */
  return ok ? 0 : -1;
}

/* ---- directory outputs ---- */

/* What a directory output's name holds now (never following a link). */
enum { DIR_ABSENT, DIR_OURS, DIR_NOT_DIR, DIR_FOREIGN, DIR_UNREADABLE };
static int dir_state(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) return errno == ENOENT ? DIR_ABSENT : DIR_UNREADABLE;
  if (!S_ISDIR(st.st_mode)) return DIR_NOT_DIR;
  DIR *dp = opendir(path);
  if (!dp) return DIR_UNREADABLE;
  int empty = 1, marker = 0;
  for (struct dirent *e; (e = readdir(dp));) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    empty = 0;
    if (!strcmp(e->d_name, OUT_DIR_MARKER)) marker = 1;
  }
  closedir(dp);
  return empty || marker ? DIR_OURS : DIR_FOREIGN;
}

/* msg for a name that is no longer ours to replace (state from dir_state). */
static void changed_msg(const char *path, int state, char *msg, size_t n) {
  if (state == DIR_NOT_DIR)
    snprintf(msg, n, "%s was replaced during this run by something that is not a directory; left untouched", path);
  else if (state == DIR_UNREADABLE)
    snprintf(msg, n, "cannot read %s: %s", path, strerror(errno));
  else
    snprintf(msg, n, "%s changed during this run: it now holds other files (no %s); left untouched, give a new or "
             "empty directory", path, OUT_DIR_MARKER);
}

/* Tests only: PROPSCORE_FAULT_DIR=WORD[,WORD] -- "no-exchange": take the
 * two-rename path (as without renameat2); "fail-swap": its second rename
 * fails; "plant": just after the last check before the swap, the earlier
 * output moves to <final>.fault-moved and a user's directory (one file)
 * takes its name, as a user could do at that moment. */
static int fault_dir(const char *word) {
  const char *spec = getenv("PROPSCORE_FAULT_DIR");
  if (!spec) return 0;
  size_t l = strlen(word);
  for (const char *p = spec; (p = strstr(p, word)); p += l)
    if ((p == spec || p[-1] == ',') && (p[l] == 0 || p[l] == ',')) return 1;
  return 0;
}

int out_check_dir(const char *role, const char *path, const ps_path_t *inputs, int nin, char *msg, size_t n) {
  char *copy = ps_strdup(path), *bcopy = ps_strdup(path);
  const char *dir = dirname(copy), *base = basename(bcopy);
  struct stat st;
  int bad = 1;
  char real[PATH_MAX];
  if (!path[0] || !strcmp(base, ".") || !strcmp(base, "..") || !strcmp(base, "/"))
    snprintf(msg, n, "%s %s: give a directory name (a new one, or an earlier report)", role, path);
  else if (strlen(base) + TMP_SUFFIX_MAX > NAME_MAX || strlen(path) + TMP_SUFFIX_MAX >= PATH_MAX)
    snprintf(msg, n, "%s %s: the name is too long for its temporary names", role, path);
  else if (lock_name(base))
    snprintf(msg, n, "%s %s: names ending in .lock are propscore's locks; give another name", role, path);
  else if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    snprintf(msg, n, "cannot write %s %s: directory %s does not exist", role, path, dir);
  else if (access(dir, W_OK | X_OK) != 0)
    snprintf(msg, n, "cannot write %s %s: directory %s: %s", role, path, dir, strerror(errno));
  else if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode))
    snprintf(msg, n, "%s %s exists and is not a directory; refusing to replace it", role, path);
  else
    bad = 0;
  if (!bad) {
    int why = dir_state(path);
    if (why == DIR_UNREADABLE) {
      bad = 1;
      snprintf(msg, n, "cannot read %s %s: %s", role, path, strerror(errno));
    } else if (why != DIR_OURS && why != DIR_ABSENT) {
      bad = 1;
      snprintf(msg, n, "%s %s is a directory that holds other files (no %s): give a new or empty directory", role,
               path, OUT_DIR_MARKER);
    }
  }
  /* no input may be the directory or lie inside it (it is replaced whole) */
  char *cd = bad ? NULL : canonical(path);
  for (int j = 0; cd && j < nin && !bad; j++) {
    if (!inputs[j].path || !realpath(inputs[j].path, real)) continue;
    size_t l = strlen(cd);
    if (!strncmp(real, cd, l) && (real[l] == '/' || real[l] == 0)) {
      bad = 1;
      snprintf(msg, n, "%s %s holds the input %s %s: refusing to replace an input", role, path, inputs[j].role,
               inputs[j].path);
    }
  }
  free(cd);
  free(copy);
  free(bcopy);
  return bad;
}

/* The pid in a temporary's name: "<pid>-<8 hex>" (kind 0, a tree being
 * written) or "old-<pid>" (kind 1, the old tree set aside by the two-rename
 * swap); 0 when the name is neither (a user's "report.tmp-backup"). */
static long tmp_name_pid(const char *rest, int kind) {
  if (kind == 1) {
    if (strncmp(rest, "old-", 4)) return 0;
    rest += 4;
  }
  const char *p = rest;
  while (*p >= '0' && *p <= '9') p++;
  if (p == rest || p - rest > 10 || *rest == '0') return 0;
  long pid = strtol(rest, NULL, 10);
  if (kind == 1) return *p ? 0 : pid;
  if (*p != '-') return 0;
  p++;
  for (int i = 0; i < 8; i++, p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
  return *p ? 0 : pid;
}

static int pid_dead(long pid) { return pid != (long)getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH; }

/* Holding the lock: trees left by runs that died. Only our exact temporary
 * names of dead processes are touched: <final>.tmp-<pid>-<8 hex> is removed;
 * <final>.tmp-old-<pid> (a run died between its two renames) is renamed back
 * to <final> when that is missing, else removed if it is an earlier report. */
static void remove_dir_leftovers(const char *final) {
  char *copy = ps_strdup(final), *bcopy = ps_strdup(final);
  const char *dir = dirname(copy), *base = basename(bcopy);
  char *prefix = ps_sprintf("%s.tmp-", base);
  size_t pl = strlen(prefix);
  DIR *dp = opendir(dir);
  for (struct dirent *e; dp && (e = readdir(dp));) {
    if (strncmp(e->d_name, prefix, pl)) continue;
    const char *rest = e->d_name + pl;
    long pid = tmp_name_pid(rest, 0), old = pid ? 0 : tmp_name_pid(rest, 1);
    if (!(pid && pid_dead(pid)) && !(old && pid_dead(old))) continue;
    char *p = ps_sprintf("%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
      if (pid) {
        remove_tree(p);
        ps_log("output: removed %s, left by an interrupted run", p);
      } else if (dir_state(final) == DIR_ABSENT && rename(p, final) == 0) {
        ps_log("output: restored %s from %s, left by a run interrupted while replacing it", final, p);
      } else if (dir_state(p) == DIR_OURS && dir_state(final) != DIR_ABSENT) {
        remove_tree(p);
        ps_log("output: removed %s, an earlier report left by an interrupted run", p);
      }
    }
    free(p);
  }
  if (dp) closedir(dp);
  free(prefix);
  free(copy);
  free(bcopy);
}

ps_output_t *out_dir_begin(const char *final, char *msg, size_t n) {
  ps_output_t *o = make(final, 0);
  if (take_lock(o, msg, n) != 0) {
    release(o);
    return NULL;
  }
  ps_tmp_register(o->lock);
  remove_dir_leftovers(final);
  /* checked before the metrics; again now, under the lock */
  int state = dir_state(final);
  if (state != DIR_ABSENT && state != DIR_OURS) {
    changed_msg(final, state, msg, n);
    release(o);
    return NULL;
  }
  char name[PATH_MAX];
  for (int tries = 0; tries < 100; tries++) {
    snprintf(name, sizeof name, "%s.tmp-%ld-%08llx", final, (long)getpid(),
             (unsigned long long)(ps_mix64((uint64_t)(ps_now() * 1e9) + (uint64_t)tries) & 0xffffffffu));
    if (mkdir(name, 0700) == 0) {
      o->tmp = ps_strdup(name);
      return o;
    }
    if (errno != EEXIST) break;
  }
  snprintf(msg, n, "cannot create directory %s: %s", name, strerror(errno));
  release(o);
  return NULL;
}

/* The old tree is at `aside` now (final holds ours, or nothing on the
 * two-rename path): is it ours to remove? If not, put it back. 0: remove it. */
static int check_aside(ps_output_t *o, const char *aside, int exchanged, char *msg, size_t n) {
  int state = dir_state(aside);
  if (state == DIR_OURS) return 0;
  int back = exchanged ? renameat2(AT_FDCWD, aside, AT_FDCWD, o->final, RENAME_EXCHANGE) : rename(aside, o->final);
  if (back == 0) {
    changed_msg(o->final, state, msg, n);
  } else {
    snprintf(msg, n, "%s changed during this run and cannot be put back (%s): it is at %s; nothing was removed",
             o->final, strerror(errno), aside);
    if (exchanged) { /* ours is at final, theirs at the temporary's name: keep both */
      free(o->tmp);
      o->tmp = NULL;
    }
  }
  return -1;
}

int out_dir_commit(ps_output_t *o, char *msg, size_t n) {
  char *marker = ps_sprintf("%s/%s", o->tmp, OUT_DIR_MARKER);
  int bad = out_write_small(marker, "written by propscore: replaced whole by the next run that writes here\n", 0640);
  free(marker);
  if (bad || chmod(o->tmp, 0750) != 0) {
    snprintf(msg, n, "cannot finish %s: %s", o->tmp, strerror(errno));
    out_dir_abort(o);
    return -1;
  }
  int state = dir_state(o->final); /* the last check before the swap */
  if (state != DIR_ABSENT && state != DIR_OURS) {
    changed_msg(o->final, state, msg, n);
    out_dir_abort(o);
    return -1;
  }
  if (fault_dir("plant") && state == DIR_OURS) { /* a user's tree takes the name: the old one moves aside */
    char *moved = ps_sprintf("%s.fault-moved", o->final), *f = ps_sprintf("%s/planted-by-PROPSCORE_FAULT_DIR", o->final);
    if (rename(o->final, moved) == 0 && mkdir(o->final, 0700) == 0) out_write_small(f, "a user's file\n", 0640);
    free(moved);
    free(f);
  }
  if (state == DIR_ABSENT) { /* new: rename() replaces at most an empty directory made meanwhile */
    if (rename(o->tmp, o->final) != 0) {
      snprintf(msg, n, "cannot rename %s to %s: %s", o->tmp, o->final, strerror(errno));
      out_dir_abort(o);
      return -1;
    }
  } else if (!fault_dir("no-exchange") &&
             renameat2(AT_FDCWD, o->tmp, AT_FDCWD, o->final, RENAME_EXCHANGE) == 0) {
    /* the old tree is now under the temporary name */
    if (check_aside(o, o->tmp, 1, msg, n) != 0) {
      out_dir_abort(o); /* ours, back at the temporary name (or kept, see check_aside) */
      return -1;
    }
    remove_tree(o->tmp);
  } else { /* no atomic exchange here (NFS): old aside, new in, old removed */
    char *old = ps_sprintf("%s.tmp-old-%ld", o->final, (long)getpid());
    if (rename(o->final, old) != 0) {
      snprintf(msg, n, "cannot move %s aside to %s: %s", o->final, old, strerror(errno));
      free(old);
      out_dir_abort(o);
      return -1;
    }
    if (check_aside(o, old, 0, msg, n) != 0) {
      free(old);
      out_dir_abort(o);
      return -1;
    }
    int e = 0;
    if (fault_dir("fail-swap")) e = EIO;
    else if (rename(o->tmp, o->final) != 0) e = errno;
    if (e) {
      if (rename(old, o->final) == 0)
        snprintf(msg, n, "cannot rename %s to %s: %s; the earlier %s is back in place", o->tmp, o->final,
                 strerror(e), o->final);
      else
        snprintf(msg, n, "cannot rename %s to %s: %s; the earlier report is at %s (the next run puts it back)",
                 o->tmp, o->final, strerror(e), old);
      free(old);
      out_dir_abort(o);
      return -1;
    }
    remove_tree(old);
    free(old);
  }
  fsync_dir_of(o->final);
  release(o);
  return 0;
}

void out_dir_abort(ps_output_t *o) {
  if (o->tmp) remove_tree(o->tmp);
  release(o);
}
