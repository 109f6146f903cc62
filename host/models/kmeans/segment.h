/* segment.h: the segment job -- k-means personas of every customer
 * (models/kmeans/fit.h), their profiles, and assignment of new customers
 * to a saved model's personas. */
#ifndef PS_SEGMENT_H
#define PS_SEGMENT_H
#include <stdint.h>

typedef struct {
  const char *data, *out, *model, *columns, *scores;
  int k, k_lo, k_hi; /* k_lo > 0: --k-range */
  int n_init, max_iter, top, json;
  double tol;
  uint64_t seed;
  int cuda;       /* --device: Lloyd iterations on the GPU */
  int64_t sample; /* silhouette sample rows (--k-range) */
} segment_opts_t;

int segment_run(const segment_opts_t *o);
#endif
