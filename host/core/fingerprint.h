/* fingerprint.h: what a run is, as one string "key=value;key=value;...":
 * its inputs (path, size, modification time, inode), settings and rank
 * count. A checkpoint or a partial output stores it; a rerun resumes only
 * from state with an identical fingerprint, and names the first setting
 * that differs otherwise. Built with bounds (no fixed buffer). */
#ifndef PS_FINGERPRINT_H
#define PS_FINGERPRINT_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
  char *s;
  size_t len, cap;
} ps_fp_t;

void fp_init(ps_fp_t *f);
void fp_free(ps_fp_t *f);
void fp_str(ps_fp_t *f, const char *key, const char *value); /* ';' and '%' in values are %-escaped */
void fp_int(ps_fp_t *f, const char *key, long long value);
void fp_num(ps_fp_t *f, const char *key, double value);       /* exact (%.17g) */
/* key=path, then key_size, key_mtime (ns), key_inode of the file as it is now */
void fp_file(ps_fp_t *f, const char *key, const char *path);
/* 64-bit FNV-1a of the string: short names for per-run files. */
uint64_t fp_hash(const char *s);
/* The first "key=value" of `current` that differs from `stored` (a new
 * string), or NULL if they are equal. */
char *fp_first_difference(const char *stored, const char *current);
#endif
