/* manifest.h: the run manifest, a JSON file next to an output
 * (<output>.manifest.json): a run id (16 hex digits, unique per run), command and arguments, inputs (path, size,
 * mtime, CRC-32 of small ones such as models), parameters, ranks, devices,
 * software version, per-phase timings, metrics, outputs and exit status.
 * Every rank keeps the same record, so that whichever rank meets a fatal
 * error writes it (rank 0 otherwise), atomically, also when the run fails.
 * No customer ids or feature values ever go in it; strings that are not
 * valid UTF-8 (paths) are stored with U+FFFD in place of the bad bytes. */
#ifndef PS_MANIFEST_H
#define PS_MANIFEST_H
#include <cJSON.h>

#include "core/options.h"

void manifest_begin(const char *command, int argc, char **argv);
/* A fresh record with the same command and arguments (one command that
 * runs several jobs, each with its own manifest). */
void manifest_restart(void);
/* Where the manifest goes: <output>.manifest.json. */
void manifest_set_output(const char *output);
void manifest_input(const char *role, const char *path, int checksum);
void manifest_output(const char *role, const char *path);
void manifest_param_str(const char *name, const char *value);
void manifest_param_num(const char *name, double value);
/* The parameters of every option-table line with .manifest, in table
 * order: strings and choices as text, the rest as numbers. */
void manifest_params(const ps_option_t *opts, const void *base);
void manifest_phase(const char *name, double seconds);
void manifest_device(const char *device);
/* Object under "metrics" to fill (NULL before manifest_begin). */
cJSON *manifest_metrics(void);
/* Write it with this exit status (0 ok, else the message). Collective:
 * rank 0 writes; if it cannot, a run that succeeded fails on every rank
 * (exit 1, one error line), else a warning. */
void manifest_finish(int exit_status, const char *message);
/* A string as valid UTF-8 (invalid bytes become U+FFFD); caller frees. */
char *manifest_utf8(const char *s);
#endif
