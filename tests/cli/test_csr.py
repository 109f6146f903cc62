"""CSR feature files (/features_csr, datasets/SCHEMA.md): the same matrix
as CSR and as dense gives the same model and scores, for any rank count;
each malformed CSR file ends in one line naming the file, dataset and row;
inspect says which layout it read."""
import json
import os

import h5py
import numpy as np
import pytest
import scipy.sparse as sp

from pstest import digest, error_line, gen, run

ENV = {"SOURCE_DATE_EPOCH": "1700000000"}


def write_csr(path, M, ids, names, labels):
    """A CSR feature file by hand (h5py): the schema's datasets, nothing more."""
    with h5py.File(path, "w") as g:
        g.attrs["schema_version"] = 1
        g.attrs["kind"] = "features"
        g["/features_csr/indptr"] = np.asarray(M.indptr, dtype=np.int64)
        g["/features_csr/indices"] = np.asarray(M.indices, dtype=np.int32)
        g["/features_csr/data"] = np.asarray(M.data, dtype=np.float32)
        g["/customer_id"] = ids
        g["/feature_names"] = names
        for t, y in labels.items():
            g[f"/labels/{t}"] = y
    return path


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """One matrix twice: dense (gen's rows with 85% of values zeroed) and CSR."""
    d = tmp_path_factory.mktemp("csr")
    src = gen(str(d / "g.h5"), rows=3001, features=12, targets="buy,churn")
    with h5py.File(src) as f:
        X = f["/features"][:]
        ids, names = f["/customer_id"][:], f["/feature_names"][:]
        labels = {t: f[f"/labels/{t}"][:] for t in ("buy", "churn")}
    X[np.random.default_rng(1).random(X.shape) < 0.85] = 0
    dense = str(d / "dense.h5")
    with h5py.File(dense, "w") as g:
        g.attrs["schema_version"] = 1
        g.attrs["kind"] = "features"
        g["/features"] = X
        g["/customer_id"] = ids
        g["/feature_names"] = names
        for t, y in labels.items():
            g[f"/labels/{t}"] = y
    csr = write_csr(str(d / "csr.h5"), sp.csr_matrix(X), ids, names, labels)
    return dense, csr, X


def model_view(path):
    """Every dataset and attribute of a model file but the input's path and size (@input_*)."""
    out = {}
    with h5py.File(path) as f:
        def visit(name, obj):
            for k, v in obj.attrs.items():
                out[f"{name}@{k}"] = np.asarray(v).tobytes()
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()].tobytes() if obj.dtype.kind != "O" else repr(obj[()])
        for k, v in f.attrs.items():
            out[f"@{k}"] = np.asarray(v).tobytes()
        f.visititems(visit)
    return {k: v for k, v in out.items() if not k.startswith("@input_")}


@pytest.mark.parametrize("kind", ["logreg", "gbdt"])
def test_same_model_dense_and_csr(pair, tmp_path, kind):
    """Byte-identical models (paths aside) from the dense and CSR copies, P = 1 and 3."""
    dense, csr, _ = pair
    views = []
    for p in (1, 3):
        for name, data in (("dense", dense), ("csr", csr)):
            m = str(tmp_path / f"{kind}_{name}_{p}.h5")
            extra = ("--trees", "5") if kind == "gbdt" else ()
            run(p, "train", "--data", data, "--model", m, "--model-type", kind, "--quiet", *extra, env=ENV)
            views.append(model_view(m))
    assert all(v == views[0] for v in views[1:])


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_scale_only_csr_kernel_same_model(pair, tmp_path, solver):
    """--standardize scale: the CSR file trains on its stored values alone
    (kernels/logreg/grad_csr_cpu.c), and the model is byte-identical to the
    dense file's with the same option, P = 1 and 3."""
    dense, csr, _ = pair
    views = []
    for p in (1, 3):
        for name, data in (("dense", dense), ("csr", csr)):
            m = str(tmp_path / f"{name}_{p}.h5")
            r = run(p, "train", "--data", data, "--model", m, "--standardize", "scale", "--solver", solver, env=ENV)
            assert ("CSR rows resident" in r.stderr + r.stdout) == (name == "csr")
            views.append(model_view(m))
    assert all(v == views[0] for v in views[1:])
    assert views[0]["standardize/mean"] == np.zeros(12).tobytes()


