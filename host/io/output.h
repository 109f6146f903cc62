/* output.h: outputs that never clobber and never half-exist.
 *  - Before any work, out_check_paths refuses an output that resolves (same
 *    path after realpath, or same inode) to an input or to another output,
 *    that exists and is not a regular file, whose directory is missing or
 *    not writable, whose temporary names would be too long, or whose name
 *    ends in .lock (the lock of another output's name).
 *  - An output is written under a unique temporary name in its own
 *    directory (created O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600), while the
 *    writer holds an exclusive lock on <final>.lock; out_commit fsyncs it,
 *    sets 0640, renames it over the final name and fsyncs the directory.
 *    A failure removes the temporary (on whichever rank fails).
 *  - Resumable outputs (score) use <final>.partial-<run id> instead, where
 *    the run id hashes the run's fingerprint: a stopped run's partial stays
 *    for the same job to resume and can never be taken by another job.
 * Holding the lock, a writer removes <final>.tmp-* left by dead runs. A
 * lock is an empty file: a non-empty <final>.lock is refused, never taken;
 * releasing it removes the name only while it is still the file we locked. */
#ifndef PS_OUTPUT_H
#define PS_OUTPUT_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
  const char *role; /* "--data", "--model", ... for messages */
  const char *path;
} ps_path_t;

/* Collective: rank 0 checks, every rank dies with the same message. */
void out_check_paths(const ps_path_t *inputs, int nin, const ps_path_t *outputs, int nout);

typedef struct ps_output ps_output_t;

/* Collective if parallel (every rank gets the same temporary name), else
 * called by the one rank that writes (rank 0). */
ps_output_t *out_begin(const char *final, int parallel);
/* Two steps, for a job that must own its output from the start but writes
 * it only at the end (train): out_lock takes <final>.lock now (a kill
 * before out_create leaves no temporary), out_create makes the temporary.
 * Collective if parallel. out_abort also undoes an out_lock alone. */
ps_output_t *out_lock(const char *final, int parallel);
void out_create(ps_output_t *o);
/* Resumable: the temporary is <final>.partial-<runid>; *exists tells
 * whether a stopped run of this same job left it. Collective. */
ps_output_t *out_begin_partial(const char *final, uint64_t runid, int *exists);
const char *out_tmp(const ps_output_t *o);
/* Rank 0 holding o: one more temporary beside o's, made the same way
 * (<final>.tmp-<pid>-<8 hex>, O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600,
 * removed if the run fails and, if the process dies, by the next writer of
 * <final>), for a file the output is made from (export's CSV for Parquet).
 * Returns its descriptor open for writing and sets *path (the caller
 * frees it; out_side_remove removes it); -1 on failure, *path NULL. */
int out_side_tmp(const ps_output_t *o, char **path);
void out_side_remove(char *path);
/* The file is closed on every rank: make it final (collective if parallel).
 * Dies if the rename fails. */
void out_commit(ps_output_t *o);
/* Stopped by a signal: keep the partial for a resume, release the lock. */
void out_keep(ps_output_t *o);
/* Give up: remove the temporary, release the lock. */
void out_abort(ps_output_t *o);

/* Directory outputs (eval --report DIR), rank 0 alone. out_check_dir: the
 * directory's parent exists and is writable, the directory is none of the
 * inputs nor holds one, and if it exists it is empty or an earlier output
 * (it holds OUT_DIR_MARKER); 0, or fills msg. out_dir_begin takes
 * <final>.lock, cleans what dead runs left (only the exact temporary names
 * <final>.tmp-<pid>-<8 hex> and <final>.tmp-old-<pid> of dead pids; the
 * latter is put back when <final> is missing), checks <final> again (it may
 * have changed since out_check_dir) and makes the temporary directory
 * <final>.tmp-<pid>-<hex> (0700); NULL and msg on failure. out_dir_commit
 * writes the marker, sets 0750, checks <final> a last time and swaps the
 * temporary in (renameat2 RENAME_EXCHANGE, else two renames), then removes
 * the old tree only if it is still an earlier output or empty (else it is
 * swapped back); 0, or fills msg -- on failure it has already aborted (the
 * old directory is in place, the lock released). out_dir_abort removes the
 * temporary tree and releases the lock. Tests: PROPSCORE_FAULT_DIR (output.c). */
#define OUT_DIR_MARKER ".propscore-report"
int out_check_dir(const char *role, const char *path, const ps_path_t *inputs, int nin, char *msg, size_t n);
ps_output_t *out_dir_begin(const char *final, char *msg, size_t n);
int out_dir_commit(ps_output_t *o, char *msg, size_t n);
void out_dir_abort(ps_output_t *o);

/* Rank 0: write `text` to `final` (small files: manifests, progress) with
 * the same temporary-name discipline, without a lock. 0 on success, else
 * -1 with errno set (the temporary removed). */
int out_write_small(const char *final, const char *text, int mode);
#endif
