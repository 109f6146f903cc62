"""Exclusive feature bundling (issue 26, --bundle): on a wide table of
one-hot and rare 0/1 columns the bundles change no bit of the model -- the
same bytes with --bundle auto and off, for P = 1, 2, 3, exact and quantized
gradients with bagging and feature sampling -- while the log shows the
histograms built over fewer columns."""
import filecmp
import re

import h5py
import numpy as np
import pytest

from pstest import run

ENV = {"SOURCE_DATE_EPOCH": "1700000000"}


def wide_table(path, rows=6000, seed=3):
    """4 numeric columns (one with NaN), one-hot columns of three categories
    (5, 8 and 12 levels), 12 rare flags of which at most one is set in a row
    (a one-hot with a dropped reference level), 2 dense independent flags and
    a pair of flags that meet in a few rows (their bundle, if the sample
    misses the meetings, must be taken apart)."""
    rng = np.random.default_rng(seed)
    num = rng.normal(size=(rows, 4)).astype(np.float32)
    num[rng.random(rows) < 0.05, 1] = np.nan
    cats = [rng.integers(0, k, rows) for k in (5, 8, 12)]
    onehot = [np.eye(k, dtype=np.float32)[c] for k, c in zip((5, 8, 12), cats)]
    rare_level = rng.integers(0, 40, rows)  # levels 12..39: no flag set
    rare = np.eye(40, dtype=np.float32)[rare_level][:, :12]
    dense = (rng.random((rows, 2)) < [0.3, 0.45]).astype(np.float32)
    meet = np.zeros((rows, 2), np.float32)
    meet[rng.random(rows) < 0.05, 0] = 1
    meet[(rng.random(rows) < 0.05) & (meet[:, 0] == 0), 1] = 1
    meet[rng.choice(rows, 3, replace=False)] = 1  # three rows where both are set
    X = np.hstack([num[:, :2], onehot[0], rare, num[:, 2:], onehot[1], dense, onehot[2], meet])
    z = (0.8 * num[:, 0] - 0.5 * np.nan_to_num(num[:, 1]) + np.array([-1, 0, 0.5, 1, 1.5])[cats[0]]
         + 0.7 * (cats[1] % 3 == 0) - 0.9 * rare[:, :4].sum(1) + 0.6 * dense[:, 0] + 0.4 * meet[:, 0])
    y1 = (rng.random(rows) < 1 / (1 + np.exp(-(z - 0.5)))).astype(np.uint8)
    y2 = (rng.random(rows) < 1 / (1 + np.exp(-(0.5 * cats[2] / 11 - num[:, 3])))).astype(np.uint8)
    with h5py.File(path, "w") as h:
        h["features"] = X
        h["customer_id"] = np.arange(rows, dtype=np.int64) * 104729 + 11
        h["feature_names"] = np.array([f"c{j}".encode() for j in range(X.shape[1])])
        h["labels/buy"] = y1
        h["labels/churn"] = y2
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return wide_table(str(tmp_path_factory.mktemp("bundle") / "wide.h5"))


def columns_of(log):
    m = re.search(r"(\d+) features in (\d+) histogram columns \((\d+) bundles", log)
    return tuple(int(g) for g in m.groups()) if m else None


@pytest.mark.parametrize("extra", [(), ("--grad-bits", "8", "--bagging-fraction", "0.7", "--feature-fraction", "0.8"),
                                   ("--bin-sample", "300",)])
def test_bundles_change_no_bit_of_the_model(data, tmp_path, extra):
    models, logs = [], []
    for p in (1, 2, 3):
        for mode in ("auto", "off"):
            m = str(tmp_path / f"g{p}{mode}.h5")
            r = run(p, "train", "--data", data, "--model", m, "--model-type", "gbdt", "--trees", "15",
                    "--num-leaves", "15", "--min-data-in-leaf", "10", "--bundle", mode, *extra, env=ENV)
            models.append(m)
            logs.append(columns_of(r.stderr + r.stdout))
    for other in models[1:]:
        assert filecmp.cmp(models[0], other, shallow=False), other
    auto, off = logs[0::2], logs[1::2]
    assert all(c is None for c in off)
    assert len(set(auto)) == 1, auto  # the same bundles for any rank count
    f, cols, multi = auto[0]
    assert f == 2 + 5 + 12 + 2 + 8 + 2 + 12 + 2 and multi >= 4 and cols <= f - 25, auto[0]  # 45 -> 12 with the whole sample
    with h5py.File(models[0]) as h:  # a real model: splits on the one-hot and rare columns too
        feats = np.concatenate([h[f"trees/{t}/feature"][...] for t in ("buy", "churn")])
    assert np.isin(feats, np.arange(2, 19)).any()


def test_bundle_option_is_checked(data, tmp_path):
    r = run(1, "train", "--data", data, "--model", str(tmp_path / "m.h5"), "--model-type", "gbdt", "--bundle", "on",
            check=False)
    assert r.returncode == 2 and "--bundle" in r.stderr


def test_no_bundle_columns_when_they_do_not_fit_the_memory_limit(data, tmp_path):
    """A rank's bins (3000 x 45 bytes) fit --host-mem-limit 150K, the bundle columns beside them do not: the run goes
    on without them (decided by all ranks together), the same model."""
    models = []
    for p, limit in ((2, "150K"), (2, None)):
        m = str(tmp_path / f"g{p}{limit}.h5")
        r = run(p, "train", "--data", data, "--model", m, "--model-type", "gbdt", "--trees", "5",
                *(("--host-mem-limit", limit) if limit else ()), env=ENV)
        assert (columns_of(r.stderr + r.stdout) is None) == (limit is not None), r.stderr
        assert ("do not fit --host-mem-limit" in r.stderr + r.stdout) == (limit is not None)
        models.append(m)
    assert filecmp.cmp(models[0], models[1], shallow=False)