def test_scale_only_csr_kernel_wide(tmp_path):
    """The same on gen --density rows: 300 columns (L-BFGS), two heads, P = 2."""
    csr, dense = str(tmp_path / "g.h5"), str(tmp_path / "d.h5")
    run(2, "gen", "--out", csr, "--rows", 9000, "--features", 300, "--density", 0.02, "--targets", "a:0.2,b:0.1",
        "--quiet")
    M, names, ids, labels = read_csr(csr)
    with h5py.File(dense, "w") as g:
        g["/features"] = M.toarray()
        g["/customer_id"] = ids
        g["/feature_names"] = [n.encode() for n in names]
        for t, y in labels.items():
            g[f"/labels/{t}"] = y
    views = []
    for data in (dense, csr):
        m = data + ".model.h5"
        run(2, "train", "--data", data, "--model", m, "--standardize", "scale", "--quiet", env=ENV)
        views.append(model_view(m))
    assert views[0] == views[1]


def test_same_scores_dense_and_csr(pair, tmp_path):
    dense, csr, _ = pair
    m = str(tmp_path / "m.h5")
    run(1, "train", "--data", dense, "--model", m, "--quiet", env=ENV)
    out = {}
    for name, data, p in (("dense", dense, 1), ("csr", csr, 1), ("csr3", csr, 3)):
        s = str(tmp_path / f"s_{name}.h5")
        run(p, "score", "--data", data, "--model", m, "--out", s, "--quiet", env=ENV)
        with h5py.File(s) as f:
            out[name] = (f["/customer_id"][:].tobytes(), f["/scores/buy"][:].tobytes())
    assert out["dense"] == out["csr"] == out["csr3"]


@pytest.mark.parametrize("cmd", ["segment", "holdout"])
def test_other_commands_same_output(pair, tmp_path, cmd):
    """segment (rows made dense) and holdout (ids only) give the dense file's output on the CSR copy."""
    dense, csr, _ = pair
    outs = []
    for name, data in (("dense", dense), ("csr", csr)):
        out = str(tmp_path / f"{name}.h5")
        args = ("--k", 3) if cmd == "segment" else ("--campaign", "c1", "--fraction", 0.1)
        run(3, cmd, "--data", data, "--out", out, "--quiet", *args, env=ENV)
        outs.append({k: v for k, v in all_datasets(out).items() if k not in ("@created", "@input_path", "@data")})
    assert outs[0] == outs[1]


def test_inspect_says_layout(pair):
    dense, csr, X = pair
    a = json.loads(run(1, "inspect", dense, "--json").stdout)
    b = json.loads(run(2, "inspect", csr, "--json").stdout)
    assert a["layout"] == "dense" and b["layout"] == "csr"
    assert b["nnz"] == np.count_nonzero(X)
    assert b["density"] == pytest.approx(np.count_nonzero(X) / X.size)
    assert a["columns"] == b["columns"]
    assert "CSR (/features_csr)" in run(1, "inspect", csr).stdout


def damaged(tmp_path, name, change):
    """A small valid CSR file, then CHANGE(file) applied to it."""
    M = sp.csr_matrix(np.array([[1, 0, 2], [0, 0, 0], [0, 3, 0], [4, 5, 6]], dtype=np.float32))
    path = write_csr(str(tmp_path / f"{name}.h5"), M, np.arange(4), [b"a", b"b", b"c"],
                     {"y": np.array([0, 1, 0, 1], dtype=np.uint8)})
    with h5py.File(path, "a") as f:
        change(f)
    return path


def replace(name, values):
    def change(f):
        del f[name]
        f[name] = values
    return change


