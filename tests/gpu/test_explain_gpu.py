"""score --explain --device cuda: the TreeSHAP kernel gives the CPU's
explain datasets bit for bit (P = 1, 2), with missing values, several heads
small and large trees (15 to 200 leaves) and a block size that leaves a
short last block. (Paths longer than the kernel takes are refused by the
kernel and explained on the CPU: kernels/gbdt/test_shap_kernels.c.)
Prints "no CUDA device" and is skipped without a GPU."""
import os
import shutil
import sys

import h5py
import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from pstest import gen, run  # noqa: E402

version = run(1, "--version").stdout
if "cuda" not in version or "no CUDA device" in version:
    print("no CUDA device: GPU tests skipped")
    pytest.skip("no CUDA device", allow_module_level=True)

ENV = {"SOURCE_DATE_EPOCH": "1700000000", "OPENBLAS_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("explain_gpu")
    src = gen(str(d / "g.h5"), rows=3000, features=9)
    path = str(d / "d.h5")
    shutil.copy(src, path)
    with h5py.File(path, "r+") as h:
        X = h["features"][...]
        X[np.random.default_rng(5).random(X.shape) < 0.1] = np.nan
        h["features"][...] = X
    return path


def explain(path):
    with h5py.File(path) as s:
        return {t: (g["feature"][...], g["value"][...], g.attrs["base_value"]) for t, g in s["explain"].items()
                if isinstance(g, h5py.Group)}


@pytest.mark.parametrize("leaves,p", [(15, 1), (31, 2), (200, 1)])
def test_cuda_explanations_equal_cpu(data, tmp_path, leaves, p):
    model = str(tmp_path / "m.h5")
    run(1, "train", "--data", data, "--model", model, "--model-type", "gbdt", "--trees", "6", "--num-leaves", leaves,
        "--min-data-in-leaf", "2", "--quiet", env=ENV)
    out = {}
    for dev in ("cpu", "cuda"):
        out[dev] = str(tmp_path / f"{dev}.h5")
        run(p, "score", "--data", data, "--model", model, "--out", out[dev], "--device", dev, "--explain", 4,
            "--block-rows", 700, "--quiet", env=ENV)
    a, b = explain(out["cpu"]), explain(out["cuda"])
    for t in a:
        assert np.array_equal(a[t][0], b[t][0]) and np.array_equal(a[t][1], b[t][1]) and a[t][2] == b[t][2]
