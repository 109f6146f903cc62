"""Planted truth: on 500k x 32 generated rows the validation AUC comes within
0.005 of the AUC of the true probabilities, for every head."""
import json

import h5py
import numpy as np
from sklearn.metrics import roc_auc_score

from pstest import gen, run, validation_mask


def test_recovers_planted_auc(tmp_path):
    data = gen(str(tmp_path / "d.h5"), rows=500000, features=32, np_=2, seed=11)
    model, scores = str(tmp_path / "m.h5"), str(tmp_path / "s.h5")
    run(2, "train", "--data", data, "--model", model, "--quiet")
    run(2, "score", "--data", data, "--model", model, "--out", scores, "--quiet")
    r = json.loads(run(2, "eval", "--data", data, "--scores", scores, "--json").stdout)
    assert r["split"] == "valid"
    with h5py.File(data) as h:
        va = validation_mask(h["customer_id"][...])
        for t in ("purchase_3m", "churn"):
            y = h["labels"][t][...][va]
            best = roc_auc_score(y, h["truth"][t]["prob"][...][va])
            got = r["targets"][t]["roc_auc"]
            assert got > best - 0.005, (t, got, best)
