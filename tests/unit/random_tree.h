/* random_tree.h: what the tree unit tests share (test_predict_flat.c,
 * test_predict_qs.c, test_leafrows.c): a xorshift64* stream seeded by
 * RT_SEED (define it before the include) and the link step of a tree
 * grown as grow.c numbers it -- node nl-1 splits leaf `leaf` into itself
 * (left) and leaf nl (right); pnode/pside [L] track each leaf's parent. */
#ifndef PS_TEST_RANDOM_TREE_H
#define PS_TEST_RANDOM_TREE_H

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

#endif
