"""CSR statistics without densifying (host/stats/colstats_csr.c): train
--standardize scale on a CSR file takes its column statistics from the stored
values alone, and the model is still byte-identical to the dense file's with
the same option, P = 1 and 3: stored NaN and Inf, explicit stored zeros (0.0
and -0.0: the leaf then goes dense), negative values, empty and full rows,
columns stored in no row and in every row, rows over several grid blocks."""
import h5py
import numpy as np
import pytest
import scipy.sparse as sp

from pstest import run

ENV = {"SOURCE_DATE_EPOCH": "1700000000"}


def write(path, X, M=None):
    """X as a dense file, or (M given) as a CSR file of M's stored values."""
    n = X.shape[0]
    rng = np.random.default_rng(5)
    with h5py.File(path, "w") as g:
        g.attrs["schema_version"] = 1
        g.attrs["kind"] = "features"
        if M is None:
            g["/features"] = X
        else:
            g["/features_csr/indptr"] = M.indptr.astype(np.int64)
            g["/features_csr/indices"] = M.indices.astype(np.int32)
            g["/features_csr/data"] = M.data.astype(np.float32)
        g["/customer_id"] = np.arange(1, n + 1, dtype=np.int64) * 7919
        g["/feature_names"] = [f"c{j}".encode() for j in range(X.shape[1])]
        z = X[:, 1].astype(np.float64) * 0.8 - np.nan_to_num(X[:, 4], posinf=0, neginf=0) * 0.5
        g["/labels/buy"] = (rng.random(n) < 1 / (1 + np.exp(-np.nan_to_num(z) + 1.0))).astype(np.uint8)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("csrstats")
    rng = np.random.default_rng(11)
    n, f = 1700, 9
    X = (rng.standard_normal((n, f)) * 3).astype(np.float32)
    X[rng.random((n, f)) < 0.7] = 0
    X[:, 0] = 0                      # stored in no row
    X[:, 8] = rng.random(n) + 1      # stored in every row
    X[5] = 0                         # an empty row
    X[6] = rng.random(f) + 2         # a full row
    X[100, 3], X[900, 3] = np.nan, np.inf
    M = sp.csr_matrix(X)
    # the same matrix with explicit stored zeros (0.0 in row 300, -0.0 in row 1200: other grid blocks
    # than the NaN/Inf rows), built from its arrays so that scipy keeps them
    ptr, idx, val = [0], [], []
    for i in range(n):
        cols = list(np.flatnonzero(X[i] != 0)) + list(np.flatnonzero(np.isnan(X[i])))
        extra = {300: (2, 0.0), 1200: (0, -0.0)}.get(i)
        if extra and extra[0] not in cols:
            cols.append(extra[0])
        for j in sorted(set(cols)):
            idx.append(j)
            val.append(extra[1] if extra and j == extra[0] else X[i, j])
        ptr.append(len(idx))
    Z = sp.csr_matrix((np.array(val, np.float32), np.array(idx, np.int32), np.array(ptr, np.int64)), shape=(n, f))
    Y = X
    dense = write(str(d / "dense.h5"), X)
    csr = write(str(d / "csr.h5"), X, M)
    zeros = write(str(d / "zeros.h5"), Y, Z)
    assert (Z.data == 0).sum() == 2 and np.signbit(Z.data[Z.data == 0]).sum() == 1
    return dense, csr, zeros


def model_bytes(path):
    with h5py.File(path) as m:
        return {k: m[k][...].tobytes() for k in ("weights", "bias", "standardize/mean", "standardize/scale")}


@pytest.mark.parametrize("p", [1, 3])
def test_stats_from_stored_values_same_model(files, tmp_path, p):
    dense, csr, zeros = files
    out = {}
    for name, data in (("dense", dense), ("csr", csr), ("zeros", zeros)):
        m = str(tmp_path / f"{name}.h5")
        r = run(p, "train", "--data", data, "--model", m, "--standardize", "scale", "--device", "cpu", env=ENV)
        assert ("CSR rows resident" in r.stderr + r.stdout) == (name != "dense")
        out[name] = model_bytes(m)
    assert out["csr"] == out["dense"]
    assert out["zeros"] == out["dense"]


def test_scale_is_the_columns_std(files, tmp_path):
    dense, csr, _ = files
    m = str(tmp_path / "m.h5")
    run(2, "train", "--data", csr, "--model", m, "--standardize", "scale", "--device", "cpu", "--quiet", env=ENV)
    with h5py.File(m) as f:
        scale = f["standardize/scale"][...]
    assert np.all(np.isfinite(scale)) and scale[8] > 1
