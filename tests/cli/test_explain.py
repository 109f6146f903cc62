"""score --explain N (issue 29): per-customer reason codes. Trees: exact
TreeSHAP, equal to LightGBM's pred_contrib on the exported model (export-model)
per (row, feature) to 1e-6 on data with NaN, base value to 1e-9;
logistic regression: w_c * standardized value, summing with the intercept to
the log-odds. The top N are the largest |contribution| (ties: lower
feature), a prefix of the full ranking; P = 1, 2, 3 write the same explain
datasets (the whole scores file: the same bytes); a stopped run resumes
bitwise; the shap package's TreeExplainer agrees on a small case; bad
input refused with one line and nothing written."""
import filecmp
import glob
import shutil

import h5py
import numpy as np
import pytest

from pstest import error_line, gen, run

ENV = {"SOURCE_DATE_EPOCH": "1700000000"}
F = 10


def with_nan(src, dst, rate=0.1, seed=1):
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as h:
        X = h["features"][...]
        X[np.random.default_rng(seed).random(X.shape) < rate] = np.nan
        h["features"][...] = X
    return dst


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("explain")
    return d, with_nan(gen(str(d / "g.h5"), rows=3000, features=F, np_=2), str(d / "d.h5"))


@pytest.fixture(scope="module")
def trees(data):
    d, path = data
    model = str(d / "m.h5")
    run(2, "train", "--data", path, "--model", model, "--model-type", "gbdt", "--trees", "12", "--quiet", env=ENV)
    return model


def explained(scores):
    """{target: (feature int16 [n, N], value float32 [n, N], base)} of a scores file."""
    with h5py.File(scores) as s:
        return {t: (g["feature"][...], g["value"][...], g.attrs["base_value"]) for t, g in s["explain"].items()
                if isinstance(g, h5py.Group)}


def full(feature, value):
    """The [n, F] contributions from an --explain F ranking."""
    phi = np.zeros((len(feature), F))
    np.put_along_axis(phi, feature.astype(np.int64), value.astype(np.float64), axis=1)
    return phi


def test_trees_equal_lightgbm_pred_contrib(data, trees, tmp_path):
    lgb = pytest.importorskip("lightgbm")
    _, path = data
    out = str(tmp_path / "s.h5")
    run(2, "score", "--data", path, "--model", trees, "--out", out, "--explain", F, "--quiet")
    run(1, "export-model", "--model", trees, "--out", str(tmp_path / "m.txt"), "--quiet")
    with h5py.File(path) as h:
        X = h["features"][...]
    for t, (feat, val, base) in explained(out).items():
        assert feat.dtype == np.int16 and val.dtype == np.float32 and feat.shape == (len(X), F)
        assert all(sorted(r) == list(range(F)) for r in feat[:50])  # every feature once
        b = lgb.Booster(model_file=str(tmp_path / f"m.{t}.txt"))
        c = b.predict(X, pred_contrib=True)
        np.testing.assert_allclose(full(feat, val), c[:, :F], rtol=0, atol=1e-6)
        np.testing.assert_allclose(base, c[:, F], rtol=0, atol=1e-9)
        raw = b.predict(X, raw_score=True)
        np.testing.assert_allclose(full(feat, val).sum(axis=1) + base, raw, rtol=0, atol=1e-5)
        assert np.abs(val).max() > 0.05  # not vacuous


def test_top_n_is_the_ranking_prefix_and_ranks_agree(data, trees, tmp_path):
    _, path = data
    outs = {}
    for p in (1, 2, 3):
        outs[p] = str(tmp_path / f"s{p}.h5")
        run(p, "score", "--data", path, "--model", trees, "--out", outs[p], "--explain", 3, "--block-rows", 256,
            "--quiet", env=ENV)
    e = {p: explained(o) for p, o in outs.items()}
    for p in (2, 3):  # the whole scores file: the same bytes
        assert filecmp.cmp(outs[1], outs[p], shallow=False), f"P = {p} wrote other bytes than P = 1"
    for t in e[1]:
        for p in (2, 3):
            assert np.array_equal(e[1][t][0], e[p][t][0]) and np.array_equal(e[1][t][1], e[p][t][1])
            assert e[1][t][2] == e[p][t][2]
    allf = str(tmp_path / "all.h5")
    run(2, "score", "--data", path, "--model", trees, "--out", allf, "--explain", F, "--quiet")
    for t, (feat, val, _) in explained(allf).items():
        a = np.abs(val.astype(np.float64))
        assert (np.diff(a, axis=1) <= 0).all()  # |value| non-increasing
        tie = np.diff(a, axis=1) == 0
        assert (np.diff(feat.astype(int), axis=1)[tie] > 0).all()  # ties: lower feature first
        assert np.array_equal(feat[:, :3], e[1][t][0]) and np.array_equal(val[:, :3], e[1][t][1])


