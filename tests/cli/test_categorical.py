"""Categorical features (/categorical, datasets/SCHEMA.md) in the trees: a
planted category set recovered in one split, the same model bytes for
P = 1, 2, 3, stop/resume bitwise, bad codes and a malformed /categorical
refused with one line (file, dataset, row, column), inspect listing the
categories, the importer's --categories codes, and the LightGBM export
predicting and explaining as propscore does."""
import filecmp
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from pstest import SRC, digest, error_line, run

ENV = {"SOURCE_DATE_EPOCH": "1700000000"}
HOT = [2, 5, 7, 11]  # the planted set: P(y) = 0.8 there, 0.1 elsewhere (C = 12)


def make(path, n=5000, C=12, seed=3, bad=None, categorical=True, offsets=None):
    rng = np.random.default_rng(seed)
    code = rng.integers(0, C, n).astype(np.float32)
    code[rng.random(n) < 0.03] = np.nan
    X = np.stack([rng.normal(size=n), code, rng.normal(size=n)], axis=1).astype(np.float32)
    y = (rng.random(n) < np.where(np.isin(code, HOT), 0.8, 0.1)).astype(np.uint8)
    if bad is not None:
        X[bad[0], 1] = bad[1]
    with h5py.File(path, "w") as h:
        h.attrs["schema_version"] = np.int64(1)
        h.attrs["kind"] = "features"
        h["features"] = X
        h["customer_id"] = np.arange(n, dtype=np.int64) * 7 + 1
        h["feature_names"] = np.array([b"x1", b"region", b"x2"])
        h["labels/buy"] = y
        if categorical:
            g = h.create_group("categorical")
            g["columns"] = np.array([1], dtype=np.int64)
            g["offsets"] = np.array(offsets or [0, C], dtype=np.int64)
            g["names"] = np.array([f"r{c}".encode() for c in range((offsets or [0, C])[-1])])
    return path


def codes(s):
    return [c for c in range(256) if s[c >> 3] >> (c & 7) & 1]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make(str(tmp_path_factory.mktemp("cat") / "d.h5"))


def train(p, data, model, *extra, env=ENV, **kw):
    return run(p, "train", "--data", data, "--model", model, "--model-type", "gbdt", "--trees", "20", "--quiet",
               *extra, env=env, **kw)


def test_one_split_finds_the_planted_set_same_bytes_any_p(data, tmp_path):
    models = [str(tmp_path / f"m{p}.h5") for p in (1, 2, 3)]
    for p, m in zip((1, 2, 3), models):
        train(p, data, m)
    assert filecmp.cmp(models[0], models[1], shallow=False) and filecmp.cmp(models[0], models[2], shallow=False)
    with h5py.File(models[0]) as m:
        t = m["trees/buy"]
        assert t["feature"][0] == 1 and t["cat_index"][0] == 0  # the root splits region by a set
        assert codes(t["cat_set"][0]) == HOT
        assert list(m["bins/categorical"][...]) == [0, 1, 0]
        assert list(m["bins/offsets"][...])[1:3] == [m["bins/offsets"][1], m["bins/offsets"][1] + 11]
        assert t["gain"][0] > 20 * max(t["gain"][1:t["node_offset"][1]])  # the signal, all in one split


def test_a_set_split_must_gain_more_than_min_gain(data, tmp_path):
    """--min-gain-to-split holds for category sets as for thresholds: above
    every gain of the default model, no node at all (the set search once
    started from gain 0 and let the planted set split the root)."""
    m0, m1 = str(tmp_path / "m0.h5"), str(tmp_path / "m1.h5")
    train(1, data, m0)
    with h5py.File(m0) as m:
        top = float(np.max(m["trees/buy"]["gain"][...]))
    train(1, data, m1, "--min-gain-to-split", repr(top * 1.5))
    with h5py.File(m1) as m:
        assert len(m["trees/buy"]["gain"]) == 0


