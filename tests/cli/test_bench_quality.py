"""scripts/bench_quality.py (issue 27's quality benchmark) on its tiny table:
breast_cancer (shipped in scikit-learn), 2 folds. It exits 0 and writes the
JSON with every model's fold metrics, the same folds for every model, and
metrics that agree with their definitions (ECE as eval's calib_ece)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from pstest import BIN, SRC

SCRIPT = os.path.join(SRC, "scripts", "bench_quality.py")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("bq")
    p = subprocess.run([sys.executable, SCRIPT, "--propscore", BIN, "--tables", "breast_cancer", "--folds", "2",
                        "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    with open(out / "bench_quality.json") as f:
        return json.load(f), p.stdout, out


def test_every_model_every_fold(result):
    r, stdout, out = result
    sys.path.insert(0, os.path.join(SRC, "scripts"))
    import bench_quality as bq
    t = r["tables"]["breast_cancer"]
    assert t["rows"] == 569 and t["features"] == 30
    assert sorted(t["models"]) == sorted(bq.ALL_MODELS)
    for m, v in t["models"].items():
        assert [f["fold"] for f in v["folds"]] == [0, 1], m
        for k in ("auc", "logloss", "ece"):
            assert v[k] == pytest.approx(np.mean([f[k] for f in v["folds"]]), abs=1e-12)
        assert 0.9 < v["auc"] <= 1.0, m  # an easy table: every model separates it
        assert 0 <= v["ece"] < 0.2 and 0 < v["logloss"] < 1.0, m
    assert set(t["models"]["ps-auto"]["picked"]) <= {"logreg", "gbdt", "blend"}
    assert t["models"]["ps-gbdt"]["picked"] == ["gbdt", "gbdt"]
    assert t["goal"]["reached"] in (True, False) and "auc" in t["goal"]["best_peer"]
    best_auc = max(t["models"][m]["auc"] for m in bq.PEERS)
    assert t["goal"]["met"]["auc"] == (t["models"]["ps-auto"]["auc"] >= best_auc)
    assert t["goal"]["paired"]["auc"]["mean"] == pytest.approx(t["models"]["ps-auto"]["auc"] - best_auc, abs=1e-12)
    assert "ps-auto" in stdout and (out / "bench_quality.md").exists()
    assert sum(t["fold_rows"]) == 569


def test_folds_and_ece_definitions():
    sys.path.insert(0, os.path.join(SRC, "scripts"))
    import bench_quality as bq
    ids = np.arange(1, 20001, dtype=np.int64)
    f = bq.fold_of(ids, 5)
    assert f.min() == 0 and f.max() == 4 and np.all(np.abs(np.bincount(f) - 4000) < 250)
    assert np.array_equal(f, bq.fold_of(ids[::-1], 5)[::-1])  # a function of the id alone
    p = np.array([0.05, 0.15, 0.15, 0.95, 1.0, 0.0])
    y = np.array([0, 1, 0, 1, 1, 0])
    # bins: 0 -> {0.05, 0.0}: |0 - 0.05|; 1 -> {0.15, 0.15}: |1 - 0.3|; 9 -> {0.95, 1.0}: |2 - 1.95|
    assert bq.ece(p, y) == pytest.approx((0.05 + 0.7 + 0.05) / 6, abs=1e-15)
