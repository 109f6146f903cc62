/* manifest.h: the run manifest, a JSON file next to an output
 * (<output>.manifest.json): command and arguments, inputs (path, size,
 * mtime, CRC-32 of small ones such as models), parameters, ranks, devices,
 * software version, per-phase timings, metrics, outputs and exit status.
 * Written by rank 0, atomically, also when the run fails. No customer ids
 * or feature values ever go in it. */
#ifndef PS_MANIFEST_H
#define PS_MANIFEST_H
#include <cJSON.h>

void manifest_begin(const char *command, int argc, char **argv);
/* Where the manifest goes: <output>.manifest.json. */
void manifest_set_output(const char *output);
void manifest_input(const char *role, const char *path, int checksum);
void manifest_output(const char *role, const char *path);
void manifest_param_str(const char *name, const char *value);
void manifest_param_num(const char *name, double value);
void manifest_phase(const char *name, double seconds);
void manifest_device(const char *device);
/* Object under "metrics" to fill (NULL on ranks other than 0). */
cJSON *manifest_metrics(void);
/* Write it with this exit status (0 ok, else the error message). */
void manifest_finish(int exit_status, const char *message);
#endif