def test_numeric_models_keep_their_layout(tmp_path):
    """Without /categorical nothing new is written (older readers, byte-identical files)."""
    d = make(str(tmp_path / "n.h5"), categorical=False)
    train(1, d, str(tmp_path / "n_m.h5"))
    with h5py.File(str(tmp_path / "n_m.h5")) as m:
        assert "cat_index" not in m["trees/buy"] and "categorical" not in m["bins"]


def test_stop_and_resume_is_bitwise(data, tmp_path):
    ref, model = str(tmp_path / "ref.h5"), str(tmp_path / "m.h5")
    train(2, data, ref)
    r = train(2, data, model, check=False, env=dict(ENV, PROPSCORE_FAULT_STOP="tree:7"))
    assert r.returncode == 75, r.stderr
    run(2, "train", "--data", data, "--model", model, "--model-type", "gbdt", "--trees", "20", env=ENV)
    assert filecmp.cmp(ref, model, shallow=False)


@pytest.mark.parametrize("value,text", [(2.5, "is 2.5"), (12.0, "is 12"), (-1.0, "is -1")])
def test_bad_codes_are_refused(tmp_path, value, text):
    bad = make(str(tmp_path / "bad.h5"), bad=(4321, value))
    before = digest(bad)
    r = train(3, bad, str(tmp_path / "m.h5"), check=False)
    assert r.returncode != 0
    assert error_line(r).endswith(f"{bad}: /features row 4321 column 1 (region) {text}, not a category code "
                                  "(an integer 0..11, /categorical)")
    assert not os.path.exists(tmp_path / "m.h5") and digest(bad) == before


def test_score_refuses_bad_codes(data, tmp_path):
    model = str(tmp_path / "m.h5")
    train(1, data, model)
    bad = make(str(tmp_path / "bad.h5"), bad=(17, 3.5))
    r = run(2, "score", "--data", bad, "--model", model, "--out", str(tmp_path / "s.h5"), check=False)
    assert "/features row 17 column 1 (region) is 3.5, not a category code" in error_line(r)


def test_malformed_categorical_group(tmp_path):
    d = make(str(tmp_path / "d.h5"), offsets=[0, 0])
    r = run(1, "inspect", d, check=False)
    assert error_line(r).endswith(f"{d}: /categorical/offsets: column 1 (region) must have 1..255 categories")


def test_inspect_lists_categories(data):
    out = run(1, "inspect", data).stdout
    assert "categorical region               column 1, 12 categories (codes 0..11): 0=r0, 1=r1," in out
    import json
    cols = json.loads(run(1, "inspect", data, "--json").stdout)["columns"]
    assert cols[1]["categories"] == [f"r{c}" for c in range(12)] and "categories" not in cols[0]


def test_importer_codes(tmp_path):
    import pandas as pd
    rng = np.random.default_rng(1)
    n = 3000
    city = rng.choice(["Oslo", "Bergen", "Tromsø", "Bodø", "Molde", "Hamar", "Moss", "Skien"], n).astype(object)
    city[:40] = None
    y = (rng.random(n) < np.where(np.isin(city, ["Bergen", "Moss", "Skien"]), 0.75, 0.1)).astype(int)
    csv, out = str(tmp_path / "t.csv"), str(tmp_path / "t.h5")
    pd.DataFrame({"id": np.arange(n) + 100, "age": rng.integers(18, 90, n), "city": city, "y": y}).to_csv(csv, index=False)
    subprocess.run([sys.executable, os.path.join(SRC, "scripts", "to_hdf5.py"), csv, "--out", out, "--id", "id",
                    "--label", "buy=y", "--categories", "codes"], check=True, capture_output=True)
    with h5py.File(out) as h:
        names = [s.decode() for s in h["categorical/names"][...]]
        assert names == sorted(set(c for c in city if c)) and list(h["categorical/columns"][...]) == [1]
        X = h["features"][...]
        assert np.isnan(X[:40, 1]).all() and [names[int(c)] for c in X[40:50, 1]] == list(city[40:50])
    model = str(tmp_path / "m.h5")
    train(2, out, model)
    with h5py.File(model) as m:
        assert [names[c] for c in codes(m["trees/buy/cat_set"][0])] == ["Bergen", "Moss", "Skien"]


