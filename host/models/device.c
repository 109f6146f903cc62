/* device.c: the collective choice of the compute device and the placement
 * of ranks on a node's GPUs (see device.h). */
#define _POSIX_C_SOURCE 200809L
#include "models/device.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "comm/comm.h"
#include "core/parse.h"
#include "core/util.h"
#ifdef PROPSCORE_HAVE_CUDA
#include "common/cuda_probe.h"
#endif

#define MAXV 64 /* GPUs a rank can see, at most */

int device_count(void) {
#ifdef PROPSCORE_HAVE_CUDA
  char desc[256];
  return ps_cuda_probe(desc, sizeof desc);
#else
  return 0;
#endif
}

int device_choose(const char *device) {
  static const char *const choices[] = {"cpu", "cuda", "auto", NULL};
  int which = ps_parse_choice("--device", device, choices);
  if (which == 0) return 0;
#ifdef PROPSCORE_HAVE_CUDA
  int64_t none = device_count() == 0;
  comm_allreduce_sum_i64(&none, 1);
  if (which == 1 && none)
    ps_die_all(PS_EXIT_ERROR, "--device cuda: %lld of %d ranks see no CUDA device", (long long)none, ps_size);
  return none == 0;
#else
  if (which == 1)
    ps_die_all(PS_EXIT_USAGE, "--device cuda: this propscore was built without CUDA (-DPROPSCORE_CUDA=ON)");
  return 0;
#endif
}

typedef struct {
  int32_t n;                   /* GPUs the rank sees */
  unsigned char uuid[MAXV][16]; /* theirs, in the order it sees them */
} seen_t;

static int same(const unsigned char *a, const unsigned char *b) { return memcmp(a, b, 16) == 0; }

/* Ranks of the first `upto` on GPU g (pick[r]: the GPU each chose, -1: none). */
static int users(const int *pick, int upto, int g) {
  int u = 0;
  for (int r = 0; r < upto; r++) u += pick[r] == g;
  return u;
}

void device_place_ranks(int L, const int *nseen, const int *seen, int maxv, int me, device_place_t *p) {
  int *pick = ps_malloc(sizeof(int) * (size_t)L), gpus = 0, mine = -1;
  for (int r = 0; r < L; r++) {
    pick[r] = -1;
    for (int v = 0, best = 0; v < nseen[r]; v++) {
      int g = seen[r * maxv + v], u = users(pick, r, g);
      if (g >= gpus) gpus = g + 1;
      if (pick[r] < 0 || u < best) pick[r] = g, best = u, mine = r == me ? v : mine;
    }
  }
  *p = (device_place_t){.device = mine, .share = 0, .node_ranks = L, .node_gpus = gpus, .max_share = 0};
  for (int r = 0; r < L; r++) {
    int u = pick[r] < 0 ? 0 : users(pick, L, pick[r]);
    if (u > p->max_share) p->max_share = u;
    if (r == me) p->share = u;
  }
  free(pick);
}

/* The node's GPUs numbered 0, 1, ... by first sighting (node-rank order, then each rank's order). */
static void number_gpus(const seen_t *all, int L, int *nseen, int *seen) {
  for (int r = 0; r < L; r++) {
    nseen[r] = all[r].n;
    for (int v = 0; v < all[r].n; v++) {
      int g = -1, next = 0;
      for (int q = 0; q <= r && g < 0; q++)
        for (int w = 0; w < (q == r ? v : all[q].n) && g < 0; w++) {
          if (same(all[q].uuid[w], all[r].uuid[v])) g = seen[q * MAXV + w];
          if (seen[q * MAXV + w] >= next) next = seen[q * MAXV + w] + 1;
        }
      seen[r * MAXV + v] = g >= 0 ? g : next;
    }
  }
}

const device_place_t *device_place(void) {
  static device_place_t place;
  static int done;
  if (done) return &place;
  seen_t mine;
  memset(&mine, 0, sizeof mine);
#ifdef PROPSCORE_HAVE_CUDA
  mine.n = ps_cuda_uuids(&mine.uuid[0][0], MAXV);
  if (mine.n > MAXV) mine.n = MAXV;
#endif
  int L = comm_local_size();
  seen_t *all = ps_malloc(sizeof(seen_t) * (size_t)L);
  comm_node_allgather(&mine, all, sizeof mine);
  int *nseen = ps_malloc(sizeof(int) * (size_t)L), *seen = ps_malloc(sizeof(int) * (size_t)L * MAXV);
  number_gpus(all, L, nseen, seen);
  device_place_ranks(L, nseen, seen, MAXV, comm_local_rank(), &place);
  free(seen);
  free(nseen);
  free(all);
  done = 1;
  return &place;
}

typedef struct {
  char host[64];
  int32_t ranks, gpus, max_share, nccl;
  int64_t budget;
} node_line_t;

void device_report(const char *model, const device_place_t *p, int64_t budget, int nccl) {
  int L = comm_local_size();
  int64_t *b = ps_malloc(sizeof(int64_t) * (size_t)L);
  comm_node_allgather(&budget, b, sizeof budget);
  node_line_t me = {.ranks = p->node_ranks, .gpus = p->node_gpus, .max_share = p->max_share, .nccl = nccl,
                    .budget = b[0]};
  for (int r = 1; r < L; r++)
    if (b[r] < me.budget) me.budget = b[r];
  free(b);
  gethostname(me.host, sizeof me.host - 1);
  size_t total = 0;
  node_line_t *all = comm_gatherv_bytes(&me, comm_local_rank() == 0 ? sizeof me : 0, &total, NULL);
  for (size_t i = 0; all && i < total / sizeof me; i++) {
    const node_line_t *n = &all[i];
    char each[64];
    if (n->max_share <= 1) snprintf(each, sizeof each, "a GPU each");
    else snprintf(each, sizeof each, "up to %d ranks a GPU", n->max_share);
    ps_log("%s: node %s: %d rank%s on %d GPU%s (%s), device memory budget %.1f MiB a rank; NCCL sums: %s", model,
           n->host, n->ranks, n->ranks == 1 ? "" : "s", n->gpus, n->gpus == 1 ? "" : "s", each,
           (double)n->budget / 1048576.0,
           n->nccl > 0 ? "on" : n->nccl == 0 ? "off" : "none (integer sums over MPI)");
  }
  free(all);
}
