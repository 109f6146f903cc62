/* fingerprint.c: run fingerprints (see fingerprint.h). */
#define _POSIX_C_SOURCE 200809L
#include "core/fingerprint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"

void fp_init(ps_fp_t *f) {
  f->cap = 256;
  f->len = 0;
  f->s = ps_malloc(f->cap);
  f->s[0] = 0;
}
void fp_free(ps_fp_t *f) {
  free(f->s);
  f->s = NULL;
  f->len = f->cap = 0;
}

static void put(ps_fp_t *f, const char *s, size_t n) {
  if (f->len + n + 1 > f->cap) {
    while (f->len + n + 1 > f->cap) f->cap *= 2;
    f->s = ps_realloc(f->s, f->cap);
  }
  memcpy(f->s + f->len, s, n);
  f->len += n;
  f->s[f->len] = 0;
}

void fp_str(ps_fp_t *f, const char *key, const char *value) {
  if (f->len) put(f, ";", 1);
  put(f, key, strlen(key));
  put(f, "=", 1);
  for (const char *p = value ? value : "(none)"; *p; p++) {
    if (*p == ';' || *p == '%') {
      char esc[4];
      snprintf(esc, sizeof esc, "%%%02X", (unsigned)(unsigned char)*p);
      put(f, esc, 3);
    } else {
      put(f, p, 1);
    }
  }
}
void fp_int(ps_fp_t *f, const char *key, long long value) {
  char b[32];
  snprintf(b, sizeof b, "%lld", value);
  fp_str(f, key, b);
}
void fp_num(ps_fp_t *f, const char *key, double value) {
  char b[40];
  snprintf(b, sizeof b, "%.17g", value);
  fp_str(f, key, b);
}
void fp_file(ps_fp_t *f, const char *key, const char *path) {
  struct stat st;
  memset(&st, 0, sizeof st);
  stat(path, &st);
  char k[128];
  fp_str(f, key, path);
  snprintf(k, sizeof k, "%s_size", key);
  fp_int(f, k, (long long)st.st_size);
  snprintf(k, sizeof k, "%s_mtime", key);
  fp_int(f, k, (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
  snprintf(k, sizeof k, "%s_inode", key);
  fp_int(f, k, (long long)st.st_ino);
}

uint64_t fp_hash(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

char *fp_first_difference(const char *stored, const char *current) {
  int na = 0, nb = 0;
  char **a = ps_split(stored ? stored : "", ';', &na), **b = ps_split(current, ';', &nb);
  char *out = NULL;
  for (int i = 0; i < nb && !out; i++)
    if (i >= na || strcmp(a[i], b[i])) out = ps_strdup(b[i]);
  if (!out && na != nb) out = ps_strdup("settings");
  ps_free_strv(a);
  ps_free_strv(b);
  return out;
}
