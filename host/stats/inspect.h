/* inspect.h: the inspect job -- shape, chunking, per-feature statistics
 * (computed distributed, streamed through the block pipeline) and label
 * positive rates of a feature file, printed as a table or JSON. */
#ifndef PS_INSPECT_H
#define PS_INSPECT_H
typedef struct {
  const char *path;
  int json;
} inspect_opts_t;
/* Collective; 0, or PS_EXIT_STOPPED on a stop signal. */
int inspect_run(const inspect_opts_t *o);
#endif
