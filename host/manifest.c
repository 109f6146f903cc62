/* manifest.c: the run manifest (see manifest.h). */
#define _POSIX_C_SOURCE 200809L
#include "manifest.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util.h"

static cJSON *root, *inputs, *outputs, *params, *phases, *metrics;
static char *target;
static double t_start;

static void on_fatal(int code, const char *msg) { manifest_finish(code, msg); }

void manifest_begin(const char *command, int argc, char **argv) {
  if (ps_rank != 0) return;
  root = cJSON_CreateObject();
  char ts[64];
  ps_timestamp_now(ts, sizeof ts);
  cJSON_AddStringToObject(root, "command", command);
  cJSON *a = cJSON_AddArrayToObject(root, "argv");
  for (int i = 0; i < argc; i++) cJSON_AddItemToArray(a, cJSON_CreateString(argv[i]));
  cJSON_AddStringToObject(root, "propscore_version", PROPSCORE_VERSION);
  cJSON_AddStringToObject(root, "started", ts);
  cJSON_AddNumberToObject(root, "ranks", ps_size);
  const char *job = getenv("SLURM_JOB_ID");
  if (job) cJSON_AddStringToObject(root, "slurm_job_id", job);
  cJSON_AddArrayToObject(root, "devices");
  inputs = cJSON_AddArrayToObject(root, "inputs");
  params = cJSON_AddObjectToObject(root, "parameters");
  phases = cJSON_AddObjectToObject(root, "phases_s");
  metrics = cJSON_AddObjectToObject(root, "metrics");
  outputs = cJSON_AddArrayToObject(root, "outputs");
  t_start = ps_now();
  ps_on_fatal = on_fatal;
}

void manifest_set_output(const char *output) {
  if (!root) return;
  free(target);
  size_t n = strlen(output) + 32;
  target = ps_malloc(n);
  snprintf(target, n, "%s.manifest.json", output);
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
  cJSON_AddStringToObject(o, "role", role);
  cJSON_AddStringToObject(o, "path", path);
  struct stat st;
  if (stat(path, &st) == 0) {
    cJSON_AddNumberToObject(o, "size", (double)st.st_size);
    cJSON_AddNumberToObject(o, "mtime", (double)st.st_mtime);
    if (checksum) {
      char hex[16];
      snprintf(hex, sizeof hex, "%08lx", crc_file(path));
      cJSON_AddStringToObject(o, "crc32", hex);
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
  if (root) cJSON_AddStringToObject(params, name, value);
}
void manifest_param_num(const char *name, double value) {
  if (root) cJSON_AddNumberToObject(params, name, value);
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
  ps_on_fatal = NULL;
  char ts[64];
  ps_timestamp_now(ts, sizeof ts);
  cJSON_AddStringToObject(root, "finished", ts);
  cJSON_AddNumberToObject(root, "wall_s", ps_now() - t_start);
  cJSON_AddNumberToObject(root, "exit_status", exit_status);
  cJSON_AddStringToObject(root, "status", exit_status == 0 ? "ok" : message ? message : "failed");
  if (target) {
    char *text = cJSON_Print(root);
    size_t n = strlen(target) + 32;
    char *tmp = ps_malloc(n);
    snprintf(tmp, n, "%s.tmp-%ld", target, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    int ok = fd >= 0;
    if (ok) {
      size_t len = strlen(text);
      ok = write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
      ok = close(fd) == 0 && ok;
    }
    if (!ok || ps_commit_file(tmp, target) != 0) {
      unlink(tmp);
      fprintf(stderr, "propscore: warning: cannot write manifest %s\n", target);
    }
    free(tmp);
    free(text);
  }
  cJSON_Delete(root);
  root = NULL;
  free(target);
  target = NULL;
}
