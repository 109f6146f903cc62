"""GPU command line: `propscore train/score --device cuda` give the model of
--device cpu (weights within 1e-9 relative) and its scores (within 1e-6), for
P = 1, 2, 3 ranks, L-BFGS and Newton (--gpu-sums exact and fast), float32 rows (bfloat16 within a looser
bound), rows resident on the device, streamed from the file
(--host-mem-limit) or going up in blocks (--gpu-mem-limit, a device smaller
than the rows); the same bits twice; NCCL for the sums only when every rank
has a GPU of its own, decided by all ranks together. Runs on the emulated
device (tests/cudasim: PROPSCORE_CUDASIM_DEVICES and PROPSCORE_CUDASIM_MEM
shape it) in every CI run and on a GPU through scripts/gpu-check.sh; prints
"no CUDA device" and is skipped with neither."""
import filecmp
import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from pstest import BIN, MPIEXEC, gen, run  # noqa: E402

version = run(1, "--version").stdout
if "cuda" not in version or "no CUDA device" in version:
    print("no CUDA device: GPU tests skipped")
    pytest.skip("no CUDA device", allow_module_level=True)
EMULATED = "cudasim" in version

ENV = {"SOURCE_DATE_EPOCH": "1700000000", "OPENBLAS_NUM_THREADS": "1"}
FIT = ["--tol", "1e-13", "--ftol", "0"]


def dev_env(devices=None, mem=None):
    """Environment of a run: on the emulated device, how many GPUs each rank sees and their memory."""
    e = dict(ENV)
    if devices is not None:
        e["PROPSCORE_CUDASIM_DEVICES"] = str(devices)
    if mem is not None:
        e["PROPSCORE_CUDASIM_MEM"] = mem
    return e


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return gen(str(tmp_path_factory.mktemp("gpu") / "d.h5"), rows=6000, features=12)


@pytest.fixture(scope="module")
def cpu_models(data, tmp_path_factory):
    """The CPU's models, by (ranks, solver)."""
    d = tmp_path_factory.mktemp("cpu")
    out = {}
    for p in (1, 2, 3):
        for solver in ("lbfgs", "newton"):
            path = str(d / f"cpu_{p}_{solver}.h5")
            run(p, "train", "--data", data, "--model", path, "--device", "cpu", "--solver", solver, *FIT, "--quiet",
                env=ENV)
            out[p, solver] = path
    return out


def params(path):
    with h5py.File(path) as m:
        return np.concatenate([m["weights"][...].ravel(), m["bias"][...].ravel()])


def rel(a, b):
    a, b = params(a), params(b)
    return np.linalg.norm(a - b) / np.linalg.norm(a)


def train_cuda(data, model, p, solver="lbfgs", extra=(), env=None):
    r = run(p, "train", "--data", data, "--model", model, "--device", "cuda", "--solver", solver, *FIT, *extra,
            env=env or ENV)
    with h5py.File(model) as m:
        assert m.attrs["device"] == "cuda"
    return r


@pytest.mark.parametrize("p,solver,devices", [(1, "lbfgs", 1), (1, "newton", 1), (2, "lbfgs", 2), (2, "newton", 2),
                                              (3, "lbfgs", 3), (3, "newton", 3), (3, "lbfgs", 1)])
def test_model_matches_cpu(data, cpu_models, tmp_path, p, solver, devices):
    model = str(tmp_path / "gpu.h5")
    r = train_cuda(data, model, p, solver, env=dev_env(devices))
    if EMULATED:  # NCCL sums exactly when every rank has a device of its own
        assert ("NCCL over" in r.stderr) == (p > 1 and devices >= p), r.stderr
    e = rel(cpu_models[p, solver], model)
    assert e < 1e-9, e


@pytest.mark.parametrize("p,solver", [(1, "newton"), (2, "lbfgs")])
def test_gpu_sums_fast(data, cpu_models, tmp_path, p, solver):
    """--gpu-sums fast: grad.cu's sums (its log line, no exact block sums), a
    model within 1e-9 of exact's (the default: the CPU's model bytes, as
    test_csr_gpu checks); recorded in the manifest."""
    model = str(tmp_path / "fast.h5")
    r = train_cuda(data, model, p, solver, extra=["--gpu-sums", "fast"], env=dev_env(p))
    assert "--gpu-sums fast: grad.cu's sums" in r.stderr and "exact sums" not in r.stderr, r.stderr
    e = rel(cpu_models[p, solver], model)
    assert e < 1e-9, e
    with open(model + ".manifest.json") as f:
        assert json.load(f)["parameters"]["gpu_sums"] == "fast"


def test_gpu_sums_bad_value(data, tmp_path):
    bad = run(1, "train", "--data", data, "--model", str(tmp_path / "bad.h5"), "--gpu-sums", "quick", check=False)
    assert bad.returncode == 2
    lines = [x for x in bad.stderr.splitlines() if x.startswith("propscore")]  # mpiexec's own lines aside
    assert lines == ["propscore: error: --gpu-sums: 'quick' is not one of exact, fast"], bad.stderr
    assert not os.path.exists(tmp_path / "bad.h5")


