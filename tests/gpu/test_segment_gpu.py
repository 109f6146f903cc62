"""segment --device cuda: the Lloyd iterations on the GPU (one fused pass:
the distances as the CPU's panel kernel computes them, the argmin, the
integer update in shared memory) give the CPU's personas on planted
clusters and the same bytes twice; where the CPU takes its panel kernel
(AVX-512) the centroids are the CPU's bits too. Prints "no CUDA device"
and is skipped without a GPU."""
import os
import sys

import h5py
import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from pstest import digest, gen, run  # noqa: E402

version = run(1, "--version").stdout


def cpu_takes_panels():
    """The CPU backend's assignment is the panel kernel (km_panels_new)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read().split()
    except OSError:
        return False
    return "avx512f" in flags and "avx512dq" in flags and os.environ.get("PROPSCORE_KMEANS_ASSIGN") != "blas"
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
        if cpu_takes_panels():  # the same dot products: the same bits
            assert c1.tobytes() == c2.tobytes()
