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
categorical columns, whose category sets are searched on the device too
(split_cat.cu: one-vs-rest, sorted sets, zero-row categories, the five
categorical options; P = 1, 2, 3, exact and --grad-bits 8, NCCL on and
off); the train log says which path summed the histograms and that the
sets were searched on the device. Prints "no CUDA device" and is skipped
without a GPU."""
import filecmp
import os
import sys

import h5py
import numpy as np
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
CAT_LINE = "categorical features' category sets searched on the device"


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


def make_cats(path, n=4000, seed=5):
    """Two categorical columns -- 3 categories (one-vs-rest) and 40 with
    skewed counts, codes 30..39 never used (zero-row categories), a
    planted set -- between numeric ones, NaN in each."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 3, n).astype(np.float32)
    big = np.floor(30 * rng.random(n) ** 2).astype(np.float32)
    for c in (small, big):
        c[rng.random(n) < 0.03] = np.nan
    x = rng.normal(size=(n, 2)).astype(np.float32)
    logit = -1.5 + 2.5 * np.isin(big, [1, 4, 9, 16, 22]) + 0.8 * (small == 2) + 0.7 * x[:, 0]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.uint8)
    with h5py.File(path, "w") as h:
        h.attrs["schema_version"] = np.int64(1)
        h.attrs["kind"] = "features"
        h["features"] = np.stack([x[:, 0], small, big, x[:, 1]], axis=1)
        h["customer_id"] = np.arange(n, dtype=np.int64) * 3 + 2
        h["feature_names"] = np.array([b"x1", b"tier", b"region", b"x2"])
        h["labels/buy"] = y
        g = h.create_group("categorical")
        g["columns"] = np.array([1, 2], dtype=np.int64)
        g["offsets"] = np.array([0, 3, 43], dtype=np.int64)
        g["names"] = np.array([f"c{c}".encode() for c in range(43)])
    return path


CAT_OPTS = ["--max-cat-threshold", "3", "--min-data-per-group", "40", "--cat-smooth", "0", "--cat-l2", "1",
            "--max-cat-to-onehot", "2"]
CAT_CASES = [(1, True, []), (2, True, []), (2, False, []),
             (1, True, ["--grad-bits", "8"]), (2, True, ["--grad-bits", "8"]), (2, False, ["--grad-bits", "8"]),
             (2, True, CAT_OPTS), (2, False, CAT_OPTS + ["--grad-bits", "8"] + SAMPLED)]


@pytest.mark.parametrize("p,nccl,extra", CAT_CASES, ids=lambda v: "-".join(v) if isinstance(v, list) else str(v))
def test_categorical_columns(tmp_path, p, nccl, extra):
    data = make_cats(str(tmp_path / "c.h5"))
    log = check(tmp_path, data, p, nccl, extra)
    assert CAT_LINE in log, log
    with h5py.File(str(tmp_path / "gpu.h5")) as m:  # sets were chosen: the search ran, not only numeric splits
        assert (m["trees/buy"]["cat_index"][...] >= 0).any()


def test_categorical_planted_set(tmp_path):
    """test_categorical.py's data (a planted set of 4 of 12 categories): the same bytes, the set on the device."""
    data = make(str(tmp_path / "c.h5"), n=3000)
    assert CAT_LINE in check(tmp_path, data, 1, True, [])


@pytest.mark.parametrize("nccl,bagged", [(True, False), (False, False), (True, True)])
def test_a_tree_copies_only_small_values(data, tmp_path, nccl, bagged):
    """Issue 28: with the training scores on the device, a tree's leaf
    numbers and score additions stay there -- no copy of a row's worth
    between device and host a tree, only the training scores down once a
    head (get_scores, 8 bytes a row) -- and the gradients' loss sum and
    |g|, h maxima (the quantization's steps) cross ranks on the device by
    NCCL (ncclAllReduce sum and max) when NCCL carries the histograms, by
    MPI when it does not; a bagged tree's rows out of the bag get their
    leaves on the device too (no scores up again a tree, only the bag's 1
    byte a row). Counted by the emulator's copy and NCCL trace."""
    if not EMULATED:
        pytest.skip("the copy trace is the emulator's")
    gpu, trace = str(tmp_path / "gpu.h5"), tmp_path / "trace"
    env = dict(env_for(3, nccl), PROPSCORE_CUDASIM_TRACE=str(trace))
    train(3, data, gpu, "cuda", env, "--grad-bits", "8", "--quiet", *(SAMPLED if bagged else []))
    with h5py.File(gpu) as m:
        heads = len(m["trees"])
    per = {}
    for line in trace.read_text().splitlines():
        pid, what = line.split(" ", 1)
        per.setdefault(pid, []).append(what.split())
    assert len(per) == 3
    for pid, ops in per.items():
        big = [o for o in ops if o[0] == "DeviceToHost" and "gbdt/backend_cuda.c" in o[2] and int(o[1]) > 256]
        sizes = [int(o[1]) for o in big]  # the bins of the one block binned at load, the scores once a head
        assert len(big) <= heads + 1 and all(sizes.count(z) <= heads for z in sizes), big
        up = [(int(o[1]), o[2]) for o in ops if o[0] == "HostToDevice" and "gbdt/backend_cuda.c" in o[2]
              and int(o[1]) > 256]
        # the same upload more than once a head: only the bag (a byte a row; the scores came down at 8 a row)
        assert all(up.count(u) <= heads or 8 * u[0] in sizes for u in up), (up, sizes)
        maxima = [o for o in ops if o[:3] == ["ncclAllReduce", "max", "2"]]  # a tree's |g|, h maxima
        sums = [o for o in ops if o[:3] == ["ncclAllReduce", "sum", "1"]]  # its loss sum
        if nccl:
            assert maxima and len(maxima) == len(sums), ops
        else:
            assert not [o for o in ops if o[0] == "ncclAllReduce"]
