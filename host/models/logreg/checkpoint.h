/* checkpoint.h: the logistic-regression training state between two passes
 * -- every head's optimizer (point, gradient, direction, line-search
 * bracket, direction-method state) and trace -- in a small HDF5 file, so a
 * stopped run resumes and ends bitwise identical to one that never stopped.
 * These are fit.h's checkpoint callbacks. */
#ifndef PS_LOGREG_CHECKPOINT_H
#define PS_LOGREG_CHECKPOINT_H
#include "models/logreg/fit.h"

typedef struct {
  const char *path;        /* the checkpoint file */
  const char *fingerprint; /* of this run: a checkpoint of another run is refused */
} ckpt_ctx_t;

/* Collective: rank 0 writes atomically (temporary name, fsync, rename). */
void ckpt_save(void *ctx, int k, const ps_opt_t *o, const fit_trace_t *tr);
/* Every rank: 0 if there is no checkpoint; 1 with o[] and tr[] restored.
 * Dies naming the first setting that differs if it is another run's. */
int ckpt_load(void *ctx, int k, const fit_opts_t *fo, int64_t n, ps_opt_t *o, fit_trace_t *tr);
#endif
