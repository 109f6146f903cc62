/* checkpoint_file.c: the checkpoint header of every kind (see checkpoint_file.h). */
#define _POSIX_C_SOURCE 200809L
#include "models/checkpoint_file.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "comm/comm.h"
#include "core/fingerprint.h"
#include "core/util.h"

ps_h5_t ckpt_file_create(ps_output_t *out, const char *model_type, const char *fingerprint) {
  ps_h5_t fid = h5_create(out_tmp(out), 0);
  h5_attr_i64(fid, "schema_version", PS_SCHEMA_VERSION);
  h5_attr_str(fid, "kind", "checkpoint");
  h5_attr_str(fid, "model_type", model_type);
  h5_attr_str(fid, "fingerprint", fingerprint);
  return fid;
}

int ckpt_file_open(const char *path, const char *model_type, const char *what, const char *option,
                   const char *fingerprint, ps_h5_t *fid) {
  int64_t present = ps_rank == 0 ? access(path, F_OK) == 0 : 0;
  comm_bcast(&present, sizeof present, 0);
  if (!present) return 0;
  *fid = h5_open(path, 0);
  char *kind = h5_get_attr_str(*fid, "kind"), *type = h5_get_attr_str(*fid, "model_type");
  char *fp = h5_get_attr_str(*fid, "fingerprint");
  if (!kind || strcmp(kind, "checkpoint") || !type || strcmp(type, model_type) || !fp)
    ps_die_all(PS_EXIT_ERROR, "%s: not a checkpoint of %s (move it away, or give another %s)", path, what, option);
  char *diff = fp_first_difference(fp, fingerprint);
  if (diff)
    ps_die_all(PS_EXIT_ERROR, "%s: checkpoint of a different run (this run has %s); remove it to start over", path,
               diff);
  free(kind);
  free(type);
  free(fp);
  return 1;
}
