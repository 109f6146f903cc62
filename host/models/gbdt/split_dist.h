/* split_dist.h: a leaf's histogram and best split across ranks, LightGBM's
 * data-parallel way (issue 26). The features are cut into P blocks of
 * whole features, contiguous and balanced by bins, the same cut on every
 * rank (from bin_off alone). A leaf's local histograms are
 * reduce-scattered: rank r keeps the all-rank sums of block r only (and the
 * subtraction trick works block by block). Each rank searches its block's
 * splits; the ranks' bests are exchanged (an allgather of one ps_split_t a
 * rank and leaf) and every rank picks the same one by the serial search's
 * order: higher gain, then lower feature (bins and sides of one feature are
 * already ordered by the block's search, as in split_cpu.c). So the split,
 * and the model, are the serial search's bits for any P.
 * Bytes a rank sends a histogram of S bytes (ring/halving algorithms):
 * allreduce 2 (P-1)/P S, reduce-scatter (P-1)/P S, then P sizeof(ps_split_t)
 * for the bests (docs/SCALING.md). */
#ifndef PS_GBDT_SPLIT_DIST_H
#define PS_GBDT_SPLIT_DIST_H
#include <stddef.h>
#include <stdint.h>

#include "gbdt/gbdt_cpu.h"
#include "models/gbdt/backend.h"
#include "models/gbdt/binning.h"

typedef struct {
  int P, rank;
  int64_t j0, j1;  /* this rank's features [j0, j1) */
  int64_t q0, nq;  /* their bins: [q0, q0 + nq) */
  int64_t *boff;   /* [j1 - j0 + 1] their bin_off, from 0 */
  int w;           /* values a bin: PS_HIST_W exact, 2 quantized */
  size_t len;      /* values of this rank's block histogram: w nq */
  size_t most;     /* values of the largest block (the same on every rank) */
  size_t *counts;  /* [P] values of each rank's block */
  int64_t *local;  /* P > 1: this rank's whole local histogram [total_bins][w] */
  int64_t *whole3; /* P > 1, device split search: [total_bins][3], this block in place, the rest 0 */
  uint8_t *use;    /* [f] its mask: this block's features (and the tree's) */
} ps_dist_t;

/* Rank r's block: features [first[r], first[r+1]), r < P (first[P+1]):
 * each cut at the feature boundary nearest to r total_bins / P. */
void dist_blocks(const int64_t *bin_off, int64_t f, int P, int64_t *first);
/* The plan of `rank` among P; device_search: the backend searches splits. */
void dist_init(ps_dist_t *d, const ps_bins_t *bins, int w, int P, int rank, int device_search);
void dist_free(ps_dist_t *d);
/* Where the backend writes a leaf's local histogram: d->local, or (P = 1)
 * the block itself. Then dist_reduce: the block's all-rank sums. Collective. */
int64_t *dist_local(ps_dist_t *d, int64_t *block);
void dist_reduce(ps_dist_t *d, int64_t *block);
/* This rank's best split of a leaf (sums G, H, N) from its block's
 * histogram h3 [nq][3] in the split search's units; features of the tree
 * only (use, may be NULL); feature numbers global. */
void dist_search(ps_dist_t *d, ps_gbdt_backend_t *b, const int64_t *h3, const uint8_t *use, int64_t G, int64_t H,
                 int64_t N, const ps_split_params_t *p, ps_split_t *best);
/* The serial search's winner among n candidates (stride apart): the
 * highest gain, then the lowest feature; c[0] if none has a feature. */
ps_split_t dist_pick(const ps_split_t *c, int n, int stride);
/* Every rank's k bests (best[k]) exchanged, each replaced by the winner
 * over ranks. Collective. */
void dist_exchange(ps_split_t *best, int k);
#endif