def test_bf16_rows(data, cpu_models, tmp_path):
    model = str(tmp_path / "bf16.h5")
    train_cuda(data, model, 2, "lbfgs", extra=["--x-dtype", "bf16"], env=dev_env(2))
    # trained on rows rounded to 8 bits of mantissa: close to, not equal to, the float32 model
    e = rel(cpu_models[2, "lbfgs"], model)
    assert 1e-9 < e < 5e-3, e


@pytest.mark.parametrize("p", [1, 3])
def test_rows_not_resident(data, cpu_models, tmp_path, p):
    # streamed from the file in blocks (--host-mem-limit)
    st = str(tmp_path / "streamed.h5")
    r = train_cuda(data, st, p, "newton", extra=["--host-mem-limit", "64K"], env=dev_env(p))
    assert "streaming" in r.stderr
    assert rel(cpu_models[p, "newton"], st) < 1e-9
    # resident on the host, up to the GPU in blocks every pass (--gpu-mem-limit)
    bl = str(tmp_path / "blocks.h5")
    r = train_cuda(data, bl, p, "lbfgs", extra=["--gpu-mem-limit", "64K"], env=dev_env(p))
    assert "exceed --gpu-mem-limit" in r.stderr
    assert rel(cpu_models[p, "lbfgs"], bl) < 1e-9


@pytest.mark.skipif(not EMULATED, reason="the device's memory is set on the emulated device only")
def test_device_smaller_than_rows(data, cpu_models, tmp_path):
    # ~230 KiB of training rows on a 256 KiB device: every pass and the
    # metrics after the fit go up in blocks (no "out of memory" after the fit)
    model = str(tmp_path / "small.h5")
    r = train_cuda(data, model, 1, "lbfgs", env=dev_env(1, "256K"))
    assert "exceed --gpu-mem-limit" in r.stderr
    assert rel(cpu_models[1, "lbfgs"], model) < 1e-9
    out = str(tmp_path / "s.h5")
    run(1, "score", "--data", data, "--model", model, "--out", out, "--device", "cuda", "--quiet",
        env=dev_env(1, "256K"))


def scores(path):
    with h5py.File(path) as s:
        return {t: s["scores"][t][...] for t in s["scores"]}


@pytest.mark.parametrize("p", [1, 3])
def test_scores_match_cpu_and_repeat(data, cpu_models, tmp_path, p):
    model = cpu_models[1, "lbfgs"]
    outs = {}
    for name, dev in (("cpu", "cpu"), ("gpu1", "cuda"), ("gpu2", "cuda")):
        out = str(tmp_path / f"{name}.h5")
        run(p, "score", "--data", data, "--model", model, "--out", out, "--device", dev, "--quiet", env=dev_env(p))
        outs[name] = scores(out)
    for t in outs["cpu"]:
        assert np.max(np.abs(outs["cpu"][t] - outs["gpu1"][t])) < 1e-6
    assert filecmp.cmp(tmp_path / "gpu1.h5", tmp_path / "gpu2.h5", shallow=False)


def test_training_is_bitwise_repeatable(data, tmp_path):
    for i in range(2):
        run(2, "train", "--data", data, "--model", str(tmp_path / f"m{i}.h5"), "--device", "cuda", "--quiet",
            env=dev_env(2))
    assert filecmp.cmp(tmp_path / "m0.h5", tmp_path / "m1.h5", shallow=False)


@pytest.mark.skipif(not EMULATED, reason="ranks with different GPU counts need the emulated device")
def test_nccl_is_decided_by_all_ranks(data, cpu_models, tmp_path):
    # rank 0 sees two GPUs (one of its own), rank 1 one GPU for two ranks: the
    # job must agree on MPI sums (before: rank 0 set up NCCL alone and hung)
    model = str(tmp_path / "mixed.h5")
    args = [BIN, "train", "--data", data, "--model", model, "--device", "cuda", "--solver", "lbfgs", *FIT]
    cmd = [MPIEXEC, "-n", "1", "-x", "PROPSCORE_CUDASIM_DEVICES=2", *args, ":",
           "-n", "1", "-x", "PROPSCORE_CUDASIM_DEVICES=1", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=dict(os.environ, **ENV))
    assert r.returncode == 0, r.stderr
    assert "NCCL over" not in r.stderr
    assert rel(cpu_models[2, "lbfgs"], model) < 1e-9


@pytest.mark.skipif(not EMULATED, reason="hiding the GPU needs the emulated device")
def test_auto_without_a_device_is_the_cpu(data, cpu_models, tmp_path):
    model = str(tmp_path / "auto.h5")
    run(1, "train", "--data", data, "--model", model, "--device", "auto", "--solver", "lbfgs", *FIT, "--quiet",
        env=dev_env(0))
    with h5py.File(model) as m:
        assert m.attrs["device"] == "cpu"
    assert rel(cpu_models[1, "lbfgs"], model) == 0
