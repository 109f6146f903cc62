"""Bad input to gen/inspect: one line naming file and dataset, non-zero exit,
no output file left behind, inputs untouched."""
import json
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


@pytest.mark.parametrize("cmd", ["inspect", "train", "segment"])
def test_duplicate_feature_names(tmp_path, cmd):
    """A name twice in /feature_names (the importer could make one: a one-hot 'color=red' next to a
    column 'color=red') is refused by whatever reads the file: columns are matched by name."""
    d = good(n=40, f=3)
    d["feature_names"] = np.array([b"a", b"color=red", b"color=red"])
    d["labels/y"] = (np.arange(40) % 2).astype(np.uint8)
    f = make(tmp_path / "dup.h5", **d)
    args = {"inspect": ["inspect", f], "train": ["train", "--data", f, "--model", tmp_path / "m.h5"],
            "segment": ["segment", "--data", f, "--k", "2", "--out", tmp_path / "p.h5"]}[cmd]
    r = run(2, *args, check=False)
    assert r.returncode == 1
    assert error_line(r) == (f"propscore: error: {f}: dataset /feature_names names 'color=red' twice (columns 1 "
                             "and 2): names must be unique"), r.stderr
    assert not os.path.exists(tmp_path / "m.h5") and not os.path.exists(tmp_path / "p.h5")


def test_model_with_duplicate_feature_names(tmp_path):
    """segment --model maps the model's columns by name: a model naming one twice is refused."""
    data = gen(str(tmp_path / "d.h5"), rows=600, features=4, np_=1)
    model = str(tmp_path / "personas.h5")
    run(1, "segment", "--data", data, "--k", "2", "--out", model)
    with h5py.File(model, "r+") as h:
        names = h["model/columns/name"][...]
        names[1] = names[0]
        h["model/columns/name"][...] = names
    r = run(2, "segment", "--data", data, "--model", model, "--out", tmp_path / "p2.h5", check=False)
    assert r.returncode == 1 and "dataset /model/columns/name names" in error_line(r), r.stderr
    assert "(columns 0 and 1)" in error_line(r)


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


def long_dir(tmp_path):
    d = tmp_path
    for i in range(6):
        d = d / (f"{i}" + "d" * 45)
    d.mkdir(parents=True)
    return d


def test_long_paths_work(tmp_path):
    """Paths of 247 characters and more crashed every MPI-IO open (Open MPI's lockedfile component)."""
    d = long_dir(tmp_path)
    data, model, scores = str(d / "data.h5"), str(d / "model.h5"), str(d / "scores.h5")
    assert len(scores) > 300
    gen(data, rows=3000, features=6, np_=2)
    run(2, "inspect", data)
    run(2, "train", "--data", data, "--model", model, "--quiet")
    run(2, "score", "--data", data, "--model", model, "--out", scores, "--quiet")
    run(2, "eval", "--data", data, "--scores", scores)


def test_output_name_too_long(tmp_path):
    data = gen(str(tmp_path / "d.h5"), rows=500, features=4)
    out = str(tmp_path / ("x" * 240 + ".h5"))
    r = run(1, "score", "--data", data, "--model", data, "--out", out, check=False)
    assert r.returncode == 1 and "the name is too long for its temporary names" in error_line(r)


def test_directory_as_output(tmp_path):
    data = gen(str(tmp_path / "d.h5"), rows=500, features=4)
    (tmp_path / "m.h5").mkdir()
    r = run(2, "train", "--data", data, "--model", tmp_path / "m.h5", check=False)
    assert r.returncode == 1 and "is a directory, not a file; refusing to replace it" in error_line(r)
    assert "iter" not in r.stderr  # refused before any work


def test_fifo_input_is_refused(tmp_path):
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    r = run(2, "inspect", fifo, check=False, timeout=60)
    assert r.returncode == 1 and error_line(r).endswith("not a regular file (a directory, FIFO or device)")


def test_sparse_file_reads_fill_values(tmp_path):
    """Chunks never written read as the fill value (MPI_ERR_TYPE before), with a warning."""
    path = str(tmp_path / "sparse.h5")
    rng = np.random.default_rng(1)
    with h5py.File(path, "w") as h:
        x = h.create_dataset("features", shape=(4000, 3), dtype="f4", chunks=(500, 3), fillvalue=0.0)
        x[0:1000] = rng.normal(size=(1000, 3))
        x[2500:3000] = rng.normal(size=(500, 3))
        h["customer_id"] = np.arange(4000, dtype=np.int64)
        h["feature_names"] = np.array([b"a", b"b", b"c"])
    r = run(2, "inspect", path, "--json")
    got = json.loads(r.stdout)
    assert got["rows"] == 4000 and got["columns"][0]["count"] == 4000
    assert "chunks that were never written" in r.stderr


