"""export-model (issue 29): a trees model as LightGBM's text model file --
loaded by lightgbm.Booster, its raw scores are propscore's log-odds bit for
bit on data with NaN (a NumPy walk of the model file's trees is the oracle,
and the scores file agrees to float32), its TreeSHAP sums to them -- and a
logistic-regression model as JSON that reproduces the scores; one file a
head or --target; bad input refused with one line, the model untouched."""
import json

import h5py
import numpy as np
import pytest

from pstest import digest, error_line, gen, leftovers, run

lgb = pytest.importorskip("lightgbm")
TARGETS = ("purchase_3m", "churn")


def with_nan(src, dst, rate=0.1, seed=1):
    """A copy of a generated file with a share of its feature values NaN."""
    import shutil
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as h:
        X = h["features"][...]
        X[np.random.default_rng(seed).random(X.shape) < rate] = np.nan
        h["features"][...] = X
    return dst


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    d = tmp_path_factory.mktemp("export_model")
    data = with_nan(gen(str(d / "g.h5"), rows=6000, features=10, np_=2), str(d / "d.h5"))
    model, scores = str(d / "m.h5"), str(d / "s.h5")
    run(2, "train", "--data", data, "--model", model, "--model-type", "gbdt", "--trees", "25", "--early-stopping", "0",
        "--quiet")
    run(2, "score", "--data", data, "--model", model, "--out", scores, "--quiet")
    return d, data, model, scores


def raw_scores(model, target, X):
    """propscore's log-odds of rows X: the model file's trees walked in NumPy
    (NaN follows default_left, else left iff value <= threshold), added in
    order after the initial score, as the scorer adds them."""
    with h5py.File(model) as m:
        g = m["trees"][target]
        z, T = np.full(len(X), g.attrs["init_score"]), int(g.attrs["trees"])
        no, lo = g["node_offset"][...], g["leaf_offset"][...]
        fe, th, dl, le, ri, lv = (g[k][...] for k in ("feature", "threshold", "default_left", "left", "right",
                                                      "leaf_value"))
    for t in range(T):
        node = np.zeros(len(X), np.int64)
        if no[t + 1] > no[t]:
            live = np.ones(len(X), bool)
            while live.any():
                k = no[t] + node[live]
                v = X[np.nonzero(live)[0], fe[k]]
                go = np.where(np.isnan(v), dl[k] != 0, v <= th[k])
                node[live] = np.where(go, le[k], ri[k])
                live = node >= 0
            node = ~node
        z = z + lv[lo[t] + node]
    return z


def test_lightgbm_predicts_propscore_raw_scores(trees):
    d, data, model, scores = trees
    before = digest(model)
    run(1, "export-model", "--model", model, "--out", str(d / "model.txt"), "--quiet")
    assert digest(model) == before and not leftovers(d)
    with h5py.File(data) as h:
        X = h["features"][...]
    assert np.isnan(X).mean() > 0.05
    thresholds = [l for t in TARGETS for l in open(d / f"model.{t}.txt") if l.startswith("threshold=")]
    assert any("inf" in l.split("=")[1].split() for l in thresholds)  # NaN-vs-values splits: threshold +inf
    for t in TARGETS:
        b = lgb.Booster(model_file=str(d / f"model.{t}.txt"))
        assert b.num_feature() == X.shape[1] and b.num_trees() == 25
        raw = b.predict(X, raw_score=True)
        np.testing.assert_array_equal(raw, raw_scores(model, t, X))  # the same additions: the same bits
        with h5py.File(scores) as s:
            np.testing.assert_allclose(1 / (1 + np.exp(-raw)), s["scores"][t][...], rtol=0, atol=1e-6)
        np.testing.assert_allclose(b.predict(X), 1 / (1 + np.exp(-raw)), rtol=0, atol=1e-12)  # binary sigmoid:1
        contrib = b.predict(X, pred_contrib=True)
        np.testing.assert_allclose(contrib.sum(axis=1), raw, rtol=0, atol=1e-9)


