/* test_output.c: safe outputs (io/output.c, over the one-rank transport)
 * against output.h: the file is written under a temporary name beside the
 * final one, 0600, and appears under its name (0640) only on commit; an
 * abort leaves no file and an earlier output untouched; a resumable partial
 * stays for the same run id; leftovers of dead runs go, a user's files stay;
 * planted symlinks (at the lock, at the partial's name) are refused, never
 * followed, and a second writer is refused while the first holds the lock.
 * The refusals end the process (ps_die_*): they run in a forked child. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "comm/comm.h"
#include "io/output.h"

static char dir[256], final_[300], victim[300];

static void put(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static int holds(const char *path, const char *text) {
  char buf[256] = {0};
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  return n == strlen(text) && !memcmp(buf, text, n);
}

static int exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

static int mode_of(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

/* The names in the test directory, space-separated and sorted ("" when empty). */
static const char *listing(void) {
  static char out[4096];
  struct dirent **e;
  int n = scandir(dir, &e, NULL, alphasort);
  out[0] = 0;
  for (int i = 0; i < n; i++) {
    if (strcmp(e[i]->d_name, ".") && strcmp(e[i]->d_name, ".."))
      snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", out[0] ? " " : "", e[i]->d_name);
    free(e[i]);
  }
  free(e);
  return out;
}

static int setup(void **state) {
  snprintf(dir, sizeof dir, "%s/ps-output-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  assert_non_null(mkdtemp(dir));
  snprintf(final_, sizeof final_, "%s/out.h5", dir);
  snprintf(victim, sizeof victim, "%s/victim", dir);
  return 0;
}

static int teardown(void **state) {
  DIR *dp = opendir(dir);
  for (struct dirent *e; dp && (e = readdir(dp));) {
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlink(p);
  }
  if (dp) closedir(dp);
  rmdir(dir);
  return 0;
}

/* Run fn in a child; its exit status, its stderr in err. */
static int in_child(void (*fn)(void), char *err, size_t n) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    fn();
    _exit(0);
  }
  close(fds[1]);
  ssize_t got = read(fds[0], err, n - 1), more;
  char sink[256];
  while ((more = read(fds[0], sink, sizeof sink)) > 0) {}
  err[got > 0 ? got : 0] = 0;
  close(fds[0]);
  int status;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void commit_makes_it_appear(void **state) {
  ps_output_t *o = out_begin(final_, 0);
  const char *tmp = out_tmp(o);
  char prefix[400];
  snprintf(prefix, sizeof prefix, "%s.tmp-%ld-", final_, (long)getpid());
  assert_memory_equal(tmp, prefix, strlen(prefix)); /* beside the final name, this process's */
  assert_true(exists(tmp) && mode_of(tmp) == 0600);
  assert_false(exists(final_));
  char lock[PATH_MAX + 8];
  snprintf(lock, sizeof lock, "%s.lock", final_);
  assert_true(exists(lock));
  put(tmp, "new");
  char keep[PATH_MAX];
  snprintf(keep, sizeof keep, "%s", tmp);
  assert_false(exists(final_)); /* written, not yet committed */
  out_commit(o);
  assert_true(holds(final_, "new") && mode_of(final_) == 0640);
  assert_false(exists(keep));
  assert_string_equal(listing(), "out.h5"); /* no temporary, no lock */
}

static void commit_replaces_an_earlier_output(void **state) {
  put(final_, "old");
  ps_output_t *o = out_begin(final_, 0);
  put(out_tmp(o), "new");
  assert_true(holds(final_, "old"));
  out_commit(o);
  assert_true(holds(final_, "new"));
  assert_string_equal(listing(), "out.h5");
}

static void abort_leaves_no_file_and_the_old_one_untouched(void **state) {
  ps_output_t *o = out_begin(final_, 0);
  put(out_tmp(o), "half");
  out_abort(o);
  assert_string_equal(listing(), ""); /* no output, no temporary, no lock */
  put(final_, "old");
  struct stat before, after;
  assert_int_equal(stat(final_, &before), 0);
  o = out_begin(final_, 0);
  put(out_tmp(o), "half");
  out_abort(o);
  assert_int_equal(stat(final_, &after), 0);
  assert_true(holds(final_, "old") && before.st_ino == after.st_ino && before.st_mtime == after.st_mtime);
  assert_string_equal(listing(), "out.h5");
}

