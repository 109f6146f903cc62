"""train --model-type gbdt --device cuda: the tree kernels (binning, histograms,
split search, partitions) give the CPU's model file byte for byte, for
P = 1, 2, 3, with bagging and feature subsampling, and with missing values;
score --device cuda (the predict kernel over raw rows) gives the CPU's scores
bit for bit; rows that do not fit the GPU memory limit are refused with one
clear line. Prints "no CUDA device" and is skipped without a GPU."""
import filecmp
import os
import shutil
import sys

import h5py
import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from pstest import error_line, gen, leftovers, run  # noqa: E402

version = run(1, "--version").stdout
if "cuda" not in version or "no CUDA device" in version:
    print("no CUDA device: GPU tests skipped")
    pytest.skip("no CUDA device", allow_module_level=True)

ENV = {"SOURCE_DATE_EPOCH": "1700000000", "OPENBLAS_NUM_THREADS": "1"}
TREES = ["--model-type", "gbdt", "--trees", "12", "--num-leaves", "15"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return gen(str(tmp_path_factory.mktemp("gbdt_gpu") / "d.h5"), rows=6000, features=12)


@pytest.fixture(scope="module")
def data_missing(data, tmp_path_factory):
    """The same rows with missing values: 15% of two columns, all of a third."""
    path = str(tmp_path_factory.mktemp("gbdt_gpu_nan") / "n.h5")
    shutil.copy(data, path)
    with h5py.File(path, "r+") as h:
        X = h["features"][...]
        rng = np.random.default_rng(3)
        for j in (0, 5):
            X[rng.random(len(X)) < 0.15, j] = np.nan
        X[:, 7] = np.nan
        h["features"][...] = X
    return path


def train(p, data, model, device, *extra):
    return run(p, "train", "--data", data, "--model", model, *TREES, "--device", device, "--quiet", *extra, env=ENV)


@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("extra", [[], ["--feature-fraction", "0.7", "--bagging-fraction", "0.8", "--bagging-freq",
                                        "2", "--max-depth", "4", "--pos-weight", "balanced"]],
                         ids=["plain", "bagging"])
def test_model_bytes_match_cpu(data, tmp_path, p, extra):
    cpu, gpu = str(tmp_path / "cpu.h5"), str(tmp_path / "gpu.h5")
    train(p, data, cpu, "cpu", *extra)
    r = train(p, data, gpu, "cuda", *extra)
    assert filecmp.cmp(cpu, gpu, shallow=False), r.stderr
    with open(gpu + ".manifest.json") as f:
        assert '"cuda"' in f.read()  # the run said which device it used


@pytest.mark.parametrize("p", [1, 3])
def test_missing_values(data_missing, tmp_path, p):
    cpu, gpu = str(tmp_path / "cpu.h5"), str(tmp_path / "gpu.h5")
    train(p, data_missing, cpu, "cpu")
    train(p, data_missing, gpu, "cuda")
    assert filecmp.cmp(cpu, gpu, shallow=False)
    with h5py.File(gpu) as m:  # the missing values went somewhere chosen: splits learned a direction
        assert len(m["trees/churn/feature"][...]) > 0


@pytest.mark.parametrize("p", [1, 2])
def test_scores_match_cpu(data_missing, tmp_path, p):
    model = str(tmp_path / "g.h5")
    train(1, data_missing, model, "cpu")
    out = {}
    for dev in ("cpu", "cuda"):
        path = str(tmp_path / f"s_{dev}.h5")
        run(p, "score", "--data", data_missing, "--model", model, "--out", path, "--device", dev, "--quiet",
            "--block-rows", "1000", env=ENV)
        with h5py.File(path) as s:
            out[dev] = {t: s[f"scores/{t}"][...] for t in ("churn", "purchase_3m")}
    for t in out["cpu"]:
        assert out["cpu"][t].dtype == out["cuda"][t].dtype
        assert np.array_equal(out["cpu"][t].view(np.uint32), out["cuda"][t].view(np.uint32)), t


def test_rows_that_do_not_fit_are_refused(data, tmp_path):
    model = str(tmp_path / "g.h5")
    r = run(2, "train", "--data", data, "--model", model, *TREES, "--device", "cuda", "--gpu-mem-limit", "64K",
            check=False, env=ENV)
    assert r.returncode == 1, r.stderr
    line = error_line(r)
    assert "MiB of GPU memory" in line and "--gpu-mem-limit" in line and "--device cpu" in line, line
    assert not os.path.exists(model) and not leftovers(tmp_path)


@pytest.mark.parametrize("p,bits", [(1, "8"), (2, "8"), (3, "4"), (2, "16")])
def test_quantized_model_bytes_match_cpu(data_missing, tmp_path, p, bits):
    """--grad-bits (issue 28): the quantized histogram kernel (hist_q.cu) and the leaves' exact sums on the
    device give the CPU's model file byte for byte."""
    cpu, gpu = str(tmp_path / "cpu.h5"), str(tmp_path / "gpu.h5")
    extra = ["--grad-bits", bits, "--bagging-fraction", "0.8", "--bagging-freq", "1"]
    train(p, data_missing, cpu, "cpu", *extra)
    r = train(p, data_missing, gpu, "cuda", *extra)
    assert filecmp.cmp(cpu, gpu, shallow=False), r.stderr
    with h5py.File(gpu) as m:
        assert len(m["trees/churn/feature"][...]) > 0
