"""inspect: statistics equal numpy's; independent of the rank count."""
import json

import h5py
import numpy as np
import pytest

from pstest import gen, run


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("insp")
    path = gen(str(d / "d.h5"), rows=25003, features=30, extra=("--chunk-rows", "777"))
    # plant +-Inf so they are counted apart from NaN
    with h5py.File(path, "r+") as h:
        X = h["features"]
        X[5, 3] = np.inf
        X[17, 3] = -np.inf
    return path


def inspect(path, p):
    return json.loads(run(p, "inspect", path, "--json").stdout)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_matches_numpy(data, p):
    r = inspect(data, p)
    with h5py.File(data) as h:
        X = h["features"][...].astype(np.float64)
        names = [s.decode() for s in h["feature_names"][...]]
        labels = {k: h["labels"][k][...] for k in h["labels"]}
    assert r["rows"] == X.shape[0] and r["features"] == X.shape[1]
    assert r["nan"] == np.isnan(X).sum() and r["inf"] == 2
    for j, c in enumerate(r["columns"]):
        col = X[:, j]
        fin = col[np.isfinite(col)]
        assert c["name"] == names[j]
        assert c["count"] == fin.size and c["nan"] == np.isnan(col).sum() and c["inf"] == np.isinf(col).sum()
        # cJSON prints 15-17 significant digits: the exact float32 extremes agree to 1e-15
        assert c["min"] == pytest.approx(fin.min(), rel=1e-15) and c["max"] == pytest.approx(fin.max(), rel=1e-15)
        for key, want in (("mean", fin.mean()), ("std", fin.std())):
            got = c[key]
            assert abs(got - want) <= 1e-9 * max(abs(want), 1e-300) or (want == 0 and abs(got) < 1e-12), (c["name"], key, got, want)
    for k, y in labels.items():
        assert r["labels"][k]["positives"] == int(y.sum())
        assert r["labels"][k]["rate"] == pytest.approx(y.mean(), rel=1e-12)


def test_rank_independent(data):
    a, b = inspect(data, 1), inspect(data, 3)
    for ca, cb in zip(a["columns"], b["columns"]):
        for key in ("mean", "std"):
            x, y = ca[key], cb[key]
            assert abs(x - y) <= 1e-12 * max(abs(x), 1e-300) or abs(x - y) < 1e-15, (ca["name"], key, x, y)


def test_table_output(data):
    out = run(2, "inspect", data).stdout
    assert "25003 rows x 30 features" in out and "chunks of 777 rows" in out
    assert "2 Inf" in out and "recency_days" in out
