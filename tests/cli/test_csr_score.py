"""score, eval, offers and export on CSR inputs (issue 30): `score` reads a
CSR file's blocks sparse (8 bytes a stored value and 8 a row, io/csr.h)
and scores gbdt models (trees walked on the stored values), logreg models
of --standardize scale (sparse dot products) and the others
(test_csr_score_models.py) without making rows dense; blocks too dense to
pack are made dense a block at a time. Every path writes the dense file's scores byte for
byte, P = 1 and 3; eval, offers and export then give the dense run's
outputs. --nonfinite reject names the same row and column."""
import json

import h5py
import numpy as np
import pytest
import scipy.sparse as sp

from pstest import error_line, run
from test_csr import write_csr
from test_csr_gbdt import tricky_matrix

ENV = {"SOURCE_DATE_EPOCH": "1700000000"}


def write_dense(path, X, ids, names, labels):
    with h5py.File(path, "w") as g:
        g.attrs["schema_version"] = 1
        g.attrs["kind"] = "features"
        g["/features"] = X
        g["/customer_id"] = ids
        g["/feature_names"] = names
        for t, y in labels.items():
            g[f"/labels/{t}"] = y
    return path


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The tricky matrix (NaN and zeros stored), its first 300 rows made
    fully stored (blocks too dense to pack go through dense)."""
    d = tmp_path_factory.mktemp("csr_score")
    X, M, labels = tricky_matrix(n=3000, f=24)
    M = M.tolil()
    for i in range(300):
        for j in range(X.shape[1]):
            M[i, j] = 1.0  # the pattern; the values set below
    M = M.tocsr()
    M.sort_indices()
    rows = np.repeat(np.arange(X.shape[0]), np.diff(M.indptr))
    M.data = X[rows, M.indices]  # the stored pattern's values: zeros and NaN stored too
    assert M.nnz > 300 * X.shape[1] and (M.data == 0).sum() > 300
    ids = np.arange(10, 10 + X.shape[0], dtype=np.int64) * 7
    names = [f"f{j}".encode() for j in range(X.shape[1])]
    dense = write_dense(str(d / "dense.h5"), X, ids, names, labels)
    csr = write_csr(str(d / "csr.h5"), M, ids, names, labels)
    return dense, csr


@pytest.fixture(scope="module")
def models(pair, tmp_path_factory):
    d = tmp_path_factory.mktemp("csr_score_models")
    dense, _ = pair
    out = {}
    for name, args in (("gbdt", ("--model-type", "gbdt", "--trees", "12")),
                       ("scale", ("--standardize", "scale")), ("full", ())):
        out[name] = str(d / f"{name}.h5")
        run(2, "train", "--data", dense, "--model", out[name], "--quiet", *args, env=ENV)
    return out


def scores(path):
    with h5py.File(path) as f:
        return {k: f[k][:].tobytes() for k in ("/customer_id", "/scores/buy", "/scores/churn")}


@pytest.mark.parametrize("kind", ["gbdt", "scale", "full"])
def test_score_csr_same_as_dense(pair, models, tmp_path, kind):
    dense, csr = pair
    ref = str(tmp_path / "dense.h5")
    run(1, "score", "--data", dense, "--model", models[kind], "--out", ref, "--quiet", env=ENV)
    for p, br in ((1, 128), (3, 100), (3, 4096)):
        s = str(tmp_path / f"csr_{p}_{br}.h5")
        run(p, "score", "--data", csr, "--model", models[kind], "--out", s, "--block-rows", br, "--quiet", env=ENV)
        assert scores(s) == scores(ref), (p, br)


def test_score_csr_explain_same_as_dense(pair, models, tmp_path):
    dense, csr = pair
    out = []
    for data in pair:
        s = str(tmp_path / (data.split("/")[-1] + ".s.h5"))
        run(2, "score", "--data", data, "--model", models["gbdt"], "--out", s, "--explain", 3, "--quiet", env=ENV)
        with h5py.File(s) as f:
            out.append({k: f[k][:].tobytes() for k in ("/scores/buy", "/explain/buy/feature", "/explain/buy/value")})
    assert out[0] == out[1]


@pytest.mark.parametrize("kind", ["gbdt", "scale"])
def test_score_csr_nonfinite_reject_as_dense(pair, models, tmp_path, kind):
    lines = []
    for data in pair:
        p = run(3, "score", "--data", data, "--model", models[kind], "--out", tmp_path / "s.h5", "--nonfinite",
                "reject", "--block-rows", 256, check=False)
        assert p.returncode == 1
        lines.append(error_line(p).replace(data, "FILE"))
        assert not (tmp_path / "s.h5").exists()
    assert lines[0].replace("/features ", "/features_csr/data ") == lines[1]


def test_eval_offers_export_on_csr(pair, models, tmp_path):
    """The scores of the CSR file, eval and offers with --data CSR, export: the dense run's outputs."""
    outs = []
    key = tmp_path / "key"
    key.write_text("ab" * 16)
    for data in pair:
        t = data.split("/")[-1]
        s, o, e = (str(tmp_path / f"{t}.{x}") for x in ("s.h5", "o.h5", "e.csv"))
        run(3, "score", "--data", data, "--model", models["gbdt"], "--out", s, "--quiet", env=ENV)
        ev = json.loads(run(3, "eval", "--data", data, "--scores", s, "--json").stdout)
        run(3, "offers", "--scores", s, "--data", data, "--eligible", "churn=buy", "--out", o, "--quiet", env=ENV)
        run(3, "export", "--scores", s, "--by", "churn", "--top", 50, "--id-key-file", key, "--out", e, "--quiet")
        with h5py.File(o) as f:
            offers = {k: f[k][()].tobytes() for k in f if isinstance(f[k], h5py.Dataset)}
        outs.append((scores(s), json.dumps(ev["targets"], sort_keys=True), offers, open(e, "rb").read()))
    assert outs[0] == outs[1]
