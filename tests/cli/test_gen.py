"""gen: rank-count invariance, realistic columns, planted labels."""
import h5py
import numpy as np
import pytest

from pstest import gen, run

DATASETS = ["features", "customer_id", "labels/purchase_3m", "labels/churn", "truth/purchase_3m/prob",
            "truth/churn/prob", "truth/churn/coef"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("gen")
    out = {}
    for p in (1, 2, 3):
        # odd row count and small chunks: rank blocks cut through chunks
        out[p] = gen(str(d / f"p{p}.h5"), rows=30001, features=40, np_=p, extra=("--chunk-rows", "1000"))
    return out


@pytest.mark.parametrize("p", [2, 3])
def test_identical_for_any_rank_count(files, p):
    with h5py.File(files[1]) as a, h5py.File(files[p]) as b:
        for name in DATASETS:
            x, y = a[name][...], b[name][...]
            assert x.dtype == y.dtype and x.shape == y.shape, name
            assert x.tobytes() == y.tobytes(), f"{name} differs between P=1 and P={p}"
        assert list(a["feature_names"][...]) == list(b["feature_names"][...])


def test_schema_and_columns(files):
    with h5py.File(files[1]) as h:
        assert h.attrs["schema_version"] == 1
        X = h["features"][...]
        names = [s.decode() for s in h["feature_names"][...]]
        assert X.dtype == np.float32 and X.shape == (30001, 40)
        assert h["features"].chunks == (1000, 40)
        ids = h["customer_id"][...]
        assert len(np.unique(ids)) == len(ids)
        col = {n: X[:, i] for i, n in enumerate(names)}
        assert np.all(col["country_code"] == 1.0)                                   # constant column
        assert np.array_equal(col["monetary_12m"], col["monetary_12m_copy"])         # duplicated column
        m = col["monetary_12m"]
        assert np.mean(m) > 1.5 * np.median(m)                                      # heavy right tail
        regions = np.stack([col[f"region_{r}"] for r in ("north", "south", "east", "west")], 1)
        assert np.all(regions.sum(1) == 1)                                          # one-hot
        nan_frac = np.isnan(X).mean(0)
        assert 0.005 < nan_frac[names.index("tenure_months")] < 0.015
        assert nan_frac[names.index("recency_days")] == 0
        a0, a1 = col["affinity_g0_0"], col["affinity_g0_2"]
        assert np.corrcoef(a0, a1)[0, 1] > 0.5                                     # correlated group


def test_planted_rates_and_labels(files):
    with h5py.File(files[1]) as h:
        for t, rate in (("purchase_3m", 0.04), ("churn", 0.10)):
            p = h[f"truth/{t}/prob"][...].astype(float)
            y = h[f"labels/{t}"][...]
            assert set(np.unique(y)) <= {0, 1}
            assert abs(p.mean() - rate) < 0.01 * 3
            # labels are Bernoulli(p): their mean matches within a few standard errors
            assert abs(y.mean() - p.mean()) < 4 * np.sqrt(rate * (1 - rate) / len(y))


def test_seed_changes_data(tmp_path):
    a = gen(str(tmp_path / "a.h5"), rows=500, features=8, seed=1)
    b = gen(str(tmp_path / "b.h5"), rows=500, features=8, seed=2)
    with h5py.File(a) as x, h5py.File(b) as y:
        assert not np.array_equal(x["features"][...], y["features"][...], equal_nan=True)


def test_custom_targets_and_rates(tmp_path):
    out = gen(str(tmp_path / "t.h5"), rows=20000, features=22, targets="buy_shoes:0.2,churn")
    with h5py.File(out) as h:
        assert sorted(h["labels"].keys()) == ["buy_shoes", "churn"]
        assert abs(h["truth/buy_shoes/prob"][...].mean() - 0.2) < 0.02


def test_help():
    p = run(1, "gen", "--help")
    assert "--rows" in p.stdout and "--targets" in p.stdout
