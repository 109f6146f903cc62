/* device.h: --device cpu|cuda|auto for every model kind, decided the same
 * on every rank (collective): auto takes the GPU only when every rank sees
 * one; cuda without a GPU on some rank, or in a build without CUDA, is an
 * error naming why. And where each rank's GPU work runs: the GPUs a node
 * has are counted per node, from the devices every rank of the node sees,
 * for any binding (all visible, one a rank as under srun
 * --gpus-per-task=1, fewer GPUs than ranks). */
#ifndef PS_DEVICE_H
#define PS_DEVICE_H
#include <stdint.h>

/* 1: run on the GPU, 0: on the CPU. */
int device_choose(const char *device);
/* Number of CUDA devices this rank sees (0 in a CPU build). */
int device_count(void);

typedef struct {
  int device;     /* the CUDA device this rank uses (an index among those it sees; -1: it sees none) */
  int share;      /* ranks of this node on that GPU (1: a GPU of its own); divides its memory */
  int node_ranks; /* ranks on this node */
  int node_gpus;  /* distinct GPUs this node's ranks see */
  int max_share;  /* the most ranks of this node on one GPU */
} device_place_t;

/* This rank's GPU, each rank of a node on the least used of the GPUs it
 * sees (ties: the first it sees), in node-rank order. Collective over the
 * job on the first call (every rank calls it), the same answer later. */
const device_place_t *device_place(void);
/* The rule itself (device_place's step, without communication): rank r of
 * a node's L ranks sees nseen[r] GPUs, seen[r*maxv + 0..nseen[r]) (the
 * node's GPUs numbered 0, 1, ... in any order, the same GPU the same
 * number for every rank); fills p for rank me. */
void device_place_ranks(int L, const int *nseen, const int *seen, int maxv, int me, device_place_t *p);
/* Collective: rank 0 logs one line per node -- its ranks and GPUs, the
 * smallest device memory budget of its ranks (bytes) and whether the
 * float64 sums go over NCCL (nccl: 1 on, 0 off, -1 the model sums no float64). */
void device_report(const char *model, const device_place_t *p, int64_t budget, int nccl);
#endif
