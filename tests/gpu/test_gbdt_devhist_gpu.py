"""The trees' leaf round trip on the device (issue 28): the leaf histograms
kept on the device, summed across ranks by NCCL on device memory (int64
allreduce) when every rank has a GPU of its own, else through host memory
by MPI (PROPSCORE_NO_NCCL=1, ranks sharing a GPU, or NCCL's set-up failing:
the fallback), the larger child by subtraction and the split search (exact
and quantized histograms) on the device, the gradients and quantized words
made there from the scores kept there (grad_q.cu). train --device cuda writes the
CPU's model file byte for byte for P = 1, 2, 3 either way, exact and
--grad-bits 16/8/4, with bagging and feature subsampling, with a
histogram budget (--hist-memory) that keeps few or no parents, and with
categorical columns (the host path); the train log says which path summed
the histograms. Prints "no CUDA device" and is skipped without a GPU."""
import filecmp
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from pstest import gen, run  # noqa: E402
from test_categorical import make  # noqa: E402

version = run(1, "--version").stdout
if "cuda" not in version or "no CUDA device" in version:
    print("no CUDA device: GPU tests skipped")
    pytest.skip("no CUDA device", allow_module_level=True)
EMULATED = "cudasim" in version

ENV = {"SOURCE_DATE_EPOCH": "1700000000", "OPENBLAS_NUM_THREADS": "1"}
TREES = ["--model-type", "gbdt", "--trees", "8", "--num-leaves", "15"]
SAMPLED = ["--feature-fraction", "0.7", "--bagging-fraction", "0.8", "--bagging-freq", "2", "--max-depth", "5"]
NCCL_LINE = "summed across ranks by NCCL on device memory"
MPI_LINE = "summed across ranks through host memory by MPI (NCCL off)"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return gen(str(tmp_path_factory.mktemp("devhist") / "d.h5"), rows=5000, features=12)


def env_for(p, nccl, fail=None):
    """Every rank a GPU of its own (emulated), NCCL on or turned off."""
    e = dict(ENV, PROPSCORE_CUDASIM_DEVICES=str(p))
    if not nccl:
        e["PROPSCORE_NO_NCCL"] = "1"
    if fail:
        e["PROPSCORE_CUDASIM_NCCL_FAIL"] = fail
    return e


def train(p, data, model, device, env, *extra):
    return run(p, "train", "--data", data, "--model", model, *TREES, "--device", device, *extra, env=env)


def check(tmp_path, data, p, nccl, extra, fail=None):
    cpu, gpu = str(tmp_path / "cpu.h5"), str(tmp_path / "gpu.h5")
    train(p, data, cpu, "cpu", ENV, "--quiet", *extra)
    r = train(p, data, gpu, "cuda", env_for(p, nccl, fail), *extra)
    assert filecmp.cmp(cpu, gpu, shallow=False), r.stderr
    return r.stderr


CASES = [(1, True, []), (2, True, []), (3, True, []), (2, False, []), (3, False, []),
         (3, True, SAMPLED), (2, False, SAMPLED),
         (1, True, ["--grad-bits", "8"] + SAMPLED),  # every case: the gradients made on the device (grad_q.cu)
         (2, True, ["--grad-bits", "8"]), (3, True, ["--grad-bits", "4"] + SAMPLED), (3, True, ["--grad-bits", "16"]),
         (2, False, ["--grad-bits", "8"]), (3, False, ["--grad-bits", "4"]),
         (2, True, ["--hist-memory", "1K"]),  # no histogram kept: both children built, none subtracted
         (3, True, ["--hist-memory", "200K", "--grad-bits", "8"])]  # some kept, some not


@pytest.mark.parametrize("p,nccl,extra", CASES, ids=lambda v: "-".join(v) if isinstance(v, list) else str(v))
def test_model_bytes_match_cpu(data, tmp_path, p, nccl, extra):
    log = check(tmp_path, data, p, nccl, extra)
    if p > 1:  # the log names the path; NCCL only where asked for
        assert (NCCL_LINE in log, MPI_LINE in log) == (nccl, not nccl), log
        if EMULATED:
            assert ("comm: NCCL over" in log) == nccl, log
    else:
        assert NCCL_LINE not in log and MPI_LINE not in log, log


def test_nccl_setup_failure_sums_through_the_host(data, tmp_path):
    log = check(tmp_path, data, 3, True, ["--grad-bits", "8"], fail="1")
    assert "NCCL set-up failed on 1 of 3 ranks" in log and MPI_LINE in log, log


@pytest.mark.parametrize("p", [1, 3])
def test_categorical_columns(tmp_path, p):
    data = make(str(tmp_path / "c.h5"), n=3000)
    check(tmp_path, data, p, True, [])