static void a_partial_stays_for_the_same_run(void **state) {
  int existed = -1;
  ps_output_t *o = out_begin_partial(final_, 0xabcdefull, &existed);
  assert_int_equal(existed, 0);
  char name[PATH_MAX + 32];
  snprintf(name, sizeof name, "%s.partial-0000000000abcdef", final_);
  assert_string_equal(out_tmp(o), name);
  put(name, "blocks 0-3");
  out_keep(o); /* stopped */
  assert_string_equal(listing(), "out.h5.partial-0000000000abcdef");
  o = out_begin_partial(final_, 0xabcdefull, &existed);
  assert_int_equal(existed, 1);
  assert_true(holds(out_tmp(o), "blocks 0-3"));
  put(out_tmp(o), "all blocks");
  out_commit(o);
  assert_true(holds(final_, "all blocks"));
  assert_string_equal(listing(), "out.h5");
}

static void leftovers_of_dead_runs_only(void **state) {
  fflush(NULL);
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, NULL, 0);
  char p[PATH_MAX + 64];
  snprintf(p, sizeof p, "%s.tmp-%ld-0badcafe", final_, (long)dead);
  put(p, "left by a dead run");
  snprintf(p, sizeof p, "%s.tmp-%ld-0badcafe", final_, (long)getppid()); /* a live process's */
  put(p, "live");
  snprintf(p, sizeof p, "%s.tmp-backup", final_);
  put(p, "a user's file");
  ps_output_t *o = out_begin(final_, 0);
  out_abort(o);
  char want[256];
  snprintf(want, sizeof want, "out.h5.tmp-%ld-0badcafe out.h5.tmp-backup", (long)getppid());
  assert_string_equal(listing(), want);
}

static void begin_on_final(void) { out_begin(final_, 0); }
static void begin_partial(void) {
  int e;
  out_begin_partial(final_, 0x42, &e);
}

static void planted_symlinks_are_refused(void **state) {
  char err[2048], lock[PATH_MAX + 8], partial[PATH_MAX + 32];
  put(victim, "someone else's");
  snprintf(lock, sizeof lock, "%s.lock", final_);
  assert_int_equal(symlink(victim, lock), 0);
  assert_int_equal(in_child(begin_on_final, err, sizeof err), 1);
  assert_non_null(strstr(err, "propscore: error: cannot create lock"));
  assert_true(holds(victim, "someone else's"));
  char msg[1024] = {0}; /* a directory output: the same lock, refused without dying */
  assert_null(out_dir_begin(final_, msg, sizeof msg));
  assert_non_null(strstr(msg, "cannot create lock"));
  unlink(lock);
  snprintf(partial, sizeof partial, "%s.partial-0000000000000042", final_);
  assert_int_equal(symlink(victim, partial), 0);
  assert_int_equal(in_child(begin_partial, err, sizeof err), 1);
  assert_non_null(strstr(err, "is not a regular file; remove it"));
  assert_true(holds(victim, "someone else's"));
  assert_string_equal(listing(), "out.h5.partial-0000000000000042 victim"); /* the lock's name went too */
}

static void a_second_writer_is_refused(void **state) {
  char err[2048];
  ps_output_t *o = out_begin(final_, 0);
  assert_int_equal(in_child(begin_on_final, err, sizeof err), 1);
  assert_non_null(strstr(err, "another propscore run is writing"));
  put(out_tmp(o), "first");
  out_commit(o);
  assert_true(holds(final_, "first"));
  assert_string_equal(listing(), "out.h5");
}

static void check_output_is_input(void) {
  ps_path_t in[1] = {{.role = "--data", .path = victim}}, out[1] = {{.role = "--out", .path = final_}};
  out_check_paths(in, 1, out, 1);
}

static void an_output_that_is_an_input_is_refused(void **state) {
  char err[2048];
  put(victim, "input");
  assert_int_equal(symlink(victim, final_), 0); /* the output's name leads to the input */
  assert_int_equal(in_child(check_output_is_input, err, sizeof err), 1);
  assert_non_null(strstr(err, "refusing to overwrite an input"));
  assert_true(holds(victim, "input"));
}

int main(void) {
  comm_init(NULL, NULL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(commit_makes_it_appear, setup, teardown),
      cmocka_unit_test_setup_teardown(commit_replaces_an_earlier_output, setup, teardown),
      cmocka_unit_test_setup_teardown(abort_leaves_no_file_and_the_old_one_untouched, setup, teardown),
      cmocka_unit_test_setup_teardown(a_partial_stays_for_the_same_run, setup, teardown),
      cmocka_unit_test_setup_teardown(leftovers_of_dead_runs_only, setup, teardown),
      cmocka_unit_test_setup_teardown(planted_symlinks_are_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(a_second_writer_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(an_output_that_is_an_input_is_refused, setup, teardown)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
