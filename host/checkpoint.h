/* checkpoint.h: the training state between two passes -- every head's
 * optimizer (point, gradient, direction, line-search bracket, L-BFGS pairs)
 * and trace -- in a small HDF5 file, so that a stopped run resumes and ends
 * bitwise identical to one that never stopped. */
#ifndef PS_CHECKPOINT_H
#define PS_CHECKPOINT_H
#include "fit.h"
#include "optim.h"

/* Rank 0: write atomically (temporary name, fsync, rename). */
void ckpt_write(const char *path, const char *fingerprint, int k, const ps_opt_t *o, const fit_trace_t *tr);
/* Every rank: 0 if there is no checkpoint at path; 1 with o[] and tr[]
 * restored. Dies if the file is not a checkpoint of this very run. */
int ckpt_read(const char *path, const char *fingerprint, int k, ps_opt_t *o, fit_trace_t *tr);
#endif
