"""GPU placement on simulated nodes: two nodes of two ranks on one machine
(a hostfile and tests/gpu/fake_node.sh as Open MPI's rsh agent: each node's
ranks in a UTS namespace of their own, so MPI sees two hosts), with the
emulated device's GPUs of a node (PROPSCORE_CUDASIM_DEVICES) visible to the
ranks as a binding makes them: one a rank (CUDA_VISIBLE_DEVICES set per
rank, as srun --gpus-per-task=1 does), all of them, or fewer GPUs than
ranks. The train log's line per node gives its GPUs, the device memory
budget a rank and the NCCL decision; the models are the CPU's. NCCL's
set-up failing on some ranks (PROPSCORE_CUDASIM_NCCL_FAIL) falls back to
MPI on every rank, with one warning, and the model of MPI sums. Emulated
device only; skipped without Open MPI or `unshare --uts`."""
import filecmp
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "cli"))
from pstest import BIN, MPIEXEC, gen, run  # noqa: E402
from test_gpu_cli import ENV, EMULATED, FIT, rel  # noqa: E402  (skips the module without a device)

if not EMULATED:
    pytest.skip("simulated nodes need the emulated device", allow_module_level=True)
if not re.search(r"Open ?(MPI|RTE)", subprocess.run([MPIEXEC, "--version"], capture_output=True, text=True).stdout):
    pytest.skip("simulated nodes need Open MPI's rsh launcher", allow_module_level=True)
if subprocess.run(["unshare", "--uts", "true"], capture_output=True).returncode != 0:
    pytest.skip("simulated nodes need `unshare --uts` (root)", allow_module_level=True)

AGENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_node.sh")
NODES = ("nodea", "nodeb")
MEM_MIB = 64
# what a rank runs: propscore, or propscore with CUDA_VISIBLE_DEVICES set per rank
BIND = {"all": [], "rank": ["sh", "-c", 'CUDA_VISIBLE_DEVICES=$OMPI_COMM_WORLD_LOCAL_RANK exec "$0" "$@"'],
        "zero": ["sh", "-c", 'CUDA_VISIBLE_DEVICES=0 exec "$0" "$@"']}


def on_nodes(tmp_path, args, bind, devices, extra_env=None):
    """propscore ARGS on 2 simulated nodes x 2 ranks, each node with `devices` emulated GPUs."""
    hosts = tmp_path / "hosts"
    hosts.write_text("".join(f"{n} slots=2\n" for n in NODES))
    cmd = [MPIEXEC, "--hostfile", str(hosts), "--mca", "plm_rsh_agent", AGENT, "--mca", "btl_tcp_if_include", "lo",
           "--mca", "oob_tcp_if_include", "lo", "-n", "4", *BIND[bind], BIN, *args]
    env = dict(os.environ, **ENV, PROPSCORE_CUDASIM_DEVICES=str(devices), PROPSCORE_CUDASIM_MEM=f"{MEM_MIB}M",
               **(extra_env or {}))
    env.pop("CUDA_VISIBLE_DEVICES", None)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, f"{' '.join(cmd)} exited {r.returncode}\n{r.stderr}"
    return r


def node_lines(stderr, model="logreg"):
    """{node: (ranks, gpus, each, budget MiB, nccl)} from the train log."""
    pat = re.compile(model + r": node (\S+): (\d+) ranks? on (\d+) GPUs? \(([^)]*)\), device memory budget ([\d.]+) MiB "
                     r"a rank; NCCL sums: (\S+)")
    found = [m.groups() for m in pat.finditer(stderr)]
    assert sorted(f[0] for f in found) == list(NODES), stderr
    return {f[0]: (int(f[1]), int(f[2]), f[3], float(f[4]), f[5]) for f in found}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return gen(str(tmp_path_factory.mktemp("nodes") / "d.h5"), rows=4000, features=10)


@pytest.fixture(scope="module")
def cpu_model(data, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("cpu") / "cpu.h5")
    run(4, "train", "--data", data, "--model", path, "--device", "cpu", "--solver", "lbfgs", *FIT, "--quiet", env=ENV)
    return path


def train(data, model):
    return ["train", "--data", data, "--model", model, "--device", "cuda", "--solver", "lbfgs", *FIT]


# bind, GPUs a node has -> GPUs counted on a node, ranks a GPU, NCCL
CASES = [("rank", 2, 2, "a GPU each", "on"),  # srun --gpus-per-task=1: before, 2 ranks / 1 visible GPU = shared
         ("all", 2, 2, "a GPU each", "on"),
         ("all", 1, 1, "up to 2 ranks a GPU", "off"),
         ("zero", 1, 1, "up to 2 ranks a GPU", "off")]


@pytest.mark.parametrize("bind,devices,gpus,each,nccl", CASES)
def test_binding(data, cpu_model, tmp_path, bind, devices, gpus, each, nccl):
    model = str(tmp_path / "m.h5")
    r = on_nodes(tmp_path, train(data, model), bind, devices)
    assert ("NCCL over 4 ranks" in r.stderr) == (nccl == "on"), r.stderr
    share = 2 if "up to" in each else 1
    for node, (ranks, g, e, budget, n) in node_lines(r.stderr).items():
        assert (ranks, g, e, n) == (2, gpus, each, nccl), r.stderr
        # 80% of the free memory, divided among the ranks on one GPU
        assert 0.7 * MEM_MIB / share < budget <= 0.8 * MEM_MIB / share, r.stderr
    assert "exceed --gpu-mem-limit" not in r.stderr  # resident on the device
    assert rel(cpu_model, model) < 1e-9


def test_gbdt_budget_per_rank_binding(data, tmp_path):
    model = str(tmp_path / "g.h5")
    r = on_nodes(tmp_path, ["train", "--data", data, "--model", model, "--device", "cuda", "--model-type", "gbdt",
                            "--trees", "3"], "rank", 2)
    for ranks, g, e, budget, n in node_lines(r.stderr, "gbdt").values():
        assert (ranks, g, e) == (2, 2, "a GPU each") and budget > 0.7 * MEM_MIB, r.stderr


@pytest.mark.parametrize("fail", ["1", "all"])
def test_nccl_setup_failure_falls_back_to_mpi(data, tmp_path, fail):
    mpi = str(tmp_path / "mpi.h5")
    on_nodes(tmp_path, train(data, mpi), "rank", 2, {"PROPSCORE_NO_NCCL": "1"})
    model = str(tmp_path / "fallback.h5")
    r = on_nodes(tmp_path, train(data, model), "rank", 2, {"PROPSCORE_CUDASIM_NCCL_FAIL": fail})
    warnings = [l for l in r.stderr.splitlines() if "warning" in l]
    nfail = 4 if fail == "all" else 1
    assert len(warnings) == 1 and f"NCCL set-up failed on {nfail} of 4 ranks" in warnings[0], r.stderr
    assert f"({'rank 0' if fail == 'all' else 'rank 1'}: ncclCommInitRank" in warnings[0], r.stderr
    assert "NCCL over" not in r.stderr
    assert all(n == "off" for *_, n in node_lines(r.stderr).values()), r.stderr
    assert filecmp.cmp(mpi, model, shallow=False)