@pytest.mark.parametrize("name,change,expect", [
    ("range", replace("/features_csr/indices", np.array([0, 2, 1, 0, 1, 3], np.int32)),
     "/features_csr/indices row 3: column 3 is out of range [0, 3)"),
    ("unsorted", replace("/features_csr/indices", np.array([2, 0, 1, 0, 1, 2], np.int32)),
     "/features_csr/indices row 0: columns not increasing (0 after 2)"),
    ("repeat", replace("/features_csr/indices", np.array([0, 2, 1, 1, 1, 2], np.int32)),
     "/features_csr/indices row 3: columns not increasing (1 after 1)"),
    ("decrease", replace("/features_csr/indptr", np.array([0, 2, 1, 3, 6], np.int64)),
     "/features_csr/indptr row 1: 1 is less than the row's start 2 (indptr must not decrease)"),
    ("start", replace("/features_csr/indptr", np.array([1, 2, 2, 3, 6], np.int64)),
     "/features_csr/indptr row 0: starts at 1, must be 0"),
    ("end", replace("/features_csr/indptr", np.array([0, 2, 2, 3, 5], np.int64)),
     "/features_csr/indptr row 3: ends at 5 but /features_csr/data holds 6 values"),
    ("rows", replace("/customer_id", np.arange(5)),
     "/features_csr/indptr has 5 values (4 rows) but /customer_id has 5 rows"),
    ("outside", replace("/features_csr/indptr", np.array([0, 2, 2, 9, 6], np.int64)),
     "/features_csr/indptr row 2: [2, 9) lies outside the 6 stored values"),
    ("lengths", replace("/features_csr/data", np.ones(5, np.float32)),
     "/features_csr/indices has 6 values but /features_csr/data has 5"),
    ("both", lambda f: f.create_dataset("/features", data=np.zeros((4, 3), np.float32)),
     "holds both /features and /features_csr"),
])
@pytest.mark.parametrize("np_", [1, 3])
def test_bad_csr_one_line(tmp_path, name, change, expect, np_):
    path = damaged(tmp_path, name, change)
    before = digest(path)
    p = run(np_, "inspect", path, check=False)
    assert p.returncode != 0
    line = error_line(p)
    assert path in line and expect in line, line
    assert digest(path) == before


# --- importers: scripts/to_hdf5.py from long tables, scipy .npz, svmlight ---

TOOL = os.path.join(os.environ.get("PROPSCORE_SRC", os.path.join(os.path.dirname(__file__), "../..")),
                    "scripts", "to_hdf5.py")


def tool(*args, check=True):
    import subprocess
    import sys
    p = subprocess.run([sys.executable, TOOL, *map(str, args)], capture_output=True, text=True, timeout=120)
    assert (p.returncode == 0) == check, p.stderr
    return p


def read_csr(path):
    with h5py.File(path) as f:
        g = f["/features_csr"]
        n, names = len(g["indptr"]) - 1, [s.decode() for s in f["/feature_names"][:]]
        M = sp.csr_matrix((g["data"][:], g["indices"][:], g["indptr"][:]), shape=(n, len(names)))
        labels = {k: f[f"/labels/{k}"][:] for k in f["/labels"]}
        return M, names, f["/customer_id"][:], labels


LONG = "customer,attribute,value\n3,views_shoes,2\n1,views_bags,1\n3,bought_hats,1\n4,views_bags,0\n"
CUSTOMERS = "customer_id,tenure,bought\n1,10,1\n2,0,0\n3,5,1\n4,7,0\n"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_import_long_table(tmp_path, fmt):
    """Customers in --customers' order, its other columns dense and first,
    attributes sorted after them, zeros not stored."""
    import pandas as pd
    longp, cust = tmp_path / f"long.{fmt}", tmp_path / "cust.csv"
    if fmt == "csv":
        longp.write_text(LONG)
    else:
        pd.read_csv(__import__("io").StringIO(LONG)).to_parquet(longp)
    cust.write_text(CUSTOMERS)
    out = tmp_path / "l.h5"
    tool(longp, "--out", out, "--long", "customer,attribute,value", "--customers", cust, "--id", "customer_id",
         "--label", "buy=bought")
    M, names, ids, labels = read_csr(out)
    assert names == ["tenure", "bought_hats", "views_bags", "views_shoes"]
    assert ids.tolist() == [1, 2, 3, 4] and labels["buy"].tolist() == [1, 0, 1, 0]
    assert M.toarray().tolist() == [[10, 0, 1, 0], [0, 0, 0, 0], [5, 1, 0, 2], [7, 0, 0, 0]]
    assert M.nnz == 6  # tenure 0 and the stored 0 are not kept
    assert run(1, "inspect", out).returncode == 0


def test_import_long_errors(tmp_path):
    longp, cust = tmp_path / "long.csv", tmp_path / "cust.csv"
    longp.write_text(LONG + "3,views_shoes,1\n")
    p = tool(longp, "--out", tmp_path / "x.h5", "--long", "customer,attribute,value", check=False)
    assert "--long: rows 0 and 4 (lines 2 and 6) give the same customer and attribute" in p.stderr, p.stderr
    longp.write_text(LONG + "9,views_shoes,1\n")
    cust.write_text(CUSTOMERS)
    p = tool(longp, "--out", tmp_path / "x.h5", "--long", "customer,attribute,value", "--customers", cust,
             "--id", "customer_id", check=False)
    assert "1 row(s) name a customer not in --customers" in p.stderr
    assert not (tmp_path / "x.h5").exists()


