"""segment --device cuda: the Lloyd iterations on the GPU (cuBLAS GEMM +
argmin kernel, integer-atomic update) give the CPU's personas on planted
clusters and the same bytes twice. Prints "no CUDA device" and is skipped
without a GPU."""
import os
import sys

import h5py
import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from pstest import digest, gen, run  # noqa: E402

version = run(1, "--version").stdout
if "cuda" not in version or "no CUDA device" in version:
    print("no CUDA device: GPU tests skipped")
    pytest.skip("no CUDA device", allow_module_level=True)


def test_segment_cuda_matches_cpu(tmp_path):
    data = gen(str(tmp_path / "c.h5"), rows=50000, features=16, extra=("--clusters", "12"))
    cpu, gpu, gpu2 = (str(tmp_path / x) for x in ("cpu.h5", "gpu.h5", "gpu2.h5"))
    run(1, "segment", "--data", data, "--k", 12, "--out", cpu, "--device", "cpu", "--quiet")
    run(1, "segment", "--data", data, "--k", 12, "--out", gpu, "--device", "cuda", "--quiet")
    run(1, "segment", "--data", data, "--k", 12, "--out", gpu2, "--device", "cuda", "--quiet")
    assert digest(gpu) == digest(gpu2)
    with h5py.File(cpu) as a, h5py.File(gpu) as b:
        assert (a["segments/persona"][...] == b["segments/persona"][...]).all()
        c1, c2 = a["model/centroids"][...], b["model/centroids"][...]
        assert np.abs(c1 - c2).max() <= 1e-9 * np.abs(c1).max()
