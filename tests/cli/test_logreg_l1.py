"""train --l1 (logreg's L1 penalty by OWL-QN, host/models/logreg/owlqn.c):
a planted sparse truth in a CSR file is recovered (the planted columns kept,
the others exactly 0) and the fit meets the L1 optimality conditions
(numpy, on the training rows the model was fitted on); the same model bytes
for P = 1, 2, 3 on CSR and dense files; the option's errors; without --l1 the
model and manifest carry no l1 entries."""
import filecmp
import json
import os

import h5py
import numpy as np
import pytest

from pstest import error_line, gen, load_model, planted_counts, run, validation_mask, write_features

L1 = 0.03
SUPPORT = [3, 11, 17, 29, 40]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """6000 rows x 48 count columns (20% stored), a logit on 5 of them only."""
    d = tmp_path_factory.mktemp("l1")
    beta = np.zeros(48)
    beta[SUPPORT] = [1.2, -1.0, 0.9, -1.1, 1.0]
    X, y, ids = planted_counts(beta)
    path = write_features(str(d / "csr.h5"), X, y, ids)
    return d, path, X.toarray().astype(np.float64), y, ids


def fit(d, path, np_, name, *extra, targets="buy"):
    model = str(d / name)
    run(np_, "train", "--data", path, "--model", model, "--targets", targets, "--quiet", *extra)
    return model


def weights(model):
    with h5py.File(model) as m:
        return m["/weights"][...].tobytes() + m["/bias"][...].tobytes()


def test_planted_support_and_optimality(planted):
    d, path, X, y, ids = planted
    model = fit(d, path, 1, "p1.h5", "--standardize", "scale", "--l1", L1, "--l2", 0)
    m = load_model(model)
    w, b = m["weights"][:, 0], m["bias"][0]
    assert sorted(np.flatnonzero(w)) == SUPPORT  # the others exactly 0
    assert m["metrics"]["buy"]["l1"] == L1 and m["metrics"]["buy"]["nonzero_weights"] == len(SUPPORT)
    tr = ~validation_mask(ids)
    Z = X[tr] * m["standardize/scale"]  # scale only: zeros stay zeros
    r = 1 / (1 + np.exp(-(Z @ w + b))) - y[tr]
    g, gb = Z.T @ r / tr.sum(), r.mean()
    assert abs(gb) < 1e-6  # the bias is not penalized
    on = w != 0
    assert np.all(np.abs(g[on] + L1 * np.sign(w[on])) < 1e-5)
    assert np.all(np.abs(g[~on]) <= L1 + 1e-6)


def test_same_model_any_rank_count(planted):
    d, path, *_ = planted
    args = ("--standardize", "scale", "--l1", L1)
    ref = weights(fit(d, path, 1, "r1.h5", *args))
    for np_ in (2, 3):
        assert weights(fit(d, path, np_, f"r{np_}.h5", *args)) == ref


def test_dense_file_any_rank_count(tmp_path):
    src = gen(str(tmp_path / "g.h5"), rows=3000, features=16, targets="buy,churn")
    m1 = fit(tmp_path, src, 1, "d1.h5", "--l1", "0.02,0.005", targets="buy,churn")
    m3 = fit(tmp_path, src, 3, "d3.h5", "--l1", "0.02,0.005", targets="buy,churn")
    assert weights(m1) == weights(m3)
    m = load_model(m1)
    nz = [m["metrics"][t]["nonzero_weights"] for t in ("buy", "churn")]
    assert nz[0] < nz[1] <= m["weights"].shape[0]  # the stronger penalty keeps fewer
    man = json.load(open(m1 + ".manifest.json"))
    assert man["parameters"]["l1"] == "0.02,0.005" and man["metrics"]["buy"]["nonzero_weights"] == nz[0]


def test_without_l1_no_entries(planted):
    d, path, *_ = planted
    model = fit(d, path, 1, "n.h5", "--standardize", "scale")
    with h5py.File(model) as f:
        assert "l1" not in f["/metrics/buy"].attrs and "nonzero_weights" not in f["/metrics/buy"].attrs
    man = json.load(open(model + ".manifest.json"))
    assert "l1" not in man["parameters"] and "nonzero_weights" not in man["metrics"]["buy"]


@pytest.mark.parametrize("p,at", [(1, 4), (2, 9)])
def test_stop_and_resume_is_bitwise(planted, p, at):
    """A checkpoint holds the L1 state (the pseudo-gradient is rebuilt from x and g): the same bytes."""
    d, path, *_ = planted
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    args = ("train", "--data", path, "--targets", "buy", "--standardize", "scale", "--l1", L1)
    ref, model = str(d / f"ref{p}.h5"), str(d / f"res{p}.h5")
    run(p, *args, "--model", ref, "--quiet", env=env)
    r = run(p, *args, "--model", model, "--quiet", check=False, env=dict(env, PROPSCORE_FAULT_STOP=f"pass:{at}"))
    assert r.returncode == 75, r.stderr
    out = run(p, *args, "--model", model, env=env)
    assert "resumed at iteration" in out.stderr and not os.path.exists(model + ".ckpt")
    assert filecmp.cmp(ref, model, shallow=False)


@pytest.mark.parametrize("args,msg", [
    (("--l1", "11"), "--l1"),
    (("--l1", "-0.1"), "--l1"),
    (("--l1", "0.1,0.2,0.3"), "--l1: give one value or 1 (one per target), got 3"),
    (("--l1", "0.1", "--solver", "newton"), "--l1 needs the L-BFGS solver (OWL-QN): leave out --solver newton"),
])
def test_errors(planted, args, msg):
    d, path, *_ = planted
    p = run(1, "train", "--data", path, "--model", str(d / "bad.h5"), "--targets", "buy", "--standardize", "scale",
            *args, check=False)
    assert p.returncode == 2 and msg in error_line(p)
    assert not (d / "bad.h5").exists()
