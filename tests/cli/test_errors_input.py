"""Bad input to gen/inspect: one line naming file and dataset, non-zero exit,
no output file left behind, inputs untouched."""
import os

import h5py
import numpy as np
import pytest

from pstest import digest, error_line, gen, leftovers, run


def make(path, **datasets):
    with h5py.File(path, "w") as h:
        for k, v in datasets.items():
            h[k] = v
    return str(path)


def good(n=10, f=3):
    return dict(features=np.ones((n, f), np.float32), customer_id=np.arange(n, dtype=np.int64),
                feature_names=np.array([b"a", b"b", b"c"][:f]))


@pytest.mark.parametrize("p", [1, 2])
def test_missing_file(tmp_path, p):
    r = run(p, "inspect", tmp_path / "nope.h5", check=False)
    assert r.returncode == 1
    assert error_line(r) == f"propscore: error: {tmp_path / 'nope.h5'}: no such file"


def test_not_hdf5(tmp_path):
    f = tmp_path / "x.h5"
    f.write_text("customer_id,a\n1,2\n")
    r = run(2, "inspect", f, check=False)
    assert r.returncode == 1 and "not an HDF5 file" in error_line(r)


@pytest.mark.parametrize("drop", ["features", "customer_id", "feature_names"])
def test_missing_dataset(tmp_path, drop):
    d = good()
    del d[drop]
    path = make(tmp_path / "m.h5", **d)
    before = digest(path)
    r = run(2, "inspect", path, check=False)
    assert r.returncode == 1
    assert error_line(r) == f"propscore: error: {path}: dataset /{drop} not found"
    assert digest(path) == before


def test_wrong_dtype(tmp_path):
    d = good()
    d["features"] = np.ones((10, 3), np.int32)
    path = make(tmp_path / "t.h5", **d)
    r = run(1, "inspect", path, check=False)
    assert error_line(r) == f"propscore: error: {path}: dataset /features has type int32, expected float32"


def test_wrong_rank(tmp_path):
    d = good()
    d["features"] = np.ones(10, np.float32)
    path = make(tmp_path / "r.h5", **d)
    r = run(1, "inspect", path, check=False)
    assert error_line(r) == f"propscore: error: {path}: dataset /features has 1 dimension, expected 2"


def test_length_mismatch(tmp_path):
    d = good()
    d["customer_id"] = np.arange(9, dtype=np.int64)
    path = make(tmp_path / "l.h5", **d)
    r = run(3, "inspect", path, check=False)
    assert r.returncode == 1
    assert error_line(r) == f"propscore: error: {path}: /customer_id has 9 rows but /features has 10"


def test_names_mismatch(tmp_path):
    d = good()
    d["feature_names"] = np.array([b"a", b"b"])
    path = make(tmp_path / "n.h5", **d)
    r = run(1, "inspect", path, check=False)
    assert "/feature_names has 2 names but /features has 3 columns" in error_line(r)


def test_nonfinite_counted(tmp_path):
    d = good()
    d["features"][2, 1] = np.nan
    d["features"][4, 2] = np.inf
    path = make(tmp_path / "nf.h5", **d)
    out = run(2, "inspect", path).stdout
    assert "non-finite: 1 NaN, 1 Inf in 2 columns" in out


def test_rows_less_than_ranks(tmp_path):
    out = tmp_path / "g.h5"
    r = run(3, "gen", "--out", out, "--rows", 2, "--features", 4, check=False)
    assert r.returncode == 2
    assert "--rows 2 is less than the number of ranks (3)" in error_line(r)
    assert not out.exists() and not leftovers(tmp_path)


def test_unwritable_output(tmp_path):
    out = tmp_path / "no_such_dir" / "g.h5"
    r = run(2, "gen", "--out", out, "--rows", 100, "--features", 4, check=False)
    assert r.returncode == 1 and "cannot write output" in error_line(r)
    assert not leftovers(tmp_path)


@pytest.mark.parametrize("args,msg", [
    (["gen", "--rows", "10"], "--out is required"),
    (["gen", "--out", "x.h5", "--rows", "ten"], "--rows: 'ten' is not an integer"),
    (["gen", "--out", "x.h5", "--features", "0"], "--features: 0 is out of range"),
    (["frobnicate"], "unknown command 'frobnicate'"),
])
def test_usage_errors(tmp_path, args, msg):
    r = run(1, *args, check=False)
    assert r.returncode == 2 and msg in error_line(r)


def test_existing_output_kept_on_failure(tmp_path):
    """A failed gen never damages what was there before."""
    out = str(tmp_path / "keep.h5")
    gen(out, rows=100, features=4)
    before = digest(out)
    r = run(1, "gen", "--out", out, "--rows", "100", "--features", "4", "--targets", "a:2", check=False)
    assert r.returncode == 2
    assert digest(out) == before and not leftovers(tmp_path)
