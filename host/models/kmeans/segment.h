/* segment.h: the segment job -- k-means personas of every customer
 * (models/kmeans/fit.h), their profiles (profile.h), and assignment of new
 * customers to a saved model's personas (model.h). A fit stopped by
 * SIGTERM/SIGUSR1 keeps its state in <out>.ckpt (checkpoint.h) and the same
 * command resumes it. */
#ifndef PS_SEGMENT_H
#define PS_SEGMENT_H
#include <stdint.h>

#include "core/options.h"

typedef struct {
  const char *data, *out, *model, *columns, *scores, *k_range, *device;
  int k, k_lo, k_hi; /* k_lo > 0: --k-range LO:HI */
  int n_init, max_iter, top, json;
  double tol;
  uint64_t seed;
  int cuda;       /* --device: Lloyd iterations on the GPU */
  int64_t sample; /* silhouette sample rows (--k-range) */
} segment_opts_t;

/* `propscore segment`: its options (one table) and help. */
extern const ps_cmd_spec_t segment_cmd;

/* Collective; returns the exit code (0, or PS_EXIT_STOPPED after a stop
 * signal, with the fit's checkpoint kept for a resume). */
int segment_run(const segment_opts_t *o);

/* --k-range (krange.c): inertia and a silhouette estimate for each k in
 * k_lo..k_hi of the standardized rows Xs [n][c] (ids [n]) of N in all. */
int segment_k_range(const segment_opts_t *o, const float *Xs, const int64_t *ids, int64_t n, int64_t c, int64_t N);
#endif
