#!/usr/bin/env python3
"""bench_score_peer.py: LightGBM's side of bench_score_gbdt.sh.
  fit DATA.h5 MODEL.h5 THREADS      a LightGBM model a head (bench_gbdt_peer.py's settings,
                                    propscore's training rows) into MODEL.lgb_<head>.txt, unless there
  predict DATA.h5 MODEL.h5 THREADS  seconds of Booster.predict (raw scores) of every row, every head
  trees DATA.h5 MODEL.h5 THREADS    the trees of MODEL.h5 (propscore's) and of the LightGBM models"""
import os
import sys
import time

import h5py
import lightgbm as lgb

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "cli"))
from pstest import validation_mask  # noqa: E402

what, path, model, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
HEADS = ("churn", "purchase_3m")
with h5py.File(path) as h:
    X = h["features"][...]
    if what == "fit":
        ids = h["customer_id"][...]
        labels = {t: h["labels"][t][...] for t in HEADS}
if what == "fit":
    va = validation_mask(ids)
    for t in HEADS:
        if os.path.exists(f"{model}.lgb_{t}.txt"):
            continue
        m = lgb.LGBMClassifier(n_estimators=100, num_leaves=31, learning_rate=0.1, max_bin=255, min_child_samples=20,
                               min_child_weight=1e-3, reg_lambda=0.0, verbose=-1, n_jobs=threads)
        m.fit(X[~va], labels[t][~va])
        m.booster_.save_model(f"{model}.lgb_{t}.txt")
elif what == "predict":
    boosters = [lgb.Booster(model_file=f"{model}.lgb_{t}.txt") for t in HEADS]
    t0 = time.perf_counter()
    for b in boosters:
        b.predict(X, raw_score=True, num_threads=threads)
    print(f"{time.perf_counter() - t0:.4f}")
else:
    with h5py.File(model) as m:
        ours = sum(len(m["trees"][t]["node_offset"]) - 1 for t in HEADS)
    theirs = sum(lgb.Booster(model_file=f"{model}.lgb_{t}.txt").num_trees() for t in HEADS)
    print(ours, theirs)
