"""--grad-bits auto, the default (issue 26): 8-bit gradients from
--grad-bits-min-rows training rows of all ranks on, exact below; the same
choice and model bytes for any rank count, the bits used in the manifest."""
import filecmp
import json

import pytest

from pstest import gen, run, validation_mask

ENV = {"SOURCE_DATE_EPOCH": "1700000000"}
TRAIN = ("train", "--model-type", "gbdt", "--trees", "8", "--quiet")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return gen(str(tmp_path_factory.mktemp("gba") / "d.h5"), rows=4000, features=10, np_=2)


def n_train(path):
    import h5py
    with h5py.File(path) as h:
        return int((~validation_mask(h["customer_id"][...])).sum())


def train(p, data, model, *extra):
    run(p, *TRAIN, "--data", data, "--model", model, *extra, env=ENV)
    with open(model + ".manifest.json") as f:
        return json.load(f)["parameters"]


def test_auto_switches_at_the_row_count(data, tmp_path):
    """At min-rows = the training rows: 8 bits, the bytes of --grad-bits 8; one row more: exact's bytes."""
    n = n_train(data)
    exact, q8 = str(tmp_path / "exact.h5"), str(tmp_path / "q8.h5")
    assert train(2, data, exact, "--grad-bits", "exact")["grad_bits"] == "exact"
    assert train(2, data, q8, "--grad-bits", "8")["grad_bits"] == "8"
    assert not filecmp.cmp(exact, q8, shallow=False)  # the two paths differ on this data
    at, above = str(tmp_path / "at.h5"), str(tmp_path / "above.h5")
    par = train(2, data, at, "--grad-bits-min-rows", str(n))
    assert par["grad_bits"] == "8" and par["grad_bits_min_rows"] == n
    assert filecmp.cmp(at, q8, shallow=False)
    assert train(2, data, above, "--grad-bits-min-rows", str(n + 1))["grad_bits"] == "exact"
    assert filecmp.cmp(above, exact, shallow=False)


def test_default_keeps_small_tables_exact(data, tmp_path):
    """The default threshold (500,000 rows) leaves a small table on the exact path."""
    d, e = str(tmp_path / "d.h5"), str(tmp_path / "e.h5")
    par = train(1, data, d)
    assert par["grad_bits"] == "exact" and par["grad_bits_min_rows"] == 500000
    train(1, data, e, "--grad-bits", "exact")
    assert filecmp.cmp(d, e, shallow=False)


@pytest.mark.parametrize("min_rows", ["0", "500000"])
def test_auto_same_bytes_for_any_rank_count(data, tmp_path, min_rows):
    """The choice is made from all ranks' rows: P = 1, 2, 3 give the same model bytes, quantized or not."""
    models = [str(tmp_path / f"m{p}.h5") for p in (1, 2, 3)]
    bits = {train(p, data, m, "--grad-bits-min-rows", min_rows, "--bagging-fraction", "0.8")["grad_bits"]
            for p, m in zip((1, 2, 3), models)}
    assert bits == {"8" if min_rows == "0" else "exact"}
    assert filecmp.cmp(models[0], models[1], shallow=False) and filecmp.cmp(models[0], models[2], shallow=False)


def test_min_rows_is_bounded(data, tmp_path):
    r = run(1, *TRAIN, "--data", data, "--model", str(tmp_path / "x.h5"), "--grad-bits-min-rows", "-1",
            check=False, env=ENV)
    assert r.returncode == 2 and "--grad-bits-min-rows" in r.stderr



def test_4bit_leaf_below_min_sum_hessian_keeps_zero(tmp_path):
    """--grad-bits 4 on gen's 200k x 32 (seed 42): a split passes
    --min-sum-hessian on the quantized sums while a child's exact Hessian is 0
    (saturated rows); its refitted value -G/(H + l2) was infinite and train
    died with "predictions are NaN". Such a leaf now keeps 0: every leaf value
    is finite (fails before the fix)."""
    import h5py
    import numpy as np
    d = gen(str(tmp_path / "d.h5"), rows=200000, features=32, seed=42)
    m = str(tmp_path / "m.h5")
    run(1, "train", "--model-type", "gbdt", "--trees", "100", "--early-stopping", "0", "--grad-bits", "4",
        "--quiet", "--data", d, "--model", m, env=ENV)
    with h5py.File(m) as h:
        for head in h["trees"]:
            v = h["trees"][head]["leaf_value"][...]
            assert np.isfinite(v).all() and (v == 0).any(), head