def test_missing_filter_is_named(tmp_path):
    path = str(tmp_path / "lzf.h5")
    with h5py.File(path, "w") as h:
        h.create_dataset("features", data=np.ones((100, 3), np.float32), chunks=(50, 3), compression="lzf")
        h["customer_id"] = np.arange(100, dtype=np.int64)
        h["feature_names"] = np.array([b"a", b"b", b"c"])
    r = run(2, "inspect", path, check=False)
    assert r.returncode == 1 and "compressed with filter 32000 (lzf), which this HDF5 does not have" in error_line(r)


@pytest.mark.parametrize("args,msg", [
    (["gen", "--out", "x.h5", "--rows", "2.5"], "--rows: '2.5' is not an integer"),
    (["gen", "--out", "x.h5", "--rows", "1e3.5"], "is not an integer"),
    (["train", "--data", "d.h5", "--model", "m.h5", "--max-iter", "1e19"], "--max-iter: 1e19 is out of range"),
    (["train", "--data", "d.h5", "--model", "m.h5", "--host-mem-limit", "inf"], "--host-mem-limit: 'inf' is not a size"),
    (["train", "--data", "d.h5", "--model", "m.h5", "--host-mem-limit", "-5G"], "is not a size"),
    (["train", "--data", "d.h5", "--model", "m.h5", "--tol", "nan"], "--tol: 'nan' is not a number"),
    (["score", "--data", "d.h5", "--model", "m.h5", "--out", "s.h5", "--block-rows", "0x10"], "is not an integer"),
])
def test_numbers_are_parsed_strictly(tmp_path, args, msg):
    r = run(1, *args, check=False)
    assert r.returncode == 2 and msg in error_line(r)


def test_labels_subgroup_does_not_break_inspect(tmp_path):
    path = make(tmp_path / "g.h5", **good(), **{"labels/y": np.array([0, 1] * 5, np.uint8),
                                              "labels/extra/z": np.zeros(10, np.uint8)})
    r = run(2, "inspect", path)
    assert "label y" in r.stdout and "extra" not in r.stdout


def test_inspect_of_zero_rows(tmp_path):
    path = make(tmp_path / "z.h5", features=np.ones((0, 2), np.float32), customer_id=np.zeros(0, np.int64),
                feature_names=np.array([b"a", b"b"]), **{"labels/y": np.zeros(0, np.uint8)})
    r = run(2, "inspect", path)
    assert "nan%" not in r.stdout.lower() and "0 rows x 2 features" in r.stdout


def test_duplicate_ids_counted_not_printed(tmp_path):
    path = make(tmp_path / "dup.h5", features=np.ones((10, 3), np.float32),
                customer_id=np.array([5, 6, 7, 987654321, 8, 987654321, 9, 5, 10, 11], np.int64),
                feature_names=np.array([b"a", b"b", b"c"]), **{"labels/y": np.array([0, 1] * 5, np.uint8)})
    r = run(2, "train", "--data", path, "--model", tmp_path / "m.h5", "--holdout", "0", check=False)
    assert r.returncode == 1
    line = error_line(r)
    assert "/customer_id holds 2 repeated ids (the first repeat at row 5); ids must be unique" in line
    assert "987654321" not in r.stderr + r.stdout


def test_duplicate_targets(tmp_path):
    data = gen(str(tmp_path / "d.h5"), rows=500, features=4)
    r = run(1, "train", "--data", data, "--model", tmp_path / "m.h5", "--targets", "churn,churn", check=False)
    assert r.returncode == 2 and "--targets: 'churn' is given twice" in error_line(r)


def test_non_utf8_path_keeps_the_manifest_valid(tmp_path):
    d = os.fsencode(str(tmp_path)) + b"/caf\xe9"
    os.mkdir(d)
    data = gen(str(tmp_path / "d.h5"), rows=2000, features=4)
    model = os.fsdecode(d + b"/m.h5")
    run(2, "train", "--data", data, "--model", model, "--quiet")
    man = json.load(open(os.fsencode(model) + b".manifest.json", encoding="utf-8"))
    assert man["exit_status"] == 0 and "caf\ufffd" in man["argv"][-2]
