"""Streamed CSR training (host/models/logreg/trainset_csr_stream.c): CSR
rows over --host-mem-limit stream from the file every pass through the block
pipeline, and the model is byte-identical to the resident CSR fit's (and so
to the dense file's), P = 1, 2, 3, L-BFGS and Newton; the manifest says
"streamed"; a stored NaN with --nonfinite reject is one line naming the row;
resident rows whose column-sorted copy (train_csr.c) would pass --host-mem-limit
are summed row-wise instead, with one log line, the same model."""
import json

import h5py
import pytest

from pstest import error_line, run

ENV = {"SOURCE_DATE_EPOCH": "1700000000"}


def gen_csr(path, rows, features, density):
    run(2, "gen", "--out", path, "--rows", rows, "--features", features, "--density", density, "--targets",
        "a:0.2,b:0.1", "--quiet")
    return path


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    return gen_csr(str(tmp_path_factory.mktemp("csrstream") / "w.h5"), 6000, 200, 0.05)


@pytest.fixture(scope="module")
def narrow(tmp_path_factory):
    return gen_csr(str(tmp_path_factory.mktemp("csrstream") / "n.h5"), 12000, 20, 0.25)


def weights(path):
    with h5py.File(path) as m:
        return {k: m[k][...].tobytes() for k in ("weights", "bias", "standardize/mean", "standardize/scale")}


@pytest.mark.parametrize("p,solver,which", [(1, "lbfgs", "wide"), (2, "lbfgs", "wide"), (3, "lbfgs", "wide"),
                                            (2, "newton", "narrow")])
def test_streamed_equals_resident(wide, narrow, tmp_path, p, solver, which):
    data = wide if which == "wide" else narrow
    res, st = str(tmp_path / "res.h5"), str(tmp_path / "st.h5")
    args = ["train", "--data", data, "--standardize", "scale", "--solver", solver, "--device", "cpu"]
    r = run(p, *args, "--model", res, env=ENV)
    assert "CSR rows resident" in r.stderr
    r = run(p, *args, "--model", st, "--host-mem-limit", "100K", env=ENV)
    assert "streaming CSR rows" in r.stderr
    assert weights(res) == weights(st)
    with h5py.File(res) as a, h5py.File(st) as b:  # the metrics of both splits too
        assert dict(a.attrs).get("metrics") == dict(b.attrs).get("metrics")
    assert json.load(open(st + ".manifest.json"))["parameters"]["rows"] == "streamed"


@pytest.mark.parametrize("p", [1, 3])
def test_column_copy_within_host_mem_limit(wide, tmp_path, p):
    res, lim = str(tmp_path / "res.h5"), str(tmp_path / "lim.h5")
    args = ["train", "--data", wide, "--standardize", "scale", "--device", "cpu"]
    r = run(p, *args, "--model", res, env=ENV)
    assert "column-sorted copy" not in r.stderr
    r = run(p, *args, "--model", lim, "--host-mem-limit", "1M" if p == 1 else "400K", env=ENV)
    assert "CSR rows resident" in r.stderr and "streaming CSR rows" not in r.stderr
    assert "column-sorted copy" in r.stderr and "row-wise sums (the same model, slower)" in r.stderr
    assert weights(res) == weights(lim)


def test_streamed_nonfinite_reject(tmp_path):
    import numpy as np
    src = gen_csr(str(tmp_path / "g.h5"), 16000, 100, 0.05)
    with h5py.File(src, "a") as f:
        ptr = f["features_csr/indptr"][...]
        v = f["features_csr/data"][...]
        v[ptr[15000] + 1] = np.nan
        f["features_csr/data"][...] = v
        col = int(f["features_csr/indices"][ptr[15000] + 1])
    r = run(2, "train", "--data", src, "--model", tmp_path / "m.h5", "--standardize", "scale", "--nonfinite",
            "reject", "--host-mem-limit", "100K", check=False, env=ENV)
    assert r.returncode != 0
    assert f"/features_csr/data row 15000 column {col} (item_{col}) is NaN (--nonfinite reject)" in error_line(r)
    assert not (tmp_path / "m.h5").exists()
