"""The layer rules of docs/ARCHITECTURE.md, checked on the sources:
- a file includes only headers of its own layer or of lower ones
  (cli > models, gen > stats > io > comm > kernels > core);
- only host/io includes hdf5.h; only host/comm includes mpi.h and nccl.h;
  CUDA headers only in kernels/, the CUDA backends and comm's NCCL transport;
- every CUDA kernel file (a .cu with __global__) has its CPU twin
  <name>_cpu.c in the same folder, including common/psmath.h when it does
  (benches, bench_*.cu beside their kernels, only fill their inputs);
- benches are at the kernels' level: kernels/ and host/core headers only.
The rules are also tested on small planted violations, so a rule that
stops seeing anything fails too."""
import os
import re

import pytest

SRC = os.environ.get("PROPSCORE_SRC", os.path.join(os.path.dirname(__file__), ".."))

# layer of a path under host/ or kernels/, by its first folders
LEVELS = {"host/core": 1, "kernels": 1.5, "host/comm": 2, "host/io": 2.5, "host/stats": 3, "host/models": 4,
          "host/gen": 4, "host/targeting": 4, "host/cli": 5}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
CUDA_HEADERS = ("cuda_runtime.h", "cuda_runtime_api.h", "cublas_v2.h", "cuda_bf16.h", "cuda.h")


def layer_of(rel):
    best = None
    for prefix, level in LEVELS.items():
        if rel == prefix or rel.startswith(prefix + "/"):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, level)
    return best[1] if best else None


def header_path(name):
    """Where a quoted include resolves: host/<name> or kernels/<name>."""
    for root in ("host", "kernels"):
        if os.path.exists(os.path.join(SRC, root, name)):
            return f"{root}/{name}"
    return None


def in_tree(base):
    """Is there a header of this name in host/ or kernels/?"""
    for top in ("host", "kernels"):
        for dirpath, _, files in os.walk(os.path.join(SRC, top)):
            if base in files:
                return True
    return False


def sources(root=SRC):
    for top in ("host", "kernels"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if f.endswith((".c", ".h", ".cu", ".cuh")):
                    path = os.path.join(dirpath, f)
                    yield os.path.relpath(path, root).replace(os.sep, "/"), open(path, errors="replace").read()


def violations(files):
    """Every broken rule in {relative path: text}, one line each."""
    out = []
    for rel, text in files.items():
        level = layer_of(rel)
        for kind, name in INCLUDE.findall(text):
            base = os.path.basename(name)
            if kind == "<":
                if base == "hdf5.h" and not rel.startswith("host/io/"):
                    out.append(f"{rel}: includes hdf5.h outside host/io")
                if base in ("mpi.h", "nccl.h") and not rel.startswith("host/comm/"):
                    out.append(f"{rel}: includes {base} outside host/comm")
                if base in CUDA_HEADERS and not (rel.startswith("kernels/") or rel.endswith("backend_cuda.c")
                                                 or rel == "host/comm/comm_nccl.c"):
                    out.append(f"{rel}: includes {base} outside kernels/ and the CUDA backends")
                continue
            target = header_path(name) if "/" in name else None
            if target is None:
                if "/" not in name and in_tree(base):
                    out.append(f"{rel}: includes \"{name}\" without its folder (write \"layer/{name}\")")
                continue
            tl = layer_of(target)
            if level is not None and tl is not None and tl > level:
                out.append(f"{rel}: includes {name}, a header of a higher layer")
        if rel.endswith(".cu") and "__global__" in text and not os.path.basename(rel).startswith("bench_"):
            twin = rel[:-3] + "_cpu.c"
            if twin not in files:
                out.append(f"{rel}: CUDA kernels without their CPU twin {twin}")
            elif "common/psmath.h" in text and "common/psmath.h" not in files[twin]:
                out.append(f"{twin}: does not use common/psmath.h as its kernel {rel} does")
    return out


def test_the_tree_keeps_the_rules():
    files = dict(sources())
    assert len(files) > 40
    bad = violations(files)
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("rel,text,expect", [
    ("host/models/x.c", "#include <hdf5.h>\n", "hdf5.h outside host/io"),
    ("host/stats/x.c", "#include <mpi.h>\n", "mpi.h outside host/comm"),
    ("host/io/x.c", "#include <nccl.h>\n", "nccl.h outside host/comm"),
    ("host/models/logreg/fit.c", "#include <cuda_runtime_api.h>\n", "outside kernels/"),
    ("host/core/x.c", '#include "io/h5.h"\n', "higher layer"),
    ("host/io/x.c", '#include "models/scorer.h"\n', "higher layer"),
    ("host/comm/x.c", '#include "io/h5.h"\n', "higher layer"),
    ("host/stats/x.c", '#include "util.h"\n', "without its folder"),
    ("kernels/common/x.h", "#include <nccl.h>\n", "nccl.h outside host/comm"),
    ("kernels/logreg/new.cu", '#include "common/psmath.h"\n__global__ void k() {}\n', "without their CPU twin"),
    ("kernels/logreg/bench_new.cu", '#include "models/logreg/backend.h"\n', "higher layer"),
    ("kernels/gbdt/bench_new.cu", '#include "comm/comm.h"\n', "higher layer"),
])
def test_planted_violations_are_seen(rel, text, expect):
    files = dict(sources())
    files[rel] = text
    assert any(expect in v for v in violations(files)), violations(files)


def test_a_bench_needs_no_twin():
    files = dict(sources())
    files["kernels/gbdt/bench_new.cu"] = '#include "common/bench_common.h"\n__global__ void fill() {}\n'
    assert not violations(files)
