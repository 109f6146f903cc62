"""score on CSR files from the stored values for the models that were made
dense a block at a time before (issue 30): centred logreg (with and without
missing indicators; score_csr_cpu.c), blends (each part's logits_csr),
uplift (each part's predict_csr) and --explain (logreg: explain_csr.c; gbdt:
TreeSHAP on tiles). Every one writes the dense file's score file byte for
byte, P = 1 and 3, and the log says the rows were scored from the stored
values (before, they were made dense: the log line fails; on a CUDA build
logreg scores on the device, the blocks made dense there). The matrix is
gen --density's with stored zeros, -0.0 and NaN added."""
import h5py
import numpy as np
import pytest
import scipy.sparse as sp

from pstest import run
from test_csr import write_csr
from test_csr_score import write_dense

ENV = {"SOURCE_DATE_EPOCH": "1700000000"}
SPARSE_LOG = "CSR rows scored from the stored values"
# a CUDA build's --device auto: logreg scores on the device, the blocks made
# dense there (the dense run's kernel, so its bytes); never on a CPU build
DEVICE_LOG = "CSR rows made dense a block at a time (scored on the device)"


def tricky(M, rng):
    """Some stored values made 0.0, -0.0 and NaN (they stay stored)."""
    M = M.copy()
    u = rng.random(M.nnz)
    M.data[u < 0.03] = 0.0
    M.data[(u >= 0.03) & (u < 0.05)] = -0.0
    M.data[(u >= 0.05) & (u < 0.07)] = np.nan
    return M


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("csr_models")
    g = str(d / "gen.h5")
    run(2, "gen", "--out", g, "--rows", 2400, "--features", 90, "--density", 0.05, "--targets", "buy:0.2,churn:0.1",
        "--quiet")
    with h5py.File(g) as f:
        n, nf = f["/customer_id"].shape[0], f["/feature_names"].shape[0]
        M = sp.csr_matrix((f["/features_csr/data"][:], f["/features_csr/indices"][:], f["/features_csr/indptr"][:]),
                          shape=(n, nf))
        ids, names = f["/customer_id"][:], f["/feature_names"][:]
        labels = {t: f[f"/labels/{t}"][:] for t in ("buy", "churn")}
    rng = np.random.default_rng(5)
    M = tricky(M, rng)
    labels["treated"] = (rng.random(n) < 0.5).astype(np.int8)
    X = np.zeros((n, nf), dtype=np.float32)
    rows = np.repeat(np.arange(n), np.diff(M.indptr))
    X[rows, M.indices] = M.data
    return write_dense(str(d / "dense.h5"), X, ids, names, labels), write_csr(str(d / "csr.h5"), M, ids, names, labels)


def blend(lr, gb, out, weights):
    """A blend file (as train --model-type auto writes one): the logreg file, the gbdt file's trees, the weights."""
    with h5py.File(out, "w") as o, h5py.File(lr) as a, h5py.File(gb) as b:
        for k in a:
            a.copy(a[k], o, k)
        for k, v in a.attrs.items():
            o.attrs[k] = v
        for k in ("bins", "trees", "importance"):
            b.copy(b[k], o, k)
        o.attrs["model_type"] = "blend"
        o["/blend/logreg_weight"] = np.asarray(weights, dtype=np.float64)
    return out


@pytest.fixture(scope="module")
def models(pair, tmp_path_factory):
    d = tmp_path_factory.mktemp("csr_models_m")
    dense = pair[0]
    out = {}
    for name, args in (("center", ()), ("center_mi", ("--missing-indicators",)), ("scale", ("--standardize", "scale")),
                       ("gbdt", ("--model-type", "gbdt", "--trees", "8")),
                       ("uplift_lr", ("--uplift", "--treatment", "treated")),
                       ("uplift_gb", ("--uplift", "--treatment", "treated", "--model-type", "gbdt", "--trees", "6"))):
        out[name] = str(d / f"{name}.h5")
        targets = ("--targets", "buy,churn")
        run(2, "train", "--data", dense, "--model", out[name], "--quiet", *targets, *args, env=ENV)
    out["blend"] = blend(out["center_mi"], out["gbdt"], str(d / "blend.h5"), [0.25, 0.625])
    return out


