"""train/score/eval against scikit-learn: coefficients, probabilities, metrics."""
import json

import h5py
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from pstest import gen, load_model, run, standardize, validation_mask

L2 = 1e-3


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("oracle")
    return gen(str(d / "d.h5"), rows=50000, features=20, np_=2)


@pytest.fixture(scope="module")
def raw(data):
    with h5py.File(data) as h:
        return {"X": h["features"][...], "ids": h["customer_id"][...],
                "y": {t: h["labels"][t][...] for t in h["labels"]}}


@pytest.fixture(scope="module", params=["lbfgs", "newton"])
def trained(request, data, tmp_path_factory):
    d = tmp_path_factory.mktemp(request.param)
    model, scores = str(d / "m.h5"), str(d / "s.h5")
    run(2, "train", "--data", data, "--model", model, "--solver", request.param, "--l2", L2, "--tol", "1e-10",
        "--ftol", "0", "--quiet")
    run(2, "score", "--data", data, "--model", model, "--out", scores, "--quiet")
    return model, scores


def test_coefficients_and_probabilities_match_sklearn(trained, raw):
    model_path, scores_path = trained
    m = load_model(model_path)
    Xs = standardize(raw["X"], m)
    train = ~validation_mask(raw["ids"])
    Xtr = Xs[train].astype(np.float32).astype(np.float64)  # what the backend trains on
    with h5py.File(scores_path) as s:
        assert np.array_equal(s["customer_id"][...], raw["ids"])
        scores = {t: s["scores"][t][...] for t in m["targets"]}
    for k, t in enumerate(m["targets"]):
        y = raw["y"][t][train]
        # scikit-learn's lbfgs also stops on a fixed relative loss change (64 eps),
        # which leaves |grad| ~ 1e-8 here: warm restarts take it to the tolerance.
        clf = LogisticRegression(C=1.0 / (L2 * train.sum()), tol=1e-12, max_iter=20000, warm_start=True)
        for _ in range(6):
            clf.fit(Xtr, y)
        w, b = m["weights"][:, k], m["bias"][k]
        rel = np.linalg.norm(w - clf.coef_[0]) / np.linalg.norm(clf.coef_[0])
        assert rel < 1e-4, (t, rel)
        assert abs(b - clf.intercept_[0]) < 1e-4 * max(1, abs(b))
        p_ref = clf.predict_proba(Xs)[:, 1]
        assert np.max(np.abs(scores[t] - p_ref)) < 1e-6, t


@pytest.mark.parametrize("split", ["all", "valid", "train"])
def test_eval_matches_sklearn_metrics(trained, raw, data, split):
    _, scores_path = trained
    r = json.loads(run(2, "eval", "--data", data, "--scores", scores_path, "--split", split, "--json").stdout)
    va = validation_mask(raw["ids"])
    keep = {"all": np.ones_like(va), "valid": va, "train": ~va}[split]
    with h5py.File(scores_path) as s:
        for t, got in r["targets"].items():
            p = s["scores"][t][...].astype(np.float64)[keep]
            y = raw["y"][t][keep]
            assert got["rows"] == keep.sum() and got["positives"] == y.sum()
            for key, ref in (("roc_auc", roc_auc_score(y, p)), ("pr_auc", average_precision_score(y, p)),
                             ("log_loss", log_loss(y, p)), ("brier", brier_score_loss(y, p))):
                assert abs(got[key] - ref) <= 1e-9 * abs(ref), (t, key, got[key], ref)
            lift = got["lift"]
            assert sum(lift["rows"]) == keep.sum()
            assert abs(sum(lift["positives"]) - y.sum()) < 1e-6
            assert lift["lift"][0] > 1.5 > lift["lift"][-1]            # top decile concentrates buyers
            cal = got["calibration"]
            assert sum(cal["rows"]) == keep.sum()


def test_model_file_contents(trained, data):
    model_path, _ = trained
    m = load_model(model_path)
    a = m["attrs"]
    assert a["schema_version"] == 1 and a["kind"] == "model" and "ranks" not in a  # the same file for any rank count
    assert a["input_path"].endswith("d.h5") and a["input_size"] > 0 and a["input_mtime"] > 0
    for t in m["targets"]:
        assert m["metrics"][t]["converged"] == 1 and 0.5 < m["metrics"][t]["valid_auc"] < 1
    # the constant column gets scale 0 and weight 0
    with h5py.File(model_path) as f:
        names = [n.decode() for n in f["feature_names"][...]]
        j = names.index("country_code")
        assert f["standardize/scale"][j] == 0 and np.all(f["weights"][j] == 0)
        assert f["trace"][m["targets"][0]].shape[1] == 5
