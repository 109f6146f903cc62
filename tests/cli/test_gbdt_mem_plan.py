"""--host-mem-limit's plan for the trees on the CPU (issue 26): a rank's
binned rows (n x f bytes) must fit or the run is refused; beside them the
partition's column copy of the bins (n_tr x f bytes, f <= 128) and the packed
4-bit rows (n_tr x packed bytes + 1) are made only while they fit what is
left, each dropped with a log line naming its bytes, and the model is the
same bytes in every case."""
import filecmp
import re

import h5py
import numpy as np

from pstest import run

ENV = {"SOURCE_DATE_EPOCH": "1700000000"}


def table(path, rows=5000, seed=11):
    """4 numeric columns and 36 independent 0/1 flags (3 bins each: five
    share a packed byte)."""
    rng = np.random.default_rng(seed)
    num = rng.normal(size=(rows, 4)).astype(np.float32)
    flags = (rng.random((rows, 36)) < 0.3).astype(np.float32)
    X = np.hstack([num, flags])
    z = num[:, 0] - 0.5 * num[:, 1] + flags[:, :6].sum(1) * 0.4 - 1
    with h5py.File(path, "w") as h:
        h["features"] = X
        h["customer_id"] = np.arange(rows, dtype=np.int64) * 7919 + 3
        h["feature_names"] = np.array([f"c{j}".encode() for j in range(X.shape[1])])
        h["labels/buy"] = (rng.random(rows) < 1 / (1 + np.exp(-z))).astype(np.uint8)
    return path, rows, X.shape[1]


def train(data, model, limit=None):
    return run(1, "train", "--data", data, "--model", model, "--model-type", "gbdt", "--trees", "4", "--bundle", "off",
               "--grad-bits", "8", *(("--host-mem-limit", str(limit)) if limit is not None else ()), check=False,
               env=ENV)


def dropped(log, what):
    m = re.search(rf"no {what} \((\d+) bytes\): it does not fit --host-mem-limit", log)
    return int(m.group(1)) if m else None


def test_the_plan_counts_the_column_copy_and_the_packed_rows(tmp_path):
    data, n, f = table(str(tmp_path / "t.h5"))
    ref = str(tmp_path / "ref.h5")
    r = train(data, ref)
    assert r.returncode == 0, r.stderr
    n_tr = int(re.search(r"(\d+) train \+ \d+ validation rows", r.stderr).group(1))
    bins, copy = n * f, n_tr * f
    # just below the binned rows: refused, naming the limit
    r = train(data, str(tmp_path / "a.h5"), bins - 1)
    assert r.returncode != 0 and "more than --host-mem-limit" in r.stderr, r.stderr
    # the bins fit, their column copy does not: made without it; the packed rows then fit
    m = str(tmp_path / "b.h5")
    r = train(data, m, bins + copy - 1)
    assert r.returncode == 0, r.stderr
    assert dropped(r.stderr, "column copy of the bins") == copy and dropped(r.stderr, "packed 4-bit rows") is None
    assert filecmp.cmp(ref, m, shallow=False)
    # the copy fits exactly, nothing is left for the packed rows
    m = str(tmp_path / "c.h5")
    r = train(data, m, bins + copy)
    assert r.returncode == 0 and dropped(r.stderr, "column copy of the bins") is None, r.stderr
    packed = dropped(r.stderr, "packed 4-bit rows")
    assert packed is not None and n_tr < packed < n_tr * f // 2, r.stderr  # 36 flags five a byte: fewer bytes a row
    assert filecmp.cmp(ref, m, shallow=False)
    # one byte short of both, then both
    r = train(data, str(tmp_path / "d.h5"), bins + copy + packed - 1)
    assert dropped(r.stderr, "packed 4-bit rows") == packed
    m = str(tmp_path / "e.h5")
    r = train(data, m, bins + copy + packed)
    assert r.returncode == 0 and "does not fit --host-mem-limit" not in r.stderr, r.stderr
    assert filecmp.cmp(ref, m, shallow=False)


def test_wide_rows_partition_from_cached_columns_or_the_rows_alike(tmp_path):
    """Over 128 features there is no whole copy by column: the partition reads the last split features' columns
    (copied out of the rows once, n_tr x 32 bytes); with no room for them it reads the rows. The same model."""
    rng = np.random.default_rng(5)
    n, f = 3000, 150
    X = rng.normal(size=(n, f)).astype(np.float32)
    X[:, 100:] = (X[:, 100:] > 0.8).astype(np.float32)
    X[rng.random((n, f)) < 0.02] = np.nan
    z = X[:, 0] - np.nan_to_num(X[:, 1]) + 0.5 * np.nan_to_num(X[:, 120])
    data = str(tmp_path / "w.h5")
    with h5py.File(data, "w") as h:
        h["features"] = X
        h["customer_id"] = np.arange(n, dtype=np.int64) * 31 + 1
        h["feature_names"] = np.array([f"c{j}".encode() for j in range(f)])
        h["labels/buy"] = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.uint8)
    models = []
    for limit, p in ((None, 1), (None, 2), (n * f, 1)):  # the last: no room beside the bins
        m = str(tmp_path / f"m{p}{limit}.h5")
        r = run(p, "train", "--data", data, "--model", m, "--model-type", "gbdt", "--trees", "6", "--bundle", "off",
                *(("--host-mem-limit", str(limit)) if limit else ()), env=ENV)
        assert ("no split features' columns" in r.stderr) == (limit is not None), r.stderr
        models.append(m)
    for other in models[1:]:
        assert filecmp.cmp(models[0], other, shallow=False), other
