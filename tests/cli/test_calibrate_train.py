"""train --calibrate (issue 27): the map fitted on the validation rows'
scores and stored in the model equals scikit-learn's IsotonicRegression
(to 1e-12) and the logistic fit of its _sigmoid_calibration, on the very
scores `score` writes without calibration; score applies it; the stored map
has the same bits for 1 and 3 ranks; --holdout 0 is refused; eval's ECE
equals its NumPy definition over eval's calibration bins."""
import json

import h5py
import numpy as np
import pytest
from sklearn.calibration import _sigmoid_calibration
from sklearn.isotonic import IsotonicRegression

from pstest import error_line, gen, run, validation_mask

HEADS = ["churn", "purchase_3m"]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("calib")
    data = gen(str(d / "d.h5"), rows=4000, features=6, targets=",".join(HEADS))
    return d, data


def train(work, name, np_, kind, calib):
    d, data = work
    model = str(d / f"{name}.h5")
    run(np_, "train", "--data", data, "--model", model, "--model-type", kind, "--trees", 10, "--calibrate", calib,
        "--quiet")
    return model


def score(work, model, name):
    d, data = work
    out = str(d / f"{name}.scores.h5")
    run(1, "score", "--data", data, "--model", model, "--out", out, "--quiet")
    with h5py.File(out) as f:
        return out, {t: f["scores"][t][...] for t in HEADS}


def truth(work):
    with h5py.File(work[1]) as f:
        ids = f["customer_id"][...]
        return validation_mask(ids), {t: f["labels"][t][...].astype(float) for t in HEADS}


def logit(p):
    q = np.clip(p.astype(np.float64), 1e-15, 1 - 1e-15)
    return np.log(q) - np.log1p(-q)


def label_bounds(y):
    """Platt's smoothed targets as the isotonic map's bounds (stats/calibrate.c)."""
    n1 = float(np.sum(y > 0))
    return 1 / (len(y) - n1 + 2), (n1 + 1) / (n1 + 2)


def test_isotonic_map_equals_scikit_learn_and_score_applies_it(work):
    _, raw = score(work, train(work, "gi0", 1, "gbdt", "none"), "gi0")
    model = train(work, "gi1", 1, "gbdt", "isotonic")
    _, cal = score(work, model, "gi1")
    va, y = truth(work)
    with h5py.File(model) as m:
        assert m.attrs["calibration"] == "isotonic" or m.attrs["calibration"] == b"isotonic"
        for t in HEADS:
            x, v = m["calibration"][t]["x"][...], m["calibration"][t]["y"][...]
            assert m["calibration"][t].attrs["rows"] == va.sum()
            lo, hi = label_bounds(y[t][va])
            assert lo <= v.min() and v.max() <= hi  # never exactly 0 or 1
            ref = IsotonicRegression(y_min=lo, y_max=hi, out_of_bounds="clip").fit(raw[t][va].astype(np.float64),
                                                                                   y[t][va])
            q = np.concatenate([x, raw[t].astype(np.float64), [-1.0, 2.0]])
            assert np.max(np.abs(np.interp(q, x, v) - ref.predict(q))) <= 1e-12
            want = np.interp(raw[t].astype(np.float64), x, v).astype(np.float32)
            assert np.max(np.abs(cal[t].astype(np.float64) - want)) <= 1e-7


def test_platt_equals_its_logistic_fit_and_score_applies_it(work):
    _, raw = score(work, train(work, "lp0", 1, "logreg", "none"), "lp0")
    model = train(work, "lp1", 1, "logreg", "platt")
    _, cal = score(work, model, "lp1")
    va, y = truth(work)
    with h5py.File(model) as m:
        for t in HEADS:
            a, b = m["calibration"][t].attrs["a"], m["calibration"][t].attrs["b"]
            ra, rb = _sigmoid_calibration(logit(raw[t][va]), y[t][va])
            assert abs(a - ra) <= 1e-4 * (1 + abs(ra)) and abs(b - rb) <= 1e-4 * (1 + abs(rb))
            want = (1 / (1 + np.exp(a * logit(raw[t]) + b))).astype(np.float32)
            assert np.max(np.abs(cal[t].astype(np.float64) - want)) <= 1e-7


@pytest.mark.parametrize("kind,calib", [("gbdt", "isotonic"), ("logreg", "platt")])
def test_same_map_for_any_rank_count(work, kind, calib):
    maps = []
    for np_ in (1, 3):
        with h5py.File(train(work, f"r{np_}{kind}", np_, kind, calib)) as m:
            g = m["calibration"]
            maps.append([(dict(g[t].attrs), {k: g[t][k][...].tobytes() for k in g[t]}) for t in HEADS])
    assert maps[0] == maps[1]


def test_calibrate_needs_validation_rows(work):
    d, data = work
    p = run(1, "train", "--data", data, "--model", str(d / "h0.h5"), "--holdout", 0, "--calibrate", "isotonic",
            check=False)
    assert p.returncode == 2
    assert "--calibrate" in error_line(p) and "--holdout" in error_line(p)
    assert not (d / "h0.h5").exists()


def test_eval_ece_equals_numpy(work):
    d, data = work
    out, cal = score(work, train(work, "ge", 1, "gbdt", "isotonic"), "ge")
    va, y = truth(work)
    ece = {}
    for np_ in (1, 3):
        doc = json.loads(run(np_, "eval", "--data", data, "--scores", out, "--json").stdout)
        ece[np_] = {t: doc["targets"][t]["ece"] for t in HEADS}
    assert ece[1] == ece[3]
    for t in HEADS:
        p, lab = cal[t][va], y[t][va]
        b = np.clip(np.floor(p * np.float32(10)).astype(int), 0, 9)  # float32 product, as metrics.c
        want = sum(abs(lab[b == q].sum() - p[b == q].astype(np.float64).sum()) for q in range(10)) / len(p)
        assert abs(ece[1][t] - want) <= 1e-12


def test_auto_keeps_a_calibrated_winner_and_uplift_is_refused(work):
    d, data = work
    model = train(work, "auto", 1, "auto", "platt")
    with h5py.File(model) as m:
        assert m.attrs["calibration"] in ("platt", b"platt") and sorted(m["calibration"]) == HEADS
    p = run(1, "train", "--data", data, "--model", str(d / "u.h5"), "--uplift", "--treatment", "churn",
            "--targets", "purchase_3m", "--calibrate", "platt", check=False)
    assert p.returncode == 2 and "--calibrate" in error_line(p) and "--uplift" in error_line(p)
