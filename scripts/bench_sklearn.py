#!/usr/bin/env python3
"""bench_sklearn.py: the scikit-learn baseline for scripts/bench_cpu.sh.

Fits one LogisticRegression (lbfgs) per target on the same training split,
standardization and imputation as propscore (mean/std of the training rows,
NaN -> mean), with C = 1/(l2 * n_train) and the same gradient tolerance, then
scores every row. Prints one JSON line: seconds to prepare, fit and score,
and the validation ROC-AUC per target.
"""
import argparse
import json
import os
import sys
import time

import h5py
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "cli"))
from pstest import validation_mask  # noqa: E402  (the same id-hash split)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--l2", type=float, default=1e-4)
    ap.add_argument("--tol", type=float, default=1e-7)
    ap.add_argument("--holdout", type=float, default=0.2)
    a = ap.parse_args()
    t0 = time.perf_counter()
    with h5py.File(a.data) as h:
        X = h["features"][...]
        ids = h["customer_id"][...]
        labels = {t: h["labels"][t][...] for t in h["labels"]}
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    va = validation_mask(ids, a.holdout)
    tr = ~va
    Xd = X.astype(np.float64)
    fin = np.isfinite(Xd)
    Xtr = np.where(fin[tr], Xd[tr], np.nan)
    mean = np.nanmean(Xtr, axis=0)
    std = np.nanstd(Xtr, axis=0)
    scale = np.where(std > 1e-12 * np.maximum(1, np.abs(mean)), 1 / np.where(std > 0, std, 1), 0.0)
    Xs = np.where(fin, (Xd - mean) * scale, 0.0)
    t_prep = time.perf_counter() - t0
    out = {"read_s": t_read, "prepare_s": t_prep, "fit_s": 0.0, "score_s": 0.0, "valid_auc": {}, "iterations": {}}
    n = int(tr.sum())
    for t, y in sorted(labels.items()):
        clf = LogisticRegression(C=1.0 / (a.l2 * n), tol=a.tol, max_iter=10000)
        t0 = time.perf_counter()
        clf.fit(Xs[tr], y[tr])
        out["fit_s"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        p = clf.predict_proba(Xs)[:, 1].astype(np.float32)
        out["score_s"] += time.perf_counter() - t0
        out["valid_auc"][t] = roc_auc_score(y[va], p[va])
        out["iterations"][t] = int(clf.n_iter_[0])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
