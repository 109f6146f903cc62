/* manifest.c: the run manifest (see manifest.h). */
#define _POSIX_C_SOURCE 200809L
#include "io/manifest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "comm/comm.h"
#include "core/rng.h"
#include "core/util.h"
#include "io/output.h"

static cJSON *root, *inputs, *outputs, *params, *phases, *metrics;
static char *target;
static double t_start;
static const char *saved_command;
static int saved_argc;
static char **saved_argv;

static int finish(int exit_status, const char *message, int writer, char *err, size_t n);
/* A fatal error: called on the rank that reports it, which writes the record. */
static void on_fatal(int code, const char *msg) {
  char err[1024];
  if (finish(code, msg, 1, err, sizeof err)) fprintf(stderr, "propscore: warning: %s\n", err);
}

/* Decode one UTF-8 sequence at s: its length, or 0 if invalid. */
static int utf8_len(const unsigned char *s) {
  if (s[0] < 0x80) return 1;
  int n = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
  if (!n || (n == 2 && s[0] < 0xC2) || s[0] > 0xF4) return 0;
  for (int i = 1; i < n; i++)
    if ((s[i] & 0xC0) != 0x80) return 0;
  if (n == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0))) return 0; /* overlong, surrogates */
  if (n == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))) return 0;
  return n;
}

char *manifest_utf8(const char *s) {
  size_t n = strlen(s);
  char *out = ps_malloc(3 * n + 1), *o = out;
  for (const unsigned char *p = (const unsigned char *)s; *p;) {
    int l = utf8_len(p);
    if (l) {
      memcpy(o, p, (size_t)l);
      o += l;
      p += l;
    } else {
      memcpy(o, "\xEF\xBF\xBD", 3); /* U+FFFD */
      o += 3;
      p++;
    }
  }
  *o = 0;
  return out;
}

static uint64_t ps_wall_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void add_str(cJSON *obj, const char *name, const char *value) {
  char *v = manifest_utf8(value ? value : "");
  cJSON_AddStringToObject(obj, name, v);
  free(v);
}

void manifest_restart(void) {
  if (root) cJSON_Delete(root);
  root = NULL;
  free(target);
  target = NULL;
  manifest_begin(saved_command, saved_argc, saved_argv);
}

void manifest_begin(const char *command, int argc, char **argv) {
  saved_command = command;
  saved_argc = argc;
  saved_argv = argv;
  root = cJSON_CreateObject();
  char ts[64];
  ps_timestamp_now(ts, sizeof ts);
  add_str(root, "command", command);
  cJSON *a = cJSON_AddArrayToObject(root, "argv");
  for (int i = 0; i < argc; i++) {
    char *v = manifest_utf8(argv[i]);
    cJSON_AddItemToArray(a, cJSON_CreateString(v));
    free(v);
  }
  add_str(root, "propscore_version", PROPSCORE_VERSION);
  /* the run's id: rank 0's clock, pid and host, the same on every rank */
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  uint64_t id = ps_mix64((uint64_t)(ps_wall_ns()) ^ ps_mix64((uint64_t)getpid()) ^ crc32(0L, (const Bytef *)host, (uInt)strlen(host)));
  comm_bcast(&id, sizeof id, 0);
  char ids[20];
  snprintf(ids, sizeof ids, "%016llx", (unsigned long long)id);
  add_str(root, "run_id", ids);
  add_str(root, "started", ts);
  cJSON_AddNumberToObject(root, "ranks", ps_size);
  const char *job = getenv("SLURM_JOB_ID");
  if (job) add_str(root, "slurm_job_id", job);
  cJSON_AddArrayToObject(root, "devices");
  inputs = cJSON_AddArrayToObject(root, "inputs");
  params = cJSON_AddObjectToObject(root, "parameters");
  phases = cJSON_AddObjectToObject(root, "phases_s");
  metrics = cJSON_AddObjectToObject(root, "metrics");
  outputs = cJSON_AddArrayToObject(root, "outputs");
  t_start = ps_now();
  ps_on_fatal(on_fatal);
}

void manifest_set_output(const char *output) {
  if (!root) return;
  free(target);
  target = ps_sprintf("%s.manifest.json", output);
}

static unsigned long crc_file(const char *path) {
  unsigned long crc = crc32(0L, Z_NULL, 0);
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  unsigned char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) crc = crc32(crc, buf, (uInt)n);
  fclose(f);
  return crc;
}

