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
one wavefront). For predict_heads.cu's walk now (issue 28, branch gpupred2):
the shared wavefronts of its entry loads in the level-order layout with the
lanes at their leaves predicated off (as the kernel does) and, for
comparison, re-reading their leaf (a leaf as a self-loop, no leaf test);
the steps of an early exit when every lane of the warp is at its leaf,
checked every U steps; and its warp instructions a tree (two trees walked
at once until one ends in the warp, then the other alone, by votes) from
the SASS counts of predict_heads_kernel<512> (PAIR_SASS, read at branch
gpupred2's commit; scripts/sass_check.sh prints the loops they come from).
For the super-node walk (issue 28, branch gpupred3: a node and the child it
absorbs decided a step, predict_heads.cu's pack_tree): the super steps of
each warp's deepest row, the shared wavefronts of its 16-byte record loads
(lanes at their leaves predicated off) and keys (two a step, every lane),
and its warp instructions a tree (SUPER_SASS, read at that branch's commit).
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


# predict_heads_kernel<512>'s pair walk in warp instructions (cuobjdump, nvcc 13, sm_90): a pair's head (pair
# table LDS.128, two roots, masks) 10; the two-chain loop 71 an iteration of 4 steps of each chain and two votes,
# run until one tree has every lane of the warp at its leaf (at least once); the two lone-loop tests 2; a lone loop
# 21 an iteration of 2 steps and a vote; leaves added and the loop 8. Staging: 98 instructions a 16 values
# (LDG.E.128, row_key, STS).
PAIR_SASS = {'head': 10, 'iter4': 71, 'tests': 2, 'iter2': 21, 'tail': 8, 'stage16': 98}


def pair_instructions(wa, wb):
    """warp instructions of one pair of trees, per warp: wa, wb the steps its deepest row needs in each"""
    P = PAIR_SASS
    t = np.maximum(-(-np.minimum(wa, wb) // 4) * 4, 4)  # both chains, 4 steps an iteration
    lone = -(-np.maximum(np.maximum(wa, wb) - t, 0) // 2) * 2
    return P['head'] + P['iter4'] * t // 4 + P['tests'] + P['iter2'] * lone // 2 + P['tail']


def level_positions(t, b, nn):
    """node index (>= 0) or ~leaf -> its entry's index in pack_tree's level order (siblings adjacent)"""
    order = [0 if nn > 0 else ~0]
    for o in order:
        if o >= 0:
            order += [int(t['left'][b + o]), int(t['right'][b + o])]
    return {o: i for i, o in enumerate(order)}


def entry_wavefronts(pos, act, W):
    """8-byte entry loads: (warps) wavefronts, entries in slots of 16 (128 B), inactive lanes -1"""
    p = np.where(act, pos, -1).reshape(W, 32)
    s = np.sort(p, 1)
    d = np.ones_like(s, bool)
    d[:, 1:] = s[:, 1:] != s[:, :-1]
    d &= s >= 0
    b = (s % 16) + 16 * np.arange(W)[:, None]
    return np.bincount(b[d], minlength=16 * W).reshape(-1, 16).max(1)


def walk_now(t, X):
    """per tree: entry and key wavefronts a warp (lanes at leaves predicated off / re-reading their leaf), the
    early exit's steps at U = 1, 2, 4, and the pair walk's warp instructions"""
    n = X.shape[0]
    W = n // 32
    no = t['node_offset']
    ntree = len(no) - 1
    acc = {}
    deps, wms = [], []
    for k in range(ntree):
        b, nn = int(no[k]), int(no[k + 1] - no[k])
        steps, leaf = walk(t, b, X)
        pos = level_positions(t, b, nn)
        plen = (steps >= 0).sum(1)
        dep = depth(t, b, nn)
        deps.append(dep)
        pn = np.array([pos[q] for q in range(nn)] or [0])  # node -> entry, leaf -> entry
        pl = np.array([pos[~q] for q in range(nn + 1)])
        P = np.zeros((dep + 1, n), np.int64)  # the entry a lane reads at each step (its leaf once there)
        for s in range(dep + 1):
            if s < steps.shape[1]:
                P[s] = pn[np.maximum(steps[:, s], 0)]
            P[s] = np.where(plen <= s, pl[leaf], P[s])
        wm = plen.reshape(W, 32).max(1)
        wms.append(wm)
        for s in range(1, dep + 1):
            a = plen >= s  # the lane reads a child entry at step s
            acc['pred'] = acc.get('pred', 0) + entry_wavefronts(P[s], a, W).sum()
            acc['self'] = acc.get('self', 0) + entry_wavefronts(P[s], np.ones(n, bool), W).sum()
            acc['key'] = acc.get('key', 0) + a.reshape(W, 32).any(1).sum()
        for U in (1, 2, 4):
            acc['exit%d' % U] = acc.get('exit%d' % U, 0) + np.minimum(-(-wm // U) * U, dep).sum()
    per = W * ntree
    ins = sum(pair_instructions(wms[k], wms[k + 1] if k + 1 < ntree else np.zeros(W, int)).mean()
              for k in range(0, ntree, 2)) / ntree
    f = X.shape[1]
    stage = PAIR_SASS['stage16'] * f / 16 / ntree
    print('  now: entry wavefronts a warp and tree %.2f (lanes at leaves predicated off), %.2f (re-reading '
          'their leaf); keys %.2f' % (acc['pred'] / per, acc['self'] / per, acc['key'] / per))
    print('  now: early exit (every lane at its leaf, checked every U steps): steps a tree %.2f / %.2f / %.2f '
          '(U = 1 / 2 / 4) against depth %.2f' % (acc['exit1'] / per, acc['exit2'] / per, acc['exit4'] / per,
                                                  np.mean(deps)))
    print('  now: pair walk %.1f warp instructions a tree + staging %.2f (F = %d, %d trees) = %.1f' %
          (ins, stage, f, ntree, ins + stage))


# predict_heads_kernel<512>'s super-node walk in warp instructions (cuobjdump, nvcc 13, sm_90; branch gpupred3): a
# pair's head (its two tree bases from the parameters into uniform registers, the two root LDS.128) 12; PH_FIRST = 4
# super steps of both chains without a vote (13 a chain and step) and the first vote's two tests 106; the vote 4; a
# voted super step of both chains 33; the two lone-loop tests 2; a lone super step 17 (its vote included); the two
# leaves' adds and the loop 10.
SUPER_SASS = {'head': 12, 'first': 106, 'vote': 4, 'iter': 33, 'tests': 2, 'lone': 17, 'tail': 10, 'FIRST': 4}


def super_layout(t, b, nn):
    """pack_tree's super nodes: absorb[n] (the child n absorbs, -1 none) and the record index of every node
    (rec_node) and leaf (rec_leaf) in the tree's breadth-first records (the root's record 0)"""
    L, R = t['left'][b:b + nn], t['right'][b:b + nn]
    cost, absorb = np.full(nn, -1), np.full(nn, -1)

    def C(o):
        if o < 0:
            return 0
        if cost[o] >= 0:
            return cost[o]
        l, r = int(L[o]), int(R[o])
        cl, cr = C(l), C(r)
        best, c = 1 + max(cl, cr), -1
        for ch, other in ((r, cl), (l, cr)):
            if ch >= 0:
                m = 1 + max(other, C(int(L[ch])), C(int(R[ch])))
                if c < 0 or m < best:
                    best, c = m, ch
        absorb[o], cost[o] = c, best
        return best
    rec_node, rec_leaf = np.zeros(max(nn, 1), np.int64), np.zeros(nn + 1, np.int64)
    slot = [0 if nn > 0 else ~0]
    if nn > 0:
        C(0)
    for e, o in enumerate(slot):
        if o < 0:
            rec_leaf[~o] = e
            continue
        rec_node[o] = e
        c, l, r = absorb[o], int(L[o]), int(R[o])
        slot += [l, r] if c < 0 else [l if c == r else r, int(L[c]), int(R[c])]
    return absorb, rec_node, rec_leaf, 16 * len(slot)


def super_walk(t, X):
    """per head: super steps of each warp's deepest row, record and key wavefronts, record bytes, instructions"""
    n = X.shape[0]
    W = n // 32
    no = t['node_offset']
    ntree = len(no) - 1
    wms, wf_rec, nbytes = [], 0, 0
    for k in range(ntree):
        b, nn = int(no[k]), int(no[k + 1] - no[k])
        steps, leaf = walk(t, b, X)
        absorb, rec_node, rec_leaf, size = super_layout(t, b, nn)
        nbytes += size
        plen = (steps >= 0).sum(1)
        S = np.concatenate([steps, np.full((n, 2), -1)], 1)
        i, ss, rows = np.zeros(n, np.int64), np.zeros(n, np.int64), np.arange(n)
        act = plen > 0
        while act.any():
            cur, nxt = S[rows, i], S[rows, i + 1]
            adv = np.where((nxt >= 0) & (absorb[np.maximum(cur, 0)] == nxt), 2, 1)
            ss += act
            i = np.where(act, i + adv, i)
            tgt = S[rows, i]
            rec = np.where(tgt >= 0, rec_node[np.maximum(tgt, 0)], rec_leaf[leaf])
            p = np.where(act, rec, -1).reshape(W, 32)  # 16-byte records: 8 a 128-byte wavefront
            q = np.sort(p, 1)
            d = np.ones_like(q, bool)
            d[:, 1:] = q[:, 1:] != q[:, :-1]
            d &= q >= 0
            bk = (q % 8) + 8 * np.arange(W)[:, None]
            wf_rec += np.bincount(bk[d], minlength=8 * W).reshape(-1, 8).max(1).sum()
            act = i < plen
        wms.append(ss.reshape(W, 32).max(1))
    P, F = SUPER_SASS, SUPER_SASS['FIRST']
    ins, chain_steps = 0.0, 0.0
    for k in range(0, ntree, 2):
        wa = wms[k]
        wb = wms[k + 1] if k + 1 < ntree else np.zeros(W, np.int64)
        both = np.maximum(np.minimum(wa, wb), F)
        lone = np.maximum(np.maximum(wa, wb) - both, 0)
        ins += (P['head'] + P['first'] + P['vote'] + P['iter'] * (both - F) + P['tests'] + P['lone'] * lone +
                P['tail']).mean()
        chain_steps += (2 * both + lone).mean()
    per = W * ntree
    f = X.shape[1]
    stage = PAIR_SASS['stage16'] * f / 16 / ntree
    print('  super: a warp\'s deepest row %.2f super steps a tree (%.2f chain steps walked); record bytes a tree %.0f '
          '(%d a head)' % (np.mean(wms), chain_steps / ntree, nbytes / ntree, nbytes))
    print('  super: shared wavefronts a warp and tree: records %.2f, keys %.2f (two a chain step), roots 1' %
          (wf_rec / per, 2 * chain_steps / ntree))
    print('  super: walk %.1f warp instructions a tree + staging %.2f = %.1f' % (ins / ntree, stage, ins / ntree + stage))


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
        walk_now(t, X[:X.shape[0] // 32 * 32])
        super_walk(t, X[:X.shape[0] // 32 * 32])


if __name__ == '__main__':
    main()
