#!/usr/bin/env python3
"""bench_gbdt_peer.py: LightGBM or XGBoost (hist; xgboost-cuda: device=cuda) on a propscore feature file,
with bench_gbdt.sh's settings (lightgbm-quant: use_quantized_grad at LightGBM's
defaults, 4 gradient bins, leaves renewed) and propscore's train/validation split (the
id hash of host/core/rng.h). Prints the fit seconds (every head, the peer's
own binning included) and the validation AUC of each head, on one line.
  usage: bench_gbdt_peer.py DATA.h5 lightgbm|lightgbm-quant|xgboost|xgboost-cuda THREADS"""
import os
import sys
import time

import h5py
from sklearn.metrics import roc_auc_score

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "cli"))
from pstest import validation_mask  # noqa: E402

path, peer, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
with h5py.File(path) as h:
    X, ids = h["features"][...], h["customer_id"][...]
    labels = {t: h["labels"][t][...] for t in sorted(h["labels"])}
va = validation_mask(ids)
fit, aucs = 0.0, []
for t in ("churn", "purchase_3m"):
    y = labels[t]
    if peer.startswith("lightgbm"):
        import lightgbm as lgb
        quant = {"use_quantized_grad": True, "quant_train_renew_leaf": True} if peer == "lightgbm-quant" else {}
        m = lgb.LGBMClassifier(n_estimators=100, num_leaves=31, learning_rate=0.1, max_bin=255, min_child_samples=20,
                               min_child_weight=1e-3, reg_lambda=0.0, verbose=-1, n_jobs=threads, **quant)
    else:
        import xgboost as xgb
        m = xgb.XGBClassifier(n_estimators=100, max_leaves=31, grow_policy="lossguide", max_depth=0,
                              learning_rate=0.1, max_bin=256, tree_method="hist", min_child_weight=1e-3,
                              reg_lambda=0.0, n_jobs=threads, device="cuda" if peer == "xgboost-cuda" else "cpu")
    t0 = time.time()
    m.fit(X[~va], y[~va])
    fit += time.time() - t0
    aucs.append(roc_auc_score(y[va], m.predict_proba(X[va])[:, 1]))
print(f"{fit:.2f} " + " ".join(f"{a:.4f}" for a in aucs))
