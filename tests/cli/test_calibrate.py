"""Calibration (host/stats/calibrate.c, through tests/unit/calibrate_check.c)
against scikit-learn: isotonic regression equals IsotonicRegression
(out_of_bounds="clip") to 1e-12 on the same scores, with ties, weights and
queries outside the fitted range; Platt scaling equals the logistic fit of
scikit-learn's _sigmoid_calibration (its L-BFGS stops at gradient 1e-6, so
the two agree to that; a tight scipy fit of the same loss agrees to 1e-9);
the expected calibration error equals its definition in NumPy."""
import os
import subprocess

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.calibration import _sigmoid_calibration
from sklearn.isotonic import IsotonicRegression

CHECK = os.environ.get("PROPSCORE_CALIBRATE_CHECK")
pytestmark = pytest.mark.skipif(not CHECK, reason="PROPSCORE_CALIBRATE_CHECK not set (run through ctest)")


def run(mode, s, y, w, q):
    text = f"{mode} {len(s)}\n" + "".join(f"{float(a)!r} {float(b)!r} {float(c)!r}\n" for a, b, c in zip(s, y, w))
    text += f"{len(q) if mode != 'ece' else q}\n" + ("".join(f"{float(v)!r}\n" for v in q) if mode != "ece" else "")
    out = subprocess.run([CHECK], input=text, capture_output=True, text=True, check=True).stdout
    return np.array([float(v) for v in out.split()])


def data(seed, n, ties):
    rng = np.random.default_rng(seed)
    s = rng.uniform(0, 1, n)
    if ties:
        s = np.round(s * 20) / 20  # many equal scores
    y = (rng.uniform(0, 1, n) < s ** 2).astype(float)
    w = rng.uniform(0.5, 2.0, n)
    return s, y, w


@pytest.mark.parametrize("seed,n,ties,weighted", [(1, 500, False, False), (2, 2000, True, False),
                                                  (3, 777, True, True), (4, 1, False, False), (5, 3, True, True)])
def test_isotonic_equals_scikit_learn(seed, n, ties, weighted):
    s, y, w = data(seed, n, ties)
    w = w if weighted else np.ones(n)
    q = np.concatenate([np.linspace(-0.5, 1.5, 101), s[:50]])
    ref = IsotonicRegression(out_of_bounds="clip").fit(s, y, sample_weight=w).predict(q)
    got = run("isotonic", s, y, w, q)
    assert np.max(np.abs(got - ref)) <= 1e-12


@pytest.mark.parametrize("seed,n,scale,weighted", [(1, 1000, 2.0, False), (2, 3000, 50.0, True), (3, 200, 0.3, False)])
def test_platt_equals_its_logistic_fit(seed, n, scale, weighted):
    rng = np.random.default_rng(seed)
    f = rng.normal(0, scale, n)
    y = (rng.uniform(0, 1, n) < 1 / (1 + np.exp(-0.7 * f / scale + 0.4))).astype(float)
    w = rng.uniform(0.5, 2.0, n) if weighted else np.ones(n)
    got = run("platt", f, y, w, f[:20])
    a, b = got[0], got[1]
    ra, rb = _sigmoid_calibration(f, y, sample_weight=w if weighted else None)
    assert abs(a - ra) <= 1e-4 * (1 + abs(ra)) and abs(b - rb) <= 1e-4 * (1 + abs(rb))
    # the same loss minimized tightly
    prior1 = np.sum(w[y > 0]); prior0 = np.sum(w[y <= 0])
    t = np.where(y > 0, (prior1 + 1) / (prior1 + 2), 1 / (prior0 + 2))
    sc = max(1.0, np.max(np.abs(f))) if np.max(np.abs(f)) >= 30 else 1.0

    def loss(ab):
        raw = -(ab[0] * f / sc + ab[1])
        p = 1 / (1 + np.exp(-raw))
        return np.sum(w * (np.logaddexp(0, raw) - t * raw)), np.array([-np.sum(w * (p - t) * f / sc), -np.sum(w * (p - t))])
    tight = minimize(loss, [0.0, np.log((prior0 + 1) / (prior1 + 1))], jac=True, method="BFGS", options={"gtol": 1e-12})
    assert abs(a * sc - tight.x[0]) <= 1e-7 * (1 + abs(tight.x[0])) and abs(b - tight.x[1]) <= 1e-7 * (1 + abs(tight.x[1]))
    assert np.allclose(got[2:], 1 / (1 + np.exp(a * f[:20] + b)), rtol=0, atol=1e-15)


def test_expected_calibration_error():
    s, y, _ = data(7, 1000, False)
    got = run("ece", s, y, np.ones_like(s), 10)[0]
    b = np.minimum((s * 10).astype(int), 9)
    ref = sum(abs(y[b == q].sum() - s[b == q].sum()) / len(s) for q in range(10))
    assert abs(got - ref) <= 1e-12
