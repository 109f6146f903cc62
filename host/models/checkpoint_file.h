/* checkpoint_file.h: what every kind's checkpoint file writes and checks
 * alike (datasets/SCHEMA.md): the header attributes schema_version,
 * kind = "checkpoint", model_type and the run's fingerprint. The kinds'
 * checkpoint.c write and read their own state after it. */
#ifndef PS_CHECKPOINT_FILE_H
#define PS_CHECKPOINT_FILE_H
#include "io/h5.h"
#include "io/output.h"

/* Rank 0: the checkpoint file at out's temporary name, header written. */
ps_h5_t ckpt_file_create(ps_output_t *out, const char *model_type, const char *fingerprint);
/* Collective: 0 when there is no file at path (a fresh run); else opens
 * it into *fid on every rank, or dies with one line when it is not a
 * checkpoint of model_type (what: its name for the message; option: the
 * option naming the path) or of another run (the first difference of the
 * fingerprints). */
int ckpt_file_open(const char *path, const char *model_type, const char *what, const char *option,
                   const char *fingerprint, ps_h5_t *fid);
#endif
