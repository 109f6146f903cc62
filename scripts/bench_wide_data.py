#!/usr/bin/env python3
"""bench_wide_data.py: the wide, mostly-binary case of scripts/bench_gbdt.sh
(issue 26): a generated feature file (propscore gen: DENSE numeric columns,
labels churn and purchase_3m) widened with CATS one-hot categories of LEVELS
levels each (CATS x LEVELS 0/1 columns, exactly one set a row per category).
Category c is the decile-like bin of dense column c % DENSE with every row
moved to a random level 20% of the time, so the one-hot columns carry some
of the labels' signal. Rows are written in blocks (the whole table is never
in memory).
  usage: bench_wide_data.py BASE.h5 OUT.h5 CATS LEVELS [SEED]"""
import os
import sys

import h5py
import numpy as np

base, out, cats, levels = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
seed = int(sys.argv[5]) if len(sys.argv) > 5 else 5
rng = np.random.default_rng(seed)
with h5py.File(base) as b:
    n, dense = b["features"].shape
    ncol = dense + cats * levels
    src = [c % dense for c in range(cats)]
    sample = b["features"][: min(n, 200000)]
    edges = [np.nanquantile(sample[:, s], np.linspace(0, 1, levels + 1)[1:-1]) for s in src]
    names = [x.decode() if isinstance(x, bytes) else x for x in b["feature_names"][...]]
    names += [f"cat{c}_{v}" for c in range(cats) for v in range(levels)]
    chunk = max(1, (4 << 20) // (4 * ncol))
    with h5py.File(out + ".tmp", "w") as o:
        o.attrs["schema_version"] = 1
        o.attrs["kind"] = "features"
        X = o.create_dataset("features", (n, ncol), np.float32, chunks=(min(chunk, n), ncol))
        o["customer_id"] = b["customer_id"][...]
        o["feature_names"] = np.array([s.encode() for s in names])
        for t in b["labels"]:
            o[f"labels/{t}"] = b["labels"][t][...]
        step = chunk * 64
        for a in range(0, n, step):
            d = b["features"][a : a + step]
            m = len(d)
            block = np.zeros((m, ncol), np.float32)
            block[:, :dense] = d
            for c, s in enumerate(src):
                lv = np.searchsorted(edges[c], np.nan_to_num(d[:, s], nan=-np.inf))
                move = rng.random(m) < 0.2
                lv[move] = rng.integers(0, levels, int(move.sum()))
                block[np.arange(m), dense + c * levels + lv] = 1
            X[a : a + m] = block
os.replace(out + ".tmp", out)