def test_import_npz_dense_and_csr_same_model(tmp_path):
    """A scipy .npz as CSR and (--dense) as /features: the same matrix, and the same logreg model."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(1500, 9)).astype(np.float32)
    X[rng.random(X.shape) < 0.7] = 0
    y = (X[:, 0] + X[:, 3] + rng.normal(size=1500) > 0).astype(int)
    sp.save_npz(tmp_path / "m.npz", sp.csr_matrix(X))
    (tmp_path / "c.csv").write_text("y\n" + "\n".join(map(str, y)) + "\n")
    for name, extra in (("csr", ()), ("dense", ("--dense",))):
        tool(tmp_path / "m.npz", "--out", tmp_path / f"{name}.h5", "--customers", tmp_path / "c.csv",
             "--label", "y=y", *extra)
    M, names, ids, labels = read_csr(tmp_path / "csr.h5")
    assert (M.toarray() == X).all() and names == [f"f{j}" for j in range(9)] and (ids == np.arange(1500)).all()
    with h5py.File(tmp_path / "dense.h5") as f:
        assert (f["/features"][:] == X).all()
    views = []
    for name in ("csr", "dense"):
        run(1, "train", "--data", tmp_path / f"{name}.h5", "--model", tmp_path / f"m_{name}.h5", "--quiet", env=ENV)
        views.append(model_view(tmp_path / f"m_{name}.h5"))
    assert views[0] == views[1]


@pytest.mark.parametrize("zero", [False, True])
def test_import_svmlight(tmp_path, zero):
    (tmp_path / "s.svm").write_text("1 1:0.5 3:2\n0 2:1\n1 1:1 # comment\n")
    extra = ("--zero-based",) if zero else ()
    tool(tmp_path / "s.svm", "--svmlight", "--out", tmp_path / "s.h5", "--label", "buy=label", *extra)
    M, names, ids, labels = read_csr(tmp_path / "s.h5")
    if zero:
        assert names == ["f0", "f1", "f2", "f3"] and M.toarray()[0].tolist() == [0, 0.5, 0, 2]
    else:
        assert names == ["f1", "f2", "f3"] and M.toarray().tolist() == [[0.5, 0, 2], [0, 1, 0], [1, 0, 0]]
    assert labels["buy"].tolist() == [1, 0, 1]


def test_import_wide_table_sparse(tmp_path):
    """--sparse: a wide table as CSR, the same matrix as its dense import."""
    (tmp_path / "w.csv").write_text("id,a,b,y\n1,0,2.5,1\n2,,0,0\n3,4,0,1\n")
    tool(tmp_path / "w.csv", "--out", tmp_path / "d.h5", "--id", "id", "--label", "y=y")
    tool(tmp_path / "w.csv", "--out", tmp_path / "s.h5", "--id", "id", "--label", "y=y", "--sparse")
    M, names, ids, labels = read_csr(tmp_path / "s.h5")
    with h5py.File(tmp_path / "d.h5") as f:
        D = f["/features"][:]
    assert np.array_equal(M.toarray(), D, equal_nan=True) and M.nnz == 3  # NaN (missing) is stored


# --- gen --density: planted sparse customers ---

def all_datasets(path):
    out = {}
    with h5py.File(path) as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[()].tobytes()) if isinstance(o, h5py.Dataset) else None)
        out.update({f"@{k}": np.asarray(v).tobytes() for k, v in f.attrs.items()})
    return out


def test_gen_density_same_for_any_rank_count(tmp_path):
    files = []
    for p in (1, 3):
        files.append(str(tmp_path / f"g{p}.h5"))
        run(p, "gen", "--out", files[-1], "--rows", 3000, "--features", 150, "--density", 0.03, "--targets", "a,b",
            "--quiet")
    assert all_datasets(files[0]) == all_datasets(files[1])
    M, names, ids, labels = read_csr(files[0])
    assert M.nnz / (3000 * 150) == pytest.approx(0.03, rel=0.05)
    assert names[0] == "item_0" and set(labels) == {"a", "b"}


def test_gen_density_planted_auc(tmp_path):
    """Logistic regression on generated sparse rows comes near the planted truth's validation AUC."""
    from sklearn.metrics import roc_auc_score
    from pstest import validation_mask
    data, model, scores = (str(tmp_path / x) for x in ("d.h5", "m.h5", "s.h5"))
    run(2, "gen", "--out", data, "--rows", 60000, "--features", 400, "--density", 0.02, "--targets", "buy:0.1",
        "--quiet")
    run(2, "train", "--data", data, "--model", model, "--quiet")
    run(2, "score", "--data", data, "--model", model, "--out", scores, "--quiet")
    r = json.loads(run(1, "eval", "--data", data, "--scores", scores, "--json").stdout)
    with h5py.File(data) as h:
        va = validation_mask(h["customer_id"][...])
        best = roc_auc_score(h["labels/buy"][...][va], h["truth/buy/prob"][...][va])
    assert r["split"] == "valid"
    assert r["targets"]["buy"]["roc_auc"] > best - 0.015, (r["targets"]["buy"]["roc_auc"], best)


