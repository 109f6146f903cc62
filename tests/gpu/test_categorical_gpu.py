"""Categorical features on the device: train --device cuda (the partition
by a category set, partition.cu) writes the CPU's model file byte for byte
for P = 1, 2; score --device cuda (the predict kernel) and score --explain
on the device (the TreeSHAP kernel) give the CPU's bits; logreg's one-hot
category columns on the device: the CPU's weights and scores (to 1e-6). Prints "no CUDA
device" and is skipped without a GPU."""
import filecmp
import os
import sys

import h5py
import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from pstest import run  # noqa: E402
from test_categorical import make  # noqa: E402

version = run(1, "--version").stdout
if "cuda" not in version or "no CUDA device" in version:
    print("no CUDA device: GPU tests skipped")
    pytest.skip("no CUDA device", allow_module_level=True)

ENV = {"SOURCE_DATE_EPOCH": "1700000000", "OPENBLAS_NUM_THREADS": "1"}
TREES = ["--model-type", "gbdt", "--trees", "8", "--num-leaves", "15"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make(str(tmp_path_factory.mktemp("cat_gpu") / "d.h5"), n=3000)


@pytest.mark.parametrize("p", [1, 2])
def test_model_bytes_match_cpu(data, tmp_path, p):
    cpu, gpu = str(tmp_path / "cpu.h5"), str(tmp_path / "gpu.h5")
    for m, dev in ((cpu, "cpu"), (gpu, "cuda")):
        run(p, "train", "--data", data, "--model", m, *TREES, "--device", dev, "--quiet", env=ENV)
    assert filecmp.cmp(cpu, gpu, shallow=False)
    with h5py.File(gpu) as m:
        assert m["trees/buy/cat_index"][0] == 0  # the root is a category set


def test_scores_and_explanations_match_cpu(data, tmp_path):
    model = str(tmp_path / "g.h5")
    run(1, "train", "--data", data, "--model", model, *TREES, "--device", "cpu", "--quiet", env=ENV)
    out = {}
    for dev in ("cpu", "cuda"):
        s = str(tmp_path / f"s_{dev}.h5")
        run(2, "score", "--data", data, "--model", model, "--out", s, "--device", dev, "--explain", "3", "--quiet",
            env=ENV)
        with h5py.File(s) as h:
            out[dev] = [h[k][...] for k in ("scores/buy", "explain/buy/feature", "explain/buy/value")]
    for a, b in zip(out["cpu"], out["cuda"]):
        assert np.array_equal(a, b)


def test_logreg_one_hot_on_the_device(data, tmp_path):
    """logreg's category columns (kind 2 + code) through the CUDA backend and the raw-row score kernel."""
    models, scores = {}, {}
    for dev in ("cpu", "cuda"):
        models[dev] = str(tmp_path / f"lr_{dev}.h5")
        run(2, "train", "--data", data, "--model", models[dev], "--device", dev, "--quiet", env=ENV)
        s = str(tmp_path / f"s_{dev}.h5")
        run(2, "score", "--data", data, "--model", models["cpu"], "--out", s, "--device", dev, "--quiet", env=ENV)
        with h5py.File(s) as h:
            scores[dev] = h["scores/buy"][...]
    with h5py.File(models["cpu"]) as a, h5py.File(models["cuda"]) as b:  # logreg's device sums are not the CPU's bits
        assert list(b["columns/kind"][...]) == [0] + list(range(2, 14)) + [0]
        assert np.allclose(a["weights"][...], b["weights"][...], rtol=1e-6, atol=1e-9)
    assert np.abs(scores["cpu"].astype(np.float64) - scores["cuda"]).max() < 1e-6