static cJSON *file_entry(const char *role, const char *path, int checksum) {
  cJSON *o = cJSON_CreateObject();
  add_str(o, "role", role);
  add_str(o, "path", path);
  struct stat st;
  if (stat(path, &st) == 0) {
    cJSON_AddNumberToObject(o, "size", (double)st.st_size);
    cJSON_AddNumberToObject(o, "mtime", (double)st.st_mtime);
    if (checksum && ps_rank == 0) { /* the record is rank 0's to write in the normal case */
      char hex[16];
      snprintf(hex, sizeof hex, "%08lx", crc_file(path));
      add_str(o, "crc32", hex);
    }
  }
  return o;
}

void manifest_input(const char *role, const char *path, int checksum) {
  if (root) cJSON_AddItemToArray(inputs, file_entry(role, path, checksum));
}
void manifest_output(const char *role, const char *path) {
  if (root) cJSON_AddItemToArray(outputs, file_entry(role, path, 0));
}
void manifest_param_str(const char *name, const char *value) {
  if (root) add_str(params, name, value);
}
void manifest_param_num(const char *name, double value) {
  if (root) cJSON_AddNumberToObject(params, name, value);
}
void manifest_params(const ps_option_t *opts, const void *base) {
  for (const ps_option_t *o = opts; o->name || o->help; o++) {
    if (!o->name || !o->manifest) continue;
    const void *f = opts_field(o, base);
    switch (o->type) {
      case OPT_STR: manifest_param_str(o->manifest, *(const char *const *)f); break;
      case OPT_CHOICE: manifest_param_str(o->manifest, o->choices[*(const int *)f]); break;
      case OPT_DOUBLE: manifest_param_num(o->manifest, *(const double *)f); break;
      case OPT_FLAG: case OPT_INT: manifest_param_num(o->manifest, *(const int *)f); break;
      case OPT_I64: case OPT_SIZE: manifest_param_num(o->manifest, (double)*(const int64_t *)f); break;
      case OPT_U64: manifest_param_num(o->manifest, (double)*(const uint64_t *)f); break;
    }
  }
}
void manifest_phase(const char *name, double seconds) {
  if (root) cJSON_AddNumberToObject(phases, name, seconds);
}
void manifest_device(const char *device) {
  if (root) cJSON_AddItemToArray(cJSON_GetObjectItem(root, "devices"), cJSON_CreateString(device));
}
cJSON *manifest_metrics(void) { return metrics; }

void manifest_finish(int exit_status, const char *message) {
  if (!root) return;
  char err[1024] = "";
  int64_t bad = finish(exit_status, message, ps_rank == 0, err, sizeof err);
  comm_bcast(&bad, sizeof bad, 0);
  comm_bcast(err, sizeof err, 0);
  if (!bad) return;
  if (exit_status == 0) ps_die_all(PS_EXIT_ERROR, "%s", err); /* the manifest is one of the run's outputs */
  ps_warn("%s", err); /* the run fails or stops anyway: its own status stands */
}

/* Write the record (if writer) and drop it; 0, or 1 and err when it cannot
 * be written (an earlier run's manifest is removed: it is not this output's). */
static int finish(int exit_status, const char *message, int writer, char *err, size_t n) {
  if (!root) return 0;
  int bad = 0;
  ps_on_fatal(NULL);
  char ts[64];
  ps_timestamp_now(ts, sizeof ts);
  add_str(root, "finished", ts);
  cJSON_AddNumberToObject(root, "wall_s", ps_now() - t_start);
  cJSON_AddNumberToObject(root, "exit_status", exit_status);
  add_str(root, "status", exit_status == 0 ? "ok" : message ? message : "failed");
  if (target && writer) {
    char *text = cJSON_Print(root);
    char *line = ps_sprintf("%s\n", text);
    if (out_write_small(target, line, 0640) != 0) {
      const char *why = strerror(errno);
      int removed = unlink(target) == 0;
      snprintf(err, n, "cannot write the manifest %s: %s; the output beside it is complete, but has no manifest%s",
               target, why, removed ? " (an earlier run's one there is removed)" : "");
      bad = 1;
    }
    free(line);
    free(text);
  }
  cJSON_Delete(root);
  root = NULL;
  free(target);
  target = NULL;
  return bad;
}