def test_gen_informative(tmp_path):
    """gen --informative K: each target weights K columns (the default's selection draws: a subset of its
    columns, the same weights up to one scale), nothing else; the same bytes for P = 1 and 3; --l1 logreg
    finds the planted columns and comes near the truth's validation AUC."""
    from sklearn.metrics import roc_auc_score
    from pstest import validation_mask
    common = ("--rows", 30000, "--features", 200, "--density", 0.1, "--targets", "a:0.2,b:0.1", "--quiet")
    files = {k: str(tmp_path / f"{k}.h5") for k in ("k1", "k3", "def")}
    run(1, "gen", "--out", files["k1"], "--informative", 20, *common)
    run(3, "gen", "--out", files["k3"], "--informative", 20, *common)
    run(1, "gen", "--out", files["def"], *common)
    assert all_datasets(files["k1"]) == all_datasets(files["k3"])
    with h5py.File(files["k1"]) as h, h5py.File(files["def"]) as d:
        for t in ("a", "b"):
            c, c0 = h[f"truth/{t}/coef"][...], d[f"truth/{t}/coef"][...]
            on = np.flatnonzero(c)
            assert len(on) == 20 and h[f"truth/{t}"].attrs["informative"] == 20
            assert np.count_nonzero(c0) > 30 and "informative" not in d[f"truth/{t}"].attrs
            assert np.allclose(c[on] / c0[on], c[on[0]] / c0[on[0]], rtol=1e-12)
        va = validation_mask(h["customer_id"][...])
        y, best = h["labels/a"][...][va], roc_auc_score(h["labels/a"][...][va], h["truth/a/prob"][...][va])
        c = h["truth/a/coef"][...]
        strong = set(np.flatnonzero(np.abs(c) > 0.2))  # the weights a fit can tell from 0 at 24,000 rows
    model, scores = str(tmp_path / "m.h5"), str(tmp_path / "s.h5")
    run(2, "train", "--data", files["k1"], "--model", model, "--targets", "a", "--l1", "3e-3", "--quiet")
    run(2, "score", "--data", files["k1"], "--model", model, "--out", scores, "--quiet")
    with h5py.File(model) as m, h5py.File(scores) as s:
        w = m["weights"][:, 0]
        auc = roc_auc_score(y, s["scores/a"][...][va])
    assert set(np.argsort(-np.abs(w))[:len(strong)]) == strong and len(strong) >= 10
    assert auc > best - 0.004, (auc, best)


def test_gen_informative_refusals(tmp_path):
    for args, expect in ((("--informative", 5), "gen: --informative goes with --density"),
                         (("--density", 0.1, "--features", 10, "--informative", 11),
                          "gen: --informative 11 is more than --features 10")):
        p = run(1, "gen", "--out", tmp_path / "x.h5", *args, check=False)
        assert p.returncode == 2 and expect in error_line(p)
        assert not (tmp_path / "x.h5").exists()


def test_gen_density_refuses_uplift(tmp_path):
    p = run(1, "gen", "--out", tmp_path / "x.h5", "--density", 0.1, "--uplift", check=False)
    assert p.returncode == 2
    assert "--density makes sparse customers; it does not go with --uplift or --clusters" in error_line(p)
    assert not (tmp_path / "x.h5").exists()


def test_nonfinite_reject_names_the_csr_dataset(tmp_path):
    path = damaged(tmp_path, "nan", replace("/features_csr/data", np.array([1, 2, 3, 4, np.nan, 6], np.float32)))
    for extra in ((), ("--standardize", "scale")):
        p = run(1, "train", "--data", path, "--model", tmp_path / "m.h5", "--targets", "y", "--nonfinite", "reject",
                *extra, check=False)
        assert p.returncode == 1
        assert f"{path}: /features_csr/data row 3 column 1 (b) is NaN (--nonfinite reject)" in error_line(p)
