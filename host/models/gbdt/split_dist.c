/* split_dist.c: a leaf's histogram reduce-scattered by feature block and
 * its best split exchanged across ranks (split_dist.h). */
#include "models/gbdt/split_dist.h"

#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/util.h"

void dist_blocks(const int64_t *bin_off, int64_t f, int P, int64_t *first) {
  int64_t total = bin_off[f] - bin_off[0], j = 0;
  first[0] = 0;
  for (int r = 1; r < P; r++) {
    int64_t target = (int64_t)r * total; /* in units of 1/P bin */
    while (j < f && (int64_t)P * (bin_off[j + 1] - bin_off[0]) <= target) j++;
    /* features [0, j) end at or before the target; feature j crosses it */
    if (j < f && (int64_t)P * (bin_off[j + 1] - bin_off[0]) - target < target - (int64_t)P * (bin_off[j] - bin_off[0]))
      j++;
    first[r] = j;
  }
  first[P] = f;
}

void dist_init(ps_dist_t *d, const ps_bins_t *bins, int w, int P, int rank, int device_search) {
  int64_t *first = ps_malloc(sizeof(int64_t) * ((size_t)P + 1));
  dist_blocks(bins->bin_off, bins->f, P, first);
  *d = (ps_dist_t){.P = P, .rank = rank, .j0 = first[rank], .j1 = first[rank + 1], .w = w,
                   .counts = ps_malloc(sizeof(size_t) * (size_t)P)};
  for (int r = 0; r < P; r++) {
    d->counts[r] = (size_t)w * (size_t)(bins->bin_off[first[r + 1]] - bins->bin_off[first[r]]);
    if (d->counts[r] > d->most) d->most = d->counts[r];
  }
  d->q0 = bins->bin_off[d->j0];
  d->nq = bins->bin_off[d->j1] - d->q0;
  d->len = d->counts[rank];
  d->boff = ps_malloc(sizeof(int64_t) * (size_t)(d->j1 - d->j0 + 1));
  for (int64_t j = d->j0; j <= d->j1; j++) d->boff[j - d->j0] = bins->bin_off[j] - d->q0;
  if (P > 1) {
    d->local = ps_malloc(sizeof(int64_t) * (size_t)w * (size_t)(bins->total_bins > 0 ? bins->total_bins : 1));
    if (device_search) {
      d->whole3 = ps_calloc((size_t)PS_HIST_W * (size_t)bins->total_bins + 1, sizeof(int64_t));
      d->use = ps_calloc((size_t)bins->f + 1, 1);
    }
  }
  free(first);
}

void dist_free(ps_dist_t *d) {
  free(d->boff);
  free(d->counts);
  free(d->local);
  free(d->whole3);
  free(d->use);
  memset(d, 0, sizeof *d);
}

int64_t *dist_local(ps_dist_t *d, int64_t *block) { return d->P > 1 ? d->local : block; }

void dist_reduce(ps_dist_t *d, int64_t *block) {
  if (d->P > 1) comm_reduce_scatter_sum_i64(d->local, block, d->counts);
}

void dist_search(ps_dist_t *d, ps_gbdt_backend_t *b, const int64_t *h3, const uint8_t *use, int64_t G, int64_t H,
                 int64_t N, const ps_split_params_t *p, ps_split_t *best) {
  if (b->find_split && d->P == 1) {
    b->find_split(b, h3, use, G, H, N, p, best);
  } else if (b->find_split) { /* the device searches the whole layout: the other blocks masked off */
    if (d->nq) memcpy(d->whole3 + PS_HIST_W * d->q0, h3, sizeof(int64_t) * PS_HIST_W * (size_t)d->nq);
    for (int64_t j = d->j0; j < d->j1; j++) d->use[j] = !use || use[j];
    b->find_split(b, d->whole3, d->use, G, H, N, p, best);
  } else {
    ps_gbdt_split_cpu(h3, d->j1 - d->j0, d->boff, use ? use + d->j0 : NULL, G, H, N, p, best);
    if (best->feature >= 0) best->feature += (int32_t)d->j0;
  }
}

ps_split_t dist_pick(const ps_split_t *c, int n, int stride) {
  ps_split_t best = c[0];
  for (int i = 0; i < n; i++) {
    const ps_split_t *x = &c[(size_t)i * (size_t)stride];
    if (x->feature < 0) continue;
    if (best.feature < 0 || x->gain > best.gain || (x->gain == best.gain && x->feature < best.feature)) best = *x;
  }
  return best;
}

void dist_exchange(ps_split_t *best, int k) {
  if (ps_size == 1) return;
  ps_split_t *all = ps_malloc(sizeof(ps_split_t) * (size_t)k * (size_t)ps_size);
  comm_allgather(best, all, sizeof(ps_split_t) * (size_t)k);
  for (int i = 0; i < k; i++) best[i] = dist_pick(all + i, ps_size, k);
  free(all);
}
