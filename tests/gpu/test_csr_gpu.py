"""CSR rows on the GPU (issue 30): `train --device cuda --standardize scale`
on a CSR file runs kernels/logreg/grad_csr.cu and writes the CPU's model
bytes (the creation time and the device attribute aside), P = 1, 2 and 3,
L-BFGS and Newton (whose Hessians stay on the CPU twin); --device auto
picks the GPU for them. The acceptance on a CUDA build: the same matrix as
CSR and as dense, --device auto (the GPU), centred and scale-only logreg,
P = 1 and 3, gives the CPU's model bytes (dense rows resident on the device
are summed by grad_csr.cu's dense variant, exactly) and the same score
bytes (before: the dense run's device sums differed in the last bits). Runs on the emulated device in every CI run and on
a GPU through scripts/gpu-check.sh; "no CUDA device": skipped."""
import os
import sys

import h5py
import numpy as np
import pytest
import scipy.sparse as sp

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from pstest import run  # noqa: E402

version = run(1, "--version").stdout
if "cuda" not in version or "no CUDA device" in version:
    print("no CUDA device: GPU tests skipped")
    pytest.skip("no CUDA device", allow_module_level=True)

ENV = {"SOURCE_DATE_EPOCH": "1700000000", "OPENBLAS_NUM_THREADS": "1"}


def view(path):
    """Every dataset and attribute of a model file but its creation time and device."""
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
        device = f.attrs["device"]
    return {k: v for k, v in out.items() if k not in ("@created", "@device")}, device


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("csrgpu") / "s.h5")
    run(2, "gen", "--out", path, "--rows", 2600, "--features", 60, "--density", 0.08, "--targets", "a:0.2,b:0.1",
        "--quiet")
    return path


@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
def test_cuda_writes_the_cpu_model(data, tmp_path, solver):
    ref, dev = view(run_train(data, tmp_path / "cpu.h5", 1, "cpu", solver))
    assert dev == "cpu"
    for p in (1, 3):
        m = tmp_path / f"cuda_{p}.h5"
        r = run(p, "train", "--data", data, "--model", str(m), "--standardize", "scale", "--solver", solver,
                "--device", "cuda", env=ENV)
        assert "CSR rows on the GPU" in r.stdout + r.stderr
        v, dev = view(str(m))
        assert dev == "cuda"
        assert v == ref


def test_gpu_sums_fast_keeps_csr_exact(data, tmp_path):
    """--gpu-sums fast does not apply to CSR rows: their exact sums, the CPU's bytes (CSR = dense), and the log says so."""
    ref, _ = view(run_train(data, tmp_path / "cpu.h5", 2, "cpu", "lbfgs"))
    m = tmp_path / "fast.h5"
    r = run(2, "train", "--data", data, "--model", str(m), "--standardize", "scale", "--device", "cuda",
            "--gpu-sums", "fast", env=ENV)
    assert "--gpu-sums fast: CSR rows keep their exact sums" in r.stderr, r.stderr
    v, dev = view(str(m))
    assert dev == "cuda" and v == ref


def test_auto_picks_the_gpu(data, tmp_path):
    ref, _ = view(run_train(data, tmp_path / "cpu.h5", 2, "cpu", "lbfgs"))
    v, dev = view(run_train(data, tmp_path / "auto.h5", 2, "auto", "lbfgs"))
    assert dev == "cuda" and v == ref


@pytest.fixture(scope="module")
def dense(data):
    """The CSR file's matrix as /features."""
    path = data + ".dense.h5"
    with h5py.File(data) as f, h5py.File(path, "w") as g:
        n, nf = f["/customer_id"].shape[0], f["/feature_names"].shape[0]
        M = sp.csr_matrix((f["/features_csr/data"][:], f["/features_csr/indices"][:], f["/features_csr/indptr"][:]),
                          shape=(n, nf))
        g["/features"] = M.toarray()
        for k in ("/customer_id", "/feature_names"):
            g[k] = f[k][:]
        for t in f["/labels"]:
            g[f"/labels/{t}"] = f[f"/labels/{t}"][:]
    return path


def scores(path):
    with h5py.File(path) as f:
        return {t: f["scores"][t][()].tobytes() for t in f["scores"]}


@pytest.mark.parametrize("std", ["center", "scale"])
def test_dense_and_csr_same_model_and_scores_on_the_gpu(data, dense, tmp_path, std):
    def model(path):  # the input file's identity aside
        v, dev = view(path)
        return {k: x for k, x in v.items() if not k.startswith("@input_")}, dev
    ref, _ = model(run_train(dense, tmp_path / "cpu.h5", 1, "cpu", "lbfgs", std))
    got = {}
    for p in (1, 3):
        for name, d in (("dense", dense), ("csr", data)):
            m = tmp_path / f"{name}_{p}.h5"
            r = run(p, "train", "--data", d, "--model", str(m), "--standardize", std, "--solver", "lbfgs", env=ENV)
            assert ("rows on the GPU, exact sums" in r.stderr) == (name == "dense" or std == "center"), r.stderr
            v, dev = model(str(m))
            assert dev == "cuda" and v == ref, (name, p)
            s = tmp_path / f"s_{name}_{p}.h5"
            run(p, "score", "--data", d, "--model", str(tmp_path / "dense_1.h5"), "--out", str(s), "--quiet", env=ENV)
            got[name, p] = scores(str(s))
    assert all(v == got["dense", 1] for v in got.values())


def run_train(data, model, p, device, solver, std="scale"):
    run(p, "train", "--data", data, "--model", str(model), "--standardize", std, "--solver", solver, "--device",
        device, "--quiet", env=ENV)
    return str(model)
