"""Trees over CSR files (issue 30): a CSR file's rows are binned sparse
(only the values off their feature's zero bin kept, host/models/gbdt/rows_csr.c)
and the histograms summed from them with each zero bin by subtraction; the
model must be byte-identical to the dense file's, for P = 1 and 3, exact and
quantized gradients, bagging and feature fraction, and the scores too."""
import h5py
import numpy as np
import pytest
import scipy.sparse as sp

from pstest import error_line, run
from test_csr import model_view, write_csr

ENV = {"SOURCE_DATE_EPOCH": "1700000000"}


def tricky_matrix(n=4000, f=40, seed=3):
    """Sparse columns of every kind: signed continuous values, integers,
    explicit stored zeros, tiny values that share the zero's bin, NaN, a
    column never stored, a column stored in every row, a binary flag."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, f), np.float32)
    on = rng.random((n, f)) < 0.08
    X[on] = rng.normal(0.5, 2.0, on.sum()).astype(np.float32)
    X[:, 1] = np.where(rng.random(n) < 0.1, rng.integers(1, 6, n), 0)  # a few integers
    X[:, 2] = np.where(rng.random(n) < 0.05, 1, 0)                     # a flag
    X[:, 3] = 0                                                        # never stored
    X[:, 4] = rng.normal(0, 1, n)                                      # stored in every row
    X[:, 5] = np.where(rng.random(n) < 0.2, rng.normal(0, 1e-7, n), 0)  # tiny: the zero's bin
    X[rng.random((n, f)) < 0.003] = np.nan
    z = 1.2 * np.nan_to_num(X[:, 0]) - 0.8 * X[:, 1] + 2.0 * X[:, 2] + np.nan_to_num(X[:, 4]) + np.nan_to_num(X[:, 7])
    labels = {"buy": (rng.random(n) < 1 / (1 + np.exp(-(z - 1.0)))).astype(np.uint8),
              "churn": (rng.random(n) < 1 / (1 + np.exp(-(0.5 * X[:, 1] - 1.5)))).astype(np.uint8)}
    M = sp.csr_matrix(np.nan_to_num(X, nan=7.0))  # the pattern of the values (NaN stored)
    stored0 = rng.random(n) < 0.05  # explicit zeros stored in column 6
    M = M.tolil()
    for i in np.flatnonzero(stored0):
        M[i, 6] = 1.0
    M = M.tocsr()
    M.sort_indices()
    rows, cols = M.nonzero()
    M.data = X[rows, cols]  # column 6's entries of stored0 rows are stored 0
    return X, M, labels


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("csr_gbdt")
    X, M, labels = tricky_matrix()
    assert (M.data == 0).sum() > 50 and np.isnan(M.data).sum() > 50
    ids = np.arange(10, 10 + X.shape[0], dtype=np.int64) * 7
    names = [f"f{j}".encode() for j in range(X.shape[1])]
    dense = str(d / "dense.h5")
    with h5py.File(dense, "w") as g:
        g.attrs["schema_version"] = 1
        g.attrs["kind"] = "features"
        g["/features"] = X
        g["/customer_id"] = ids
        g["/feature_names"] = names
        for t, y in labels.items():
            g[f"/labels/{t}"] = y
    csr = write_csr(str(d / "csr.h5"), M, ids, names, labels)
    return dense, csr


VARIANTS = {
    "exact": ("--grad-bits", "exact"),
    "bits8": ("--grad-bits", "8"),
    "bag_ff": ("--grad-bits", "exact", "--bagging-fraction", "0.7", "--bagging-freq", "2",
               "--feature-fraction", "0.6"),
    "bits8_bag_ff_bins": ("--grad-bits", "8", "--bagging-fraction", "0.8", "--feature-fraction", "0.5",
                          "--max-bin", "15", "--bin-sample", "1500", "--bundle", "off"),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_same_gbdt_model_dense_and_csr(pair, tmp_path, variant):
    """Byte-identical models (the input's path aside), P = 1 and 3."""
    dense, csr = pair
    views = {}
    for p in (1, 3):
        for name, data in (("dense", dense), ("csr", csr)):
            m = str(tmp_path / f"{name}_{p}.h5")
            r = run(p, "train", "--data", data, "--model", m, "--model-type", "gbdt", "--trees", "6",
                    "--num-leaves", "15", "--min-data-in-leaf", "10", *VARIANTS[variant], env=ENV)
            assert ("CSR rows binned sparse" in r.stdout + r.stderr) == (name == "csr")
            views[(name, p)] = model_view(m)
    first = views[("dense", 1)]
    assert all(v == first for v in views.values())


def test_same_gbdt_scores_dense_and_csr(pair, tmp_path):
    """A CSR-trained model scores the dense file as the dense-trained one does."""
    dense, csr = pair
    out = {}
    for name, data in (("dense", dense), ("csr", csr)):
        m = str(tmp_path / f"m_{name}.h5")
        run(3, "train", "--data", data, "--model", m, "--model-type", "gbdt", "--trees", "8", "--quiet", env=ENV)
        s = str(tmp_path / f"s_{name}.h5")
        run(1, "score", "--data", data, "--model", m, "--out", s, "--quiet", env=ENV)
        with h5py.File(s) as f:
            out[name] = (f["/customer_id"][:].tobytes(), f["/scores/buy"][:].tobytes(), f["/scores/churn"][:].tobytes())
    assert out["dense"] == out["csr"]


@pytest.mark.parametrize("np_", [1, 3])
def test_gbdt_csr_nonfinite_reject_as_dense(pair, tmp_path, np_):
    """--nonfinite reject: the CSR file names the first NaN's row and column as the dense file does."""
    lines = []
    for data in pair:
        p = run(np_, "train", "--data", data, "--model", tmp_path / "m.h5", "--model-type", "gbdt", "--nonfinite",
                "reject", check=False)
        assert p.returncode == 1
        lines.append(error_line(p).replace(data, "FILE"))
        assert not (tmp_path / "m.h5").exists()
    assert "is NaN (--nonfinite reject)" in lines[1]
    assert lines[0].replace("/features ", "/features_csr/data ") == lines[1]


def test_auto_same_model_dense_and_csr(pair, tmp_path):
    """--model-type auto (cross-validated logreg and gbdt, out-of-fold scores read
    again from --data) on the CSR copy: the dense file's model. (Its out-of-fold
    pass read /features alone and died on CSR files before.)"""
    views = []
    for data in pair:
        m = str(tmp_path / (data.split("/")[-1] + ".model.h5"))
        run(3, "train", "--data", data, "--model", m, "--model-type", "auto", "--trees", "4", "--cv-folds", "2",
            "--quiet", env=ENV)
        views.append(model_view(m))
    assert views[0] == views[1]


def test_gbdt_csr_device_cuda_without_a_gpu_one_line(pair, tmp_path):
    """A build or machine without CUDA: --device cuda on a CSR GBDT fit ends in
    one line, no model written (with a GPU it trains the CPU's model:
    tests/gpu/test_csr_gbdt_gpu.py)."""
    version = run(1, "--version").stdout
    if "cuda" in version and "no CUDA device" not in version:
        pytest.skip("a GPU is visible: tests/gpu/test_csr_gbdt_gpu.py trains on it")
    _, csr = pair
    p = run(1, "train", "--data", csr, "--model", tmp_path / "m.h5", "--model-type", "gbdt", "--device", "cuda",
            check=False)
    assert p.returncode != 0
    line = error_line(p)
    assert "built without CUDA" in line or "no CUDA" in line.lower()
    assert not (tmp_path / "m.h5").exists()
