#!/usr/bin/env python3
"""bench_csr_gbdt_peer.py: LightGBM or XGBoost (hist) on a propscore CSR
feature file (/features_csr) as a scipy CSR matrix, with bench_gbdt.sh's
settings and propscore's train/validation split. Prints the fit seconds (the
peer's own binning included) and each head's validation AUC on one line; run
it under /usr/bin/time -v for the peak memory (the CSR read included).
  usage: bench_csr_gbdt_peer.py DATA.h5 lightgbm|xgboost THREADS [TREES]"""
import os
import sys
import time

import h5py
import scipy.sparse as sp
from sklearn.metrics import roc_auc_score

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "cli"))
from pstest import validation_mask  # noqa: E402

path, peer, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
trees = int(sys.argv[4]) if len(sys.argv) > 4 else 100
with h5py.File(path) as h:
    g = h["features_csr"]
    n, f = len(g["indptr"]) - 1, len(h["feature_names"])
    X = sp.csr_matrix((g["data"][...], g["indices"][...], g["indptr"][...]), shape=(n, f))
    ids = h["customer_id"][...]
    labels = {t: h["labels"][t][...] for t in sorted(h["labels"])}
va = validation_mask(ids)
Xtr, Xva = X[~va], X[va]
fit, aucs = 0.0, []
for t, y in labels.items():
    if peer == "lightgbm":
        import lightgbm as lgb
        m = lgb.LGBMClassifier(n_estimators=trees, num_leaves=31, learning_rate=0.1, max_bin=255, min_child_samples=20,
                               min_child_weight=1e-3, reg_lambda=0.0, verbose=-1, n_jobs=threads)
    else:
        import xgboost as xgb
        m = xgb.XGBClassifier(n_estimators=trees, max_leaves=31, grow_policy="lossguide", max_depth=0,
                              learning_rate=0.1, max_bin=256, tree_method="hist", min_child_weight=1e-3,
                              reg_lambda=0.0, n_jobs=threads)
    t0 = time.time()
    m.fit(Xtr, y[~va])
    fit += time.time() - t0
    aucs.append(roc_auc_score(y[va], m.predict_proba(Xva)[:, 1]))
print(f"{fit:.2f} " + " ".join(f"{a:.4f}" for a in aucs))
