/* inspect.h: the inspect job -- shape, chunking, per-feature statistics
 * (computed distributed, streamed through the block pipeline) and label
 * positive rates of a feature file, printed as a table or JSON. */
#ifndef PS_INSPECT_H
#define PS_INSPECT_H
#include <stdint.h>

#include "core/options.h"

typedef struct {
  const char *path;
  int json;
  int64_t block_rows; /* rows a rank reads at a time; 0: about 64 MiB */
} inspect_opts_t;
/* `propscore inspect`: its options (one table) and help. */
extern const ps_cmd_spec_t inspect_cmd;
/* Collective; 0, or PS_EXIT_STOPPED on a stop signal. */
int inspect_run(const inspect_opts_t *o);
#endif