def test_linear_contributions_sum_to_the_logit(data, tmp_path):
    _, path = data
    model, out = str(tmp_path / "l.h5"), str(tmp_path / "s.h5")
    run(2, "train", "--data", path, "--model", model, "--missing-indicators", "--quiet")
    run(2, "score", "--data", path, "--model", model, "--out", out, "--explain", F, "--quiet")
    with h5py.File(model) as m:
        W, b = m["weights"][...], m["bias"][...]
        mean, scale = m["standardize/mean"][...], m["standardize/scale"][...]
        src, kind = m["columns/source"][...], m["columns/kind"][...]
        targets = [t.decode() for t in m["targets"][...]]
    with h5py.File(path) as h:
        X = h["features"][...].astype(np.float64)
    bad = ~np.isfinite(X[:, src])
    v = np.where(kind == 1, bad.astype(np.float64), np.where(bad, mean, X[:, src]))
    S = ((v - mean) * scale).astype(np.float32).astype(np.float64)
    e = explained(out)
    with h5py.File(out) as s:
        for h, t in enumerate(targets):
            feat, val, base = e[t]
            assert base == b[h]
            phi = np.zeros((len(X), F))
            np.add.at(phi, (slice(None), src), S * W[:, h])
            np.testing.assert_allclose(full(feat, val), phi, rtol=0, atol=1e-6)
            z = full(feat, val).sum(axis=1) + base
            p = s["scores"][t][...].astype(np.float64)
            np.testing.assert_allclose(1 / (1 + np.exp(-z)), p, rtol=0, atol=1e-6)


def test_stop_and_resume_is_bitwise(data, trees, tmp_path):
    _, path = data
    ref, out = str(tmp_path / "ref.h5"), str(tmp_path / "s.h5")
    args = ["score", "--data", path, "--model", trees, "--explain", 4, "--block-rows", 256, "--quiet"]
    run(2, *args, "--out", ref, env=ENV)
    r = run(2, *args, "--out", out, check=False, env=dict(ENV, PROPSCORE_FAULT_STOP="block:3"))
    assert r.returncode == 75, r.stderr
    r = run(2, *args[:-1], "--out", out, env=ENV)
    assert "resuming" in r.stderr
    assert filecmp.cmp(ref, out, shallow=False), "resumed explanations differ from the uninterrupted ones"
    other = str(tmp_path / "o.h5")  # a stopped run without --explain is another job: not resumed with it
    r = run(2, *args[:5], *args[7:], "--out", other, check=False, env=dict(ENV, PROPSCORE_FAULT_STOP="block:3"))
    assert r.returncode == 75
    r = run(2, *args[:-1], "--out", other, env=ENV)
    assert "resuming" not in r.stderr and filecmp.cmp(ref, other, shallow=False)


def test_bad_input(data, trees, tmp_path):
    _, path = data
    out = str(tmp_path / "s.h5")
    p = run(1, "score", "--data", path, "--model", trees, "--out", out, "--explain", 0, check=False)
    assert p.returncode == 2 and "--explain" in error_line(p)
    p = run(1, "score", "--data", path, "--model", trees, "--out", out, "--explain", F + 1, check=False)
    assert p.returncode == 2 and f"--explain {F + 1} is above the {F} features" in error_line(p)
    u = gen(str(tmp_path / "u.h5"), rows=3000, features=8, targets="y:0.2", extra=("--uplift",))
    um = str(tmp_path / "um.h5")
    run(1, "train", "--data", u, "--model", um, "--uplift", "--treatment", "treated", "--targets", "y",
        "--model-type", "gbdt", "--trees", "3", "--quiet")
    p = run(1, "score", "--data", u, "--model", um, "--out", out, "--explain", 2, check=False)
    assert p.returncode == 2 and "not available for an uplift model" in error_line(p)
    assert not glob.glob(out) and not glob.glob(out + ".partial-*") and not glob.glob(out + ".tmp-*")


def test_shap_tree_explainer_agrees(data, trees, tmp_path):
    """The shap package's TreeExplainer (path-dependent) on the exported model, a small case."""
    shap = pytest.importorskip("shap")
    lgb = pytest.importorskip("lightgbm")
    _, path = data
    out = str(tmp_path / "s.h5")
    run(1, "score", "--data", path, "--model", trees, "--out", out, "--explain", F, "--quiet")
    run(1, "export-model", "--model", trees, "--out", str(tmp_path / "m.txt"), "--quiet")
    with h5py.File(path) as h:
        X = h["features"][:300].astype(np.float64)
    for t, (feat, val, base) in explained(out).items():
        ex = shap.TreeExplainer(lgb.Booster(model_file=str(tmp_path / f"m.{t}.txt")))
        sv = np.asarray(ex.shap_values(X))
        np.testing.assert_allclose(full(feat[:300], val[:300]), sv.reshape(len(X), F), rtol=0, atol=1e-6)
        assert abs(float(np.ravel(ex.expected_value)[0]) - base) < 1e-6
