"""train --model-type auto --calibrate with K >= 2 folds (issue 27): the map
is fitted on the out-of-fold scores of each head's chosen candidate (every
row scored once, by the fold fit that did not see it) and stored in the
refitted model as the single-split path stores it; isotonic = scikit-learn's
IsotonicRegression on those scores to 1e-12, Platt = its logistic fit; fold
0's scores = `score` of the chosen kind trained on the same split (fold 0 of
5 is the default --holdout split); the same bytes for P = 1, 2, 3 and after a
stop and resume; the manifest names the rows."""
import filecmp
import json
import os
import shutil

import h5py
import numpy as np
import pytest
from sklearn.calibration import _sigmoid_calibration
from sklearn.isotonic import IsotonicRegression

from test_auto_cv import ENV, HEADS, fold_of, plant, train_auto
from pstest import gen, run

ROWS = 1500


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("autocal")
    return plant(gen(str(d / "d.h5"), rows=ROWS, features=6))


@pytest.fixture(scope="module")
def models(data, tmp_path_factory):
    """auto --calibrate isotonic (P = 1, 2, 3) and platt (P = 1), with the
    out-of-fold scores kept for the checks."""
    d = tmp_path_factory.mktemp("autocal_models")
    out = {}
    for kind, ranks in (("isotonic", (1, 2, 3)), ("platt", (1,))):
        for p in ranks:
            model = str(d / f"{kind}{p}.h5")
            train_auto(p, data, model, "--calibrate", kind, "--calibration-scores")
            out[kind, p] = model
    return out


def labels(data):
    with h5py.File(data) as f:
        return f["customer_id"][...], {t: f["labels"][t][...].astype(np.float64) for t in HEADS}


def logit(p):
    q = np.clip(p.astype(np.float64), 1e-15, 1 - 1e-15)
    return np.log(q) - np.log1p(-q)


def test_isotonic_map_is_scikit_learn_on_the_out_of_fold_scores(data, models):
    ids, y = labels(data)
    man = json.load(open(models["isotonic", 1] + ".manifest.json"))
    assert man["parameters"]["calibrate"] == "isotonic" and man["parameters"]["cv_folds"] == 5
    assert man["parameters"]["calibrated_on"] == f"out-of-fold, {ROWS} rows"
    with h5py.File(models["isotonic", 1]) as m:
        assert m.attrs["calibration"] in ("isotonic", b"isotonic") and m.attrs["holdout"] == 0.0
        for t in HEADS:
            g = m["calibration"][t]
            s, x, v = g["scores"][...], g["x"][...], g["y"][...]
            assert g.attrs["rows"] == ROWS and len(s) == ROWS
            assert np.array_equal(s, s.astype(np.float32).astype(np.float64))  # float32 probabilities
            n1 = float(np.sum(y[t]))
            lo, hi = 1 / (ROWS - n1 + 2), (n1 + 1) / (n1 + 2)  # bounds: Platt's smoothed targets
            assert lo <= v.min() and v.max() <= hi
            ref = IsotonicRegression(y_min=lo, y_max=hi, out_of_bounds="clip").fit(s, y[t])
            q = np.concatenate([x, s, np.linspace(-0.5, 1.5, 101)])
            assert np.max(np.abs(np.interp(q, x, v) - ref.predict(q))) <= 1e-12


def test_platt_is_its_logistic_fit_on_the_out_of_fold_scores(data, models):
    ids, y = labels(data)
    with h5py.File(models["platt", 1]) as m:
        assert m.attrs["calibration"] in ("platt", b"platt")
        for t in HEADS:
            g = m["calibration"][t]
            a, b = g.attrs["a"], g.attrs["b"]
            ra, rb = _sigmoid_calibration(logit(g["scores"][...]), y[t])
            assert abs(a - ra) <= 1e-4 * (1 + abs(ra)) and abs(b - rb) <= 1e-4 * (1 + abs(rb))


