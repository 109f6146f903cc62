/* score.h: the score job -- every customer's probability for every head of
 * a model of any kind, streamed through the block pipeline, written
 * collectively to a resumable partial file and renamed when complete. */
#ifndef PS_SCORE_H
#define PS_SCORE_H
#include <stdint.h>

#include "core/options.h"

typedef struct {
  const char *data, *model, *out, *device;
  int64_t block_rows; /* 0: about 64 MiB of features a block */
  int reject_nonfinite;
  int explain;        /* --explain N: the N strongest reasons per customer and head (0: none) */
} score_opts_t;

/* `propscore score`: its options (one table) and help. */
extern const ps_cmd_spec_t score_cmd;

/* Collective; returns the exit code (0, or PS_EXIT_STOPPED after a stop
 * signal with the finished blocks kept for a resume). */
int score_run(const score_opts_t *o);
#endif