def test_target_picks_one_head_and_one_head_keeps_the_name(trees):
    d, data, model, _ = trees
    one, both = str(d / "churn_only.txt"), str(d / "both")
    run(1, "export-model", "--model", model, "--out", one, "--target", "churn", "--format", "lightgbm", "--quiet")
    run(2, "export-model", "--model", model, "--out", both, "--quiet")  # no extension: both.<target>
    assert open(one).read() == open(both + ".churn").read() != open(both + ".purchase_3m").read()
    single = str(d / "single.h5")
    run(1, "train", "--data", data, "--model", single, "--model-type", "gbdt", "--trees", "3", "--targets", "churn",
        "--quiet")
    run(1, "export-model", "--model", single, "--out", str(d / "single.txt"), "--quiet")
    b = lgb.Booster(model_file=str(d / "single.txt"))
    assert b.num_trees() == 3 and b.feature_name()[0] == "recency_days"


def test_logreg_json_reproduces_the_scores(trees, tmp_path):
    _, data, _, _ = trees
    model, scores, out = str(tmp_path / "l.h5"), str(tmp_path / "s.h5"), str(tmp_path / "l.json")
    run(2, "train", "--data", data, "--model", model, "--missing-indicators", "--quiet")
    run(2, "score", "--data", data, "--model", model, "--out", scores, "--quiet")
    run(1, "export-model", "--model", model, "--out", out, "--quiet")
    j = json.load(open(out))
    assert j["model_type"] == "logreg" and sorted(h["target"] for h in j["heads"]) == sorted(TARGETS)
    assert any(c["kind"] == "missing" for c in j["columns"])
    with h5py.File(data) as h:
        X = h["features"][...].astype(np.float64)
    S = np.empty((len(X), len(j["columns"])))
    for c, col in enumerate(j["columns"]):
        x = X[:, col["feature"]]
        bad = ~np.isfinite(x)
        v = bad.astype(np.float64) if col["kind"] == "missing" else np.where(bad, col["mean"], x)
        S[:, c] = ((v - col["mean"]) * col["scale"]).astype(np.float32)
    with h5py.File(scores) as s:
        for head in j["heads"]:
            z = head["intercept"] + S @ np.array(head["weights"])
            np.testing.assert_allclose(1 / (1 + np.exp(-z)), s["scores"][head["target"]][...], rtol=0, atol=1e-6)


def test_bad_input(trees, tmp_path):
    d, data, model, _ = trees
    before = digest(model)
    p = run(1, "export-model", "--model", model, "--out", str(tmp_path / "x.json"), "--format", "json", check=False)
    assert p.returncode == 2 and "--format json is for logreg models" in error_line(p)
    p = run(1, "export-model", "--model", model, "--out", str(tmp_path / "x.txt"), "--target", "nope", check=False)
    assert p.returncode == 2 and "has no head 'nope'" in error_line(p)
    p = run(1, "export-model", "--model", model, "--out", model, "--target", "churn", check=False)
    assert p.returncode != 0 and "--out" in error_line(p) and digest(model) == before
    p = run(1, "export-model", "--model", data, "--out", str(tmp_path / "x.txt"), check=False)
    assert p.returncode == 1 and "not a propscore model file" in error_line(p)
    p = run(1, "export-model", "--model", model, check=False)
    assert p.returncode == 2 and "--out" in error_line(p)
    u = gen(str(tmp_path / "u.h5"), rows=4000, features=8, targets="y:0.2", extra=("--uplift",))
    um = str(tmp_path / "um.h5")
    run(1, "train", "--data", u, "--model", um, "--uplift", "--treatment", "treated", "--targets", "y",
        "--model-type", "gbdt", "--trees", "3", "--quiet")
    p = run(1, "export-model", "--model", um, "--out", str(tmp_path / "u.txt"), check=False)
    assert p.returncode == 1 and "of type 'uplift'" in error_line(p)
    assert not list(tmp_path.glob("x.*")) and not list(tmp_path.glob("u.txt"))


def test_help():
    r = run(1, "export-model", "--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: propscore export-model") and "%" not in r.stdout
    assert "\n  export-model " in run(1, "--help").stdout
