/* checkpoint.h: a segment fit's state between two Lloyd iterations
 * (models/kmeans/fit.h km_state_t: the restart under way, its centers,
 * iteration, last inertia and re-seeds, and the best restart so far) to and
 * from HDF5, so that a stopped segment resumes and ends bitwise identical to
 * one that never stopped. No rng state is needed: every draw hashes ids
 * with the seed and the restart. */
#ifndef PS_KMEANS_CHECKPOINT_H
#define PS_KMEANS_CHECKPOINT_H
#include "models/kmeans/fit.h"

/* Collective: rank 0 writes atomically. */
void km_ckpt_save(const char *path, const char *fingerprint, const km_state_t *s);
/* Every rank: 0 if there is none; 1 with *s (made by km_state_init for this
 * k and c) restored. Dies naming the first differing setting if it is
 * another run's. */
int km_ckpt_load(const char *path, const char *fingerprint, km_state_t *s);
#endif
