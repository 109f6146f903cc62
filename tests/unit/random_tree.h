/* random_tree.h: what the tree unit tests share (test_predict_flat.c,
 * test_predict_qs.c, test_leafrows.c): a xorshift64* stream seeded by
 * RT_SEED (define it before the include), the link step of a tree grown as
 * grow.c numbers it -- node nl-1 splits leaf `leaf` into itself (left) and
 * leaf nl (right); pnode/pside [L] track each leaf's parent -- and a random
 * numeric tree of L <= 64 leaves grown that way. */
#ifndef PS_TEST_RANDOM_TREE_H
#define PS_TEST_RANDOM_TREE_H

#include <math.h>
#include <stdint.h>

#include "models/gbdt/forest.h"

static uint64_t state = RT_SEED;
static double unif(void) { /* xorshift64* */
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return (double)((state * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

/* Node nl-1 (its feature, threshold, ... already set) splits `leaf`. */
static void rt_link(ps_tree_t *t, int *pnode, int *pside, int leaf, int nl) {
  int node = nl - 1;
  t->left[node] = ~leaf;
  t->right[node] = ~nl;
  if (pnode[leaf] >= 0) {
    if (pside[leaf] == 0) t->left[pnode[leaf]] = node;
    else t->right[pnode[leaf]] = node;
  }
  pnode[leaf] = pnode[nl] = node;
  pside[leaf] = 0;
  pside[nl] = 1;
}

/* A numeric tree of L leaves over features [0, nfeat): node nl-1 splits a
 * random leaf (chain 0), always the first (1) or always the newest (2);
 * thresholds in [-1, 1) or +Inf, default directions at random. */
static inline void rt_tree(ps_tree_t *t, int L, int chain, int nfeat) {
  int pnode[64], pside[64];
  t->nleaves = L;
  pnode[0] = -1;
  for (int nl = 1; nl < L; nl++) {
    int leaf = chain == 1 ? 0 : chain == 2 ? nl - 1 : (int)(unif() * nl), node = nl - 1;
    t->feature[node] = (int32_t)(unif() * nfeat);
    t->threshold[node] = unif() < 0.1 ? INFINITY : (float)(unif() * 2 - 1);
    t->default_left[node] = unif() < 0.5;
    rt_link(t, pnode, pside, leaf, nl);
  }
  for (int q = 0; q < L; q++) t->leaf_value[q] = (unif() - 0.5) * 0.3;
}

#endif
