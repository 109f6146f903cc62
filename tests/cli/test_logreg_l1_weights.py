"""train --l1-weights MODEL (the adaptive lasso, host/models/logreg/l1_weights.c):
a first --l1 fit that keeps false columns beside a planted sparse truth, then
the weighted fit (weight j's strength l1 / |w0_j|^gamma) keeps exactly the
planted columns; the fit meets the weighted L1 optimality conditions (numpy,
on the training rows); weights 0 in MODEL stay 0; the same model bytes for
P = 1, 2, 3 and for the matrix as CSR and as dense; stop and resume bitwise;
the options' errors in one line, no model written."""
import filecmp
import json
import os

import h5py
import numpy as np
import pytest

from pstest import error_line, gen, load_model, planted_counts, run, validation_mask, write_features

L1_FIRST, L1 = 0.004, 0.003
SUPPORT = [3, 11, 17, 29, 40]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """6000 rows x 48 count columns (20% stored), a logit on 5 of them only; CSR and dense files."""
    d = tmp_path_factory.mktemp("l1w")
    beta = np.zeros(48)
    beta[SUPPORT] = [0.6, -0.5, 0.45, -0.55, 0.5]
    X, y, ids = planted_counts(beta)
    paths = {layout: write_features(str(d / f"{layout}.h5"), X, y, ids, layout) for layout in ("csr", "dense")}
    first = fit(d, paths["csr"], 1, "first.h5", "--l1", L1_FIRST)
    return d, paths, first, X.toarray().astype(np.float64), y, ids


def fit(d, path, np_, name, *extra):
    model = str(d / name)
    run(np_, "train", "--data", path, "--model", model, "--targets", "buy", "--standardize", "scale", "--quiet",
        *extra)
    return model


def weights(model):
    with h5py.File(model) as m:
        return m["/weights"][...].tobytes() + m["/bias"][...].tobytes()


@pytest.mark.parametrize("gamma", [1, 2])
def test_planted_support_and_optimality(planted, gamma):
    d, paths, first, X, y, ids = planted
    w0 = load_model(first)["weights"][:, 0]
    assert set(SUPPORT) < set(np.flatnonzero(w0))  # the first fit keeps false columns too
    l1 = L1 if gamma == 1 else L1 / 5
    model = fit(d, paths["csr"], 1, f"a{gamma}.h5", "--l1", l1, "--l2", 0, "--l1-weights", first,
                "--l1-gamma", gamma)
    m = load_model(model)
    w, b = m["weights"][:, 0], m["bias"][0]
    assert sorted(np.flatnonzero(w)) == SUPPORT  # the others exactly 0
    with h5py.File(model) as f:
        assert f.attrs["l1_weights"] == first and f.attrs["l1_gamma"] == gamma
        assert f["/metrics/buy"].attrs["l1"] == l1
    man = json.load(open(model + ".manifest.json"))
    assert man["parameters"]["l1_weights"] == first and man["parameters"]["l1_gamma"] == gamma
    tr = ~validation_mask(ids)
    Z = X[tr] * m["standardize/scale"]
    r = 1 / (1 + np.exp(-(Z @ w + b))) - y[tr]
    g, gb = Z.T @ r / tr.sum(), r.mean()
    assert abs(gb) < 1e-5  # the bias is not penalized (the fit stops on the loss change)
    on, held = w != 0, w0 == 0
    lam = l1 / np.abs(np.where(held, 1, w0)) ** gamma  # weight j's strength
    assert np.all(np.abs(g[on] + lam[on] * np.sign(w[on])) < 2e-5)  # lam: 4e-4 and more
    assert np.all(np.abs(g[~on & ~held]) <= lam[~on & ~held] + 1e-5)
    assert np.all(w[held] == 0)


def test_same_bytes_any_rank_count_and_layout(planted):
    d, paths, first, *_ = planted
    first_dense = fit(d, paths["dense"], 1, "first_dense.h5", "--l1", L1_FIRST)
    assert weights(first_dense) == weights(first)
    ref = weights(fit(d, paths["csr"], 1, "r1.h5", "--l1", L1, "--l1-weights", first))
    for np_ in (2, 3):
        assert weights(fit(d, paths["csr"], np_, f"r{np_}.h5", "--l1", L1, "--l1-weights", first)) == ref
    for np_ in (1, 3):
        assert weights(fit(d, paths["dense"], np_, f"dd{np_}.h5", "--l1", L1, "--l1-weights", first_dense)) == ref


def test_stop_and_resume_is_bitwise(planted):
    d, paths, first, *_ = planted
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    args = ("train", "--data", paths["csr"], "--targets", "buy", "--standardize", "scale", "--l1", L1,
            "--l1-weights", first)
    ref, model = str(d / "ref.h5"), str(d / "res.h5")
    run(2, *args, "--model", ref, "--quiet", env=env)
    r = run(2, *args, "--model", model, "--quiet", check=False, env=dict(env, PROPSCORE_FAULT_STOP="pass:4"))
    assert r.returncode == 75, r.stderr
    out = run(2, *args, "--model", model, env=env)
    assert "resumed at iteration" in out.stderr and not os.path.exists(model + ".ckpt")
    assert filecmp.cmp(ref, model, shallow=False)


def other_models(d):
    """A logreg model of other columns, and a gbdt model of these (for the refusals)."""
    src = gen(str(d / "other.h5"), rows=2000, features=6, targets="buy")
    run(1, "train", "--data", src, "--model", str(d / "other_cols.h5"), "--targets", "buy", "--quiet")
    return str(d / "other_cols.h5")


@pytest.mark.parametrize("case,msg", [
    ("no_l1", "--l1-weights needs --l1 > 0 (the strength its factors multiply)"),
    ("gamma_alone", "train: --l1-gamma needs --l1-weights"),
    ("gamma_0", "--l1-gamma"),
    ("gamma_5", "--l1-gamma"),
    ("other_cols", "input features, the data has 48: --l1-weights needs a model of these columns"),
    ("gbdt", "--l1-weights needs a logreg model file (model_type is 'gbdt')"),
    ("no_head", "no head 'buy' in /targets: --l1-weights needs a model of every target trained"),
])
def test_errors(planted, case, msg):
    d, paths, first, *_ = planted
    args = {"no_l1": ("--l1-weights", first),
            "gamma_alone": ("--l1", L1, "--l1-gamma", 2),
            "gamma_0": ("--l1", L1, "--l1-weights", first, "--l1-gamma", 0),
            "gamma_5": ("--l1", L1, "--l1-weights", first, "--l1-gamma", 5)}.get(case)
    if case == "other_cols":
        args = ("--l1", L1, "--l1-weights", other_models(d))
    elif case == "gbdt":
        gb = str(d / "gb.h5")
        run(1, "train", "--data", paths["csr"], "--model", gb, "--targets", "buy", "--model-type", "gbdt",
            "--trees", 2, "--quiet")
        args = ("--l1", L1, "--l1-weights", gb)
    elif case == "no_head":
        renamed = str(d / "renamed.h5")
        with h5py.File(first) as f, h5py.File(renamed, "w") as g:
            for k in f:
                f.copy(k, g)
            g.attrs.update(f.attrs)
            del g["/targets"]
            g["/targets"] = [b"other"]
        args = ("--l1", L1, "--l1-weights", renamed)
    p = run(1, "train", "--data", paths["csr"], "--model", str(d / "bad.h5"), "--targets", "buy", "--standardize",
            "scale", *args, check=False)
    assert p.returncode == 2 and msg in error_line(p), p.stderr
    assert not (d / "bad.h5").exists()