def test_lightgbm_export_predicts_and_explains_the_same(data, tmp_path):
    lgb = pytest.importorskip("lightgbm")
    model, txt, scores = str(tmp_path / "m.h5"), str(tmp_path / "m.txt"), str(tmp_path / "s.h5")
    train(2, data, model)
    run(1, "export-model", "--model", model, "--out", txt)
    run(2, "score", "--data", data, "--model", model, "--out", scores, "--explain", "3")
    with h5py.File(data) as d, h5py.File(scores) as s:
        X = d["features"][...].astype(np.float64)
        p = s["scores/buy"][...].astype(np.float64)
        feat, val = s["explain/buy/feature"][...].astype(int), s["explain/buy/value"][...]
        base = s["explain/buy"].attrs["base_value"]
    b = lgb.Booster(model_file=txt)
    assert np.abs(b.predict(X) - p).max() < 1e-6
    c = b.predict(X, pred_contrib=True)
    assert np.abs(np.take_along_axis(c[:, :3], feat, 1) - val).max() < 1e-6 and abs(c[0, 3] - base) < 1e-9


def design(X, m):
    """Model columns by the model file's rule: value columns standardized, category columns 0/1 indicators."""
    cols = []
    for s, k, mu, sc in zip(m["columns/source"][...], m["columns/kind"][...], m["standardize/mean"][...],
                            m["standardize/scale"][...]):
        x = X[:, s].astype(np.float64)
        v = (x == k - 2).astype(np.float64) if k >= 2 else np.where(np.isfinite(x), x, mu)
        cols.append(((v - mu) * sc).astype(np.float32).astype(np.float64))
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_logreg_one_hot_matches_sklearn(data, tmp_path, solver):
    """logreg one-hot encodes a categorical column itself (one weight a category, not standardized): the
    coefficients and probabilities of scikit-learn on the same design; the same bytes for P = 1, 3."""
    from sklearn.linear_model import LogisticRegression
    from pstest import validation_mask
    l2, models = 1e-3, [str(tmp_path / f"m{p}.h5") for p in (1, 3)]
    for p, m in zip((1, 3), models):
        run(p, "train", "--data", data, "--model", m, "--solver", solver, "--l2", l2, "--tol", "1e-10", "--ftol",
            "0", "--quiet", env=ENV)
    assert filecmp.cmp(models[0], models[1], shallow=False)
    scores = str(tmp_path / "s.h5")
    run(2, "score", "--data", data, "--model", models[0], "--out", scores, "--quiet")
    with h5py.File(data) as d, h5py.File(models[0]) as m, h5py.File(scores) as s:
        X, ids, y = d["features"][...], d["customer_id"][...], d["labels/buy"][...]
        assert list(m["columns/kind"][...]) == [0] + list(range(2, 14)) + [0]
        Z, w, b = design(X, m), m["weights"][:, 0], m["bias"][0]
        p = s["scores/buy"][...]
    tr = ~validation_mask(ids)
    clf = LogisticRegression(C=1.0 / (l2 * tr.sum()), tol=1e-12, max_iter=20000, warm_start=True)
    for _ in range(6):
        clf.fit(Z[tr], y[tr])
    assert np.linalg.norm(w - clf.coef_[0]) / np.linalg.norm(clf.coef_[0]) < 1e-4
    assert np.abs(p - clf.predict_proba(Z)[:, 1]).max() < 1e-6
    assert min(w[1 + np.array(HOT)]) > max(np.delete(w[1:13], HOT))  # the planted set weighs most


def test_logreg_refuses_bad_codes(tmp_path):
    bad = make(str(tmp_path / "bad.h5"), bad=(99, 7.5))
    r = run(2, "train", "--data", bad, "--model", str(tmp_path / "m.h5"), "--quiet", check=False)
    assert error_line(r).endswith(f"{bad}: /features row 99 column 1 (region) is 7.5, not a category code "
                                  "(an integer 0..11, /categorical)")
