#!/usr/bin/env python3
"""predict_paths.py: the numbers behind docs/PROFILING.md's predict count
(issue 28), measured on a real model and its rows: per head, the nodes a
row visits in a tree (mean), the longest path of 32 consecutive rows (a
warp runs its slowest lane), each tree's depth and the steps of the
depth-stepped walk (predict_heads.cu: a pair of trees with both chains,
then the deeper one alone), and for the first all-heads kernel (main at
967c3ac) per warp and tree: the loop trips of its two-trees-at-once walk and the shared-memory wavefronts of its loads
under the 32-bank model (a load takes as many wavefronts as the most
distinct 4-byte words any one bank must deliver to the warp's active
lanes): the 8-byte nodes, the staged row values (row-major, odd stride), the
leaf values; and the same values read from a transposed tile ([feature][row],
one wavefront).
  usage: scripts/predict_paths.py MODEL.h5 DATA.h5 [ROWS (default 65536)]"""
import sys

import h5py
import numpy as np


def wavefronts(words):
    """words: (warps, 32) word addresses, -1 for an inactive lane -> wavefronts a warp (0: none active)"""
    s = np.sort(words, 1)
    d = np.ones_like(s, bool)
    d[:, 1:] = s[:, 1:] != s[:, :-1]
    d &= s >= 0
    b = (s % 32) + 32 * np.arange(s.shape[0])[:, None]
    return np.bincount(b[d], minlength=32 * s.shape[0]).reshape(-1, 32).max(1)


def walk(t, b, X):
    """every row through the tree at node offset b: (path lengths, per step the node index or -1)"""
    n = X.shape[0]
    node = np.zeros(n, np.int64)
    act = np.ones(n, bool)
    nodes = []
    while act.any():
        nodes.append(np.where(act, node, -1))
        q = b + node[act]
        v = X[np.nonzero(act)[0], t['feature'][q]]
        left = np.where(np.isnan(v), t['default_left'][q] == 1, v <= t['threshold'][q])
        node[act] = np.where(left, t['left'][q], t['right'][q])
        act = node >= 0
    return np.array(nodes).T, ~node  # (rows, steps), leaf


def depth(t, b, nn):
    d, md = {0: 0}, 0
    for q in range(nn):
        for c in (t['left'][b + q], t['right'][b + q]):
            if c >= 0:
                d[c] = d[q] + 1
            else:
                md = max(md, d[q] + 1)
    return md


def head_stats(name, t, X):
    n = X.shape[0] // 32 * 32
    X = X[:n]
    W, fs = n // 32, X.shape[1] | 1
    no, ntree = t['node_offset'], len(t['node_offset']) - 1
    nodes_total = int(no[-1])
    table = ntree * 8  # predict_heads.cu's shared layout: tree table, dummy node 0, nodes, leaves (one batch)
    vis, wmax, dep, trips, wf = [], [], [], [], {'node': 0, 'key': 0, 'key_t': 0, 'leaf': 0}
    walks = []
    for k in range(ntree):
        b, nn = int(no[k]), int(no[k + 1] - no[k])
        steps, leaf = walk(t, b, X)
        plen = (steps >= 0).sum(1)
        vis.append(plen.mean())
        wmax.append(plen.reshape(W, 32).max(1).mean())
        dep.append(depth(t, b, nn))
        walks.append((b, steps, plen, leaf))
    for k in range(0, ntree, 2):  # the kernel's pairs of trees: a lane runs until both its chains are at leaves
        pair = walks[k:k + 2]
        lane_trips = np.max([p[2] for p in pair], 0)
        tr = lane_trips.reshape(W, 32).max(1)
        trips.append(tr.mean())
        for (b, steps, plen, leaf) in pair:
            S = steps.shape[1]
            for s in range(int(tr.max())):
                alive = lane_trips > s  # the lane is still in the loop
                if not alive.any():
                    break
                # a chain at its leaf re-reads its last node
                q = steps[:, s] if s < S else np.full(n, -1)
                last = steps[np.arange(n), np.maximum(plen - 1, 0)]
                q = np.where(q >= 0, q, last)
                node_word = (table + 8 * (1 + b + q)) // 4
                key_word = (65536 + 4 * (np.arange(n) * fs + t['feature'][b + q])) // 4
                wf['node'] += wavefronts(np.where(alive, node_word, -1).reshape(W, 32)).sum()
                wf['key'] += wavefronts(np.where(alive, key_word, -1).reshape(W, 32)).sum()
                wf['key_t'] += (alive.reshape(W, 32).any(1)).sum()
            leaf_word = (table + 8 * (1 + nodes_total) + 8 * (t['leaf_offset'][k] + leaf)) // 4
            wf['leaf'] += wavefronts(leaf_word.reshape(W, 32)).sum()  # 8-byte aligned: the first words' banks decide
    per = W * ntree
    print('%s: %d trees, %d nodes, %d rows' % (name, ntree, nodes_total, n))
    print('  nodes a row visits in a tree (mean)          %6.2f' % np.mean(vis))
    print('  longest path of 32 consecutive rows (mean)   %6.2f' % np.mean(wmax))
    print('  tree depth: mean %.2f, max %d' % (np.mean(dep), max(dep)))
    pair = np.array(dep[:ntree // 2 * 2]).reshape(-1, 2)  # the depth-stepped walk: both chains, then the deeper alone
    print('  depth-stepped walk, a pair of trees: %.2f steps with both, %.2f alone' %
          (pair.min(1).mean(), (pair.max(1) - pair.min(1)).mean()))
    print('  predict_heads: loop trips a pair of trees    %6.2f (a tree %.2f)' % (np.mean(trips), np.mean(trips) / 2))
    print('  shared wavefronts a warp and tree: nodes %.2f, row values %.2f (transposed tile: %.2f), leaves %.2f, '
          'table 1' % (wf['node'] / per, wf['key'] / per, wf['key_t'] / per, wf['leaf'] / per))
    return np.mean(trips) / 2, (wf['node'] + wf['key'] + wf['leaf']) / per + 1


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    m = h5py.File(sys.argv[1], 'r')
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 65536
    X = h5py.File(sys.argv[2], 'r')['features'][:rows]
    for name in m['trees']:
        t = {k: m['trees'][name][k][:] for k in m['trees'][name]}
        head_stats(name, t, X)


if __name__ == '__main__':
    main()
