"""Trees over a CSR file on the device (issue 30): `train --device cuda` on a
CSR file uploads the training rows' sparse bins once
(host/models/gbdt/sparse_backend_cuda.c), builds each leaf's histogram from
the kept bins with each zero bin = the leaf's totals - the rest
(kernels/gbdt/hist_sparse.cu), partitions the sparse rows on the device
(partition.cu) and writes the CPU's model file byte for byte: P = 1 and 3
(NCCL and the MPI fallback), exact and --grad-bits 8, bagging and feature
fraction; --device auto picks the GPU. Prints "no CUDA device" and is
skipped without a GPU."""
import filecmp
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from pstest import run  # noqa: E402
from test_csr import write_csr  # noqa: E402
from test_csr_gbdt import tricky_matrix  # noqa: E402

version = run(1, "--version").stdout
if "cuda" not in version or "no CUDA device" in version:
    print("no CUDA device: GPU tests skipped")
    pytest.skip("no CUDA device", allow_module_level=True)

ENV = {"SOURCE_DATE_EPOCH": "1700000000", "OPENBLAS_NUM_THREADS": "1"}
TREES = ["--model-type", "gbdt", "--trees", "5", "--num-leaves", "15", "--min-data-in-leaf", "10"]
VARIANTS = {
    "exact": ("--grad-bits", "exact"),
    "bits8_bag_ff": ("--grad-bits", "8", "--bagging-fraction", "0.7", "--bagging-freq", "2",
                     "--feature-fraction", "0.6"),
}


@pytest.fixture(scope="module")
def csr(tmp_path_factory):
    X, M, labels = tricky_matrix(n=2000, f=30)
    names = [f"f{j}".encode() for j in range(X.shape[1])]
    ids = np.arange(10, 10 + X.shape[0], dtype=np.int64) * 7
    return write_csr(str(tmp_path_factory.mktemp("csrgbdt") / "c.h5"), M, ids, names, labels)


def train(p, data, model, device, env, *extra):
    return run(p, "train", "--data", data, "--model", model, *TREES, "--device", device, *extra, env=env)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("p,nccl", [(1, True), (3, True), (3, False)])
def test_cuda_writes_the_cpu_model(csr, tmp_path, variant, p, nccl):
    cpu, gpu = str(tmp_path / "cpu.h5"), str(tmp_path / "gpu.h5")
    train(p, csr, cpu, "cpu", ENV, "--quiet", *VARIANTS[variant])
    env = dict(ENV, PROPSCORE_CUDASIM_DEVICES=str(p))
    if not nccl:
        env["PROPSCORE_NO_NCCL"] = "1"
    r = train(p, csr, gpu, "cuda", env, *VARIANTS[variant])
    assert "CSR rows binned sparse" in r.stdout + r.stderr
    assert filecmp.cmp(cpu, gpu, shallow=False), r.stderr


def test_auto_picks_the_gpu(csr, tmp_path):
    cpu, auto = str(tmp_path / "cpu.h5"), str(tmp_path / "auto.h5")
    train(1, csr, cpu, "cpu", ENV, "--quiet")
    r = train(1, csr, auto, "auto", ENV)
    assert "device cuda" in r.stdout + r.stderr
    assert filecmp.cmp(cpu, auto, shallow=False)


@pytest.mark.parametrize("p", [1, 3])
def test_cuda_scores_csr_rows_as_the_cpu(csr, tmp_path, p):
    """score --device cuda on a CSR file: the stored values go up and are
    scattered into a tile of dense rows kept zero (kernels/gbdt/csr_tile.cu),
    never a block made dense on the host: the CPU's score bits; tiles of 100
    rows, so a 700-row block takes 7 tiles and the last one is partial."""
    import h5py
    model = str(tmp_path / "m.h5")
    train(1, csr, model, "cpu", ENV, "--quiet")
    out = {}
    for dev in ("cpu", "cuda"):
        path = str(tmp_path / f"s_{dev}.h5")
        env = dict(ENV, PROPSCORE_CUDASIM_DEVICES=str(p), PROPSCORE_CSR_TILE_ROWS="100")
        r = run(p, "score", "--data", csr, "--model", model, "--out", path, "--device", dev, "--block-rows", "700",
                env=env)
        assert ("rows a tile of dense rows kept zero" in r.stdout + r.stderr) == (dev == "cuda")
        where = "(on the device)" if dev == "cuda" else "(CPU)"
        assert f"CSR rows scored from the stored values {where}" in r.stdout + r.stderr
        with h5py.File(path) as s:
            out[dev] = {t: s[f"scores/{t}"][...] for t in s["scores"]}
    assert out["cpu"] and sorted(out["cpu"]) == sorted(out["cuda"])
    for t in out["cpu"]:
        assert np.array_equal(out["cpu"][t].view(np.uint32), out["cuda"][t].view(np.uint32)), t
