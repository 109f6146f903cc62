"""CSR rows on the GPU (issue 30): `train --device cuda --standardize scale`
on a CSR file runs kernels/logreg/grad_csr.cu and writes the CPU's model
bytes (the creation time and the device attribute aside), P = 1, 2 and 3,
L-BFGS and Newton (whose Hessians stay on the CPU twin); --device auto
picks the GPU for them. Runs on the emulated device in every CI run and on
a GPU through scripts/gpu-check.sh; "no CUDA device": skipped."""
import os
import sys

import h5py
import numpy as np
import pytest

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


def test_auto_picks_the_gpu(data, tmp_path):
    ref, _ = view(run_train(data, tmp_path / "cpu.h5", 2, "cpu", "lbfgs"))
    v, dev = view(run_train(data, tmp_path / "auto.h5", 2, "auto", "lbfgs"))
    assert dev == "cuda" and v == ref


def run_train(data, model, p, device, solver):
    run(p, "train", "--data", data, "--model", str(model), "--standardize", "scale", "--solver", solver, "--device",
        device, "--quiet", env=ENV)
    return str(model)