def contents(path):
    with h5py.File(path) as f:
        got = {}
        f.visititems(lambda k, v: got.__setitem__(k, v[()].tobytes()) if isinstance(v, h5py.Dataset) else None)
        return got


def score(p, data, model, out, *extra):
    r = run(p, "score", "--data", data, "--model", model, "--out", out, *extra, env=ENV)
    return r.stderr


@pytest.mark.parametrize("kind", ["center", "center_mi", "blend", "uplift_lr", "uplift_gb"])
def test_score_csr_same_bytes_as_dense(pair, models, tmp_path, kind):
    dense, csr = pair
    ref = str(tmp_path / "dense.h5")
    score(1, dense, models[kind], ref, "--quiet")
    want = contents(ref)
    assert "scores/buy" in want and ("uplift/churn" in want) == kind.startswith("uplift")
    for p, br in ((1, 512), (3, 100)):
        s = str(tmp_path / f"csr_{p}.h5")
        log = score(p, csr, models[kind], s, "--block-rows", br)
        assert SPARSE_LOG in log or DEVICE_LOG in log, log
        assert contents(s) == want, (p, br)


@pytest.mark.parametrize("kind", ["center", "center_mi", "scale", "gbdt"])
def test_explain_csr_same_bytes_as_dense(pair, models, tmp_path, kind):
    """--explain 5 (logreg: the zeros' contributions merged with the stored ones; gbdt: TreeSHAP of tiles)."""
    dense, csr = pair
    ref = str(tmp_path / "dense.h5")
    score(1, dense, models[kind], ref, "--explain", 5, "--quiet")
    want = contents(ref)
    assert "explain/buy/feature" in want and "explain/churn/value" in want
    for p, br in ((1, 512), (3, 100)):
        s = str(tmp_path / f"csr_{p}.h5")
        log = score(p, csr, models[kind], s, "--block-rows", br, "--explain", 5)
        assert SPARSE_LOG in log or DEVICE_LOG in log, log
        assert contents(s) == want, (p, br)


def test_explain_csr_nan_contribution_as_dense(pair, models, tmp_path):
    """A zero weight times a value whose standardization overflows float32 (inf)
    is a NaN contribution: no order, so explain_csr.c ranks that row as
    explain_top does on the dense row; the scores (NaN) too."""
    dense, _ = pair
    model = str(tmp_path / "m.h5")
    with h5py.File(models["center"]) as a, h5py.File(model, "w") as o:
        for k in a:
            a.copy(a[k], o, k)
        for k, v in a.attrs.items():
            o.attrs[k] = v
        j = int(np.argmax(o["standardize/scale"][:5]))  # a low feature: its NaN gets into explain_top's list
        assert o["standardize/scale"][j] > 1.0  # 3e38 standardizes past float32's range
        w = o["weights"][:]
        w[j, 0] = 0.0
        o["weights"][...] = w
    with h5py.File(dense) as f:
        X, ids, names = f["/features"][:], f["/customer_id"][:], f["/feature_names"][:]
    X[::97, j] = 3e38
    data = (write_dense(str(tmp_path / "d.h5"), X, ids, names, {}),
            write_csr(str(tmp_path / "c.h5"), sp.csr_matrix(X), ids, names, {}))
    got = []
    for p, d in ((1, data[0]), (1, data[1]), (3, data[1])):
        s = str(tmp_path / f"s{len(got)}.h5")
        score(p, d, model, s, "--explain", 6, "--quiet")
        got.append(contents(s))
    with h5py.File(str(tmp_path / "s0.h5")) as f:
        assert np.isnan(f["/scores/buy"][::97]).all() and np.isnan(f["/explain/buy/value"][()]).any()
    assert got[1] == got[0] and got[2] == got[0]