def test_fold_zero_scores_are_the_chosen_kind_fitted_on_that_split(data, models, tmp_path):
    """Fold 0 of 5 is the default --holdout 0.2 split: its out-of-fold
    scores are `score`'s of the chosen kind (purchase_3m: logreg, churn:
    gbdt) trained on the other rows, bit for bit."""
    ids, y = labels(data)
    man = json.load(open(models["isotonic", 1] + ".manifest.json"))
    heads = man["metrics"]["auto"]["heads"]
    assert heads["purchase_3m"]["chosen"] == "logreg" and heads["churn"]["chosen"] == "gbdt"
    f0 = fold_of(ids, 5) == 0
    with h5py.File(models["isotonic", 1]) as m:
        oof = {t: m["calibration"][t]["scores"][...] for t in HEADS}
    # the folds ran at the learning rate auto kept (its grid: 0.1, or half of
    # it with --trees and the early-stopping patience doubled; auto_grid.c)
    lr = man["metrics"]["auto"]["learning_rate"]
    x = round(0.1 / lr)
    gb = ["--learning-rate", repr(lr), "--trees", str(40 * x), "--early-stopping", str(30 * x)]
    for t, kind in (("purchase_3m", "logreg"), ("churn", "gbdt")):
        model, out = str(tmp_path / f"{kind}.h5"), str(tmp_path / f"{kind}.scores.h5")
        run(1, "train", "--data", data, "--model", model, "--model-type", kind, "--quiet",
            *(gb if kind == "gbdt" else ["--trees", "40"]))
        run(1, "score", "--data", data, "--model", model, "--out", out, "--quiet")
        with h5py.File(out) as s:
            want = s["scores"][t][...].astype(np.float64)
        assert np.array_equal(oof[t][f0], want[f0]), t


def test_score_applies_the_map_to_the_refitted_model(data, models, tmp_path):
    with h5py.File(models["isotonic", 1]) as m:
        maps = {t: (m["calibration"][t]["x"][...], m["calibration"][t]["y"][...]) for t in HEADS}
    raw_model = str(tmp_path / "raw.h5")
    train_auto(1, data, raw_model)  # the same refit without calibration
    got = {}
    for name, model in (("raw", raw_model), ("cal", models["isotonic", 1])):
        out = str(tmp_path / f"{name}.scores.h5")
        run(2, "score", "--data", data, "--model", model, "--out", out, "--quiet")
        with h5py.File(out) as s:
            got[name] = {t: s["scores"][t][...] for t in HEADS}
    for t in HEADS:
        x, v = maps[t]
        want = np.interp(got["raw"][t].astype(np.float64), x, v).astype(np.float32)
        assert np.max(np.abs(got["cal"][t].astype(np.float64) - want)) <= 1e-7


def test_same_bytes_for_one_two_three_ranks(models):
    for p in (2, 3):
        assert filecmp.cmp(models["isotonic", 1], models["isotonic", p], shallow=False), p


def test_stop_and_resume_gives_the_same_bytes(data, models, tmp_path):
    model = str(tmp_path / "m.h5")
    extra = ("--calibrate", "isotonic", "--calibration-scores")
    r = train_auto(3, data, model, *extra, env=dict(ENV, PROPSCORE_FAULT_STOP="tree:150"), check=False)
    assert r.returncode == 75, r.stdout + r.stderr
    assert not os.path.exists(model)
    train_auto(3, data, model, *extra)
    assert filecmp.cmp(models["isotonic", 1], model, shallow=False)


def test_without_the_option_no_scores_are_stored_and_the_map_is_the_same(data, models, tmp_path):
    model = str(tmp_path / "m.h5")
    train_auto(2, data, model, "--calibrate", "isotonic")
    with h5py.File(model) as m, h5py.File(models["isotonic", 1]) as k:
        for t in HEADS:
            assert "scores" not in m["calibration"][t]
            assert np.array_equal(m["calibration"][t]["x"][...], k["calibration"][t]["x"][...])
            assert np.array_equal(m["calibration"][t]["y"][...], k["calibration"][t]["y"][...])


def test_the_map_does_not_depend_on_the_row_order(data, models, tmp_path):
    """The rows shuffled: the same folds (by id) and the same gbdt fold
    scores (test_auto_cv.py), so churn's (gbdt) Platt map is the same bits
    -- the fit sorts the rows by score and label, whatever their order;
    purchase_3m's logreg scores agree to rounding, and so does its map."""
    shuffled = str(tmp_path / "shuffled.h5")
    shutil.copy(data, shuffled)
    with h5py.File(shuffled, "r+") as f:
        perm = np.random.default_rng(3).permutation(f["features"].shape[0])
        for name in ("features", "customer_id", "labels/purchase_3m", "labels/churn"):
            f[name][...] = f[name][...][perm]
        del f["truth"]
    model = str(tmp_path / "m.h5")
    train_auto(2, shuffled, model, "--calibrate", "platt")
    with h5py.File(model) as m, h5py.File(models["platt", 1]) as k:
        a, b = (dict(g["calibration"]["churn"].attrs) for g in (m, k))
        assert a == b
        a, b = (dict(g["calibration"]["purchase_3m"].attrs) for g in (m, k))
        assert abs(a["a"] - b["a"]) <= 1e-6 * abs(b["a"]) and abs(a["b"] - b["b"]) <= 1e-6 * (1 + abs(b["b"]))
