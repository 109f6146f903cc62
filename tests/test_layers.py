"""The layer rules of docs/ARCHITECTURE.md, checked on the sources:
- a file includes only headers of its own layer or of lower ones
  (cli > models, gen > stats > io > comm > kernels > core);
- only host/io includes hdf5.h; only host/comm includes mpi.h and nccl.h;
  CUDA headers only in kernels/, the CUDA backends and comm's NCCL transport;
- every CUDA kernel file (a .cu with __global__) has its CPU twin (<name>_cpu.c,
  or the twin a variant names in its top comment: "(issue N; twin: x_cpu.c")
  <name>_cpu.c in the same folder, including common/psmath.h when it does
  (benches, bench_*.cu beside their kernels, only fill their inputs);
- benches are at the kernels' level: kernels/ and host/core headers only;
- within one layer a file includes headers of its own folder, of a folder
  above it or of kernels/common; any other same-layer include (sibling
  folders: targeting -> models, models/logreg -> models/gbdt) is one of
  SAME_LAYER_ALLOWED;
- no cycles among modules (a .c, .cu and its .h are one module): neither in
  the graph of includes nor in the graph of calls (a module calls a function
  defined, not static, in exactly one other module), except CYCLES_ALLOWED;
- no local prototype: a file-scope declaration in a .c of a function that
  another file defines (it escapes the compiler's check against the header);
- the compute library (CMakeLists.txt: ps_compute_obj and pscore_local, the
  one unit tests link) compiles no host/io source.
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


def header_path(name, files):
    """Where a quoted include resolves: host/<name> or kernels/<name>."""
    for root in ("host", "kernels"):
        if f"{root}/{name}" in files:
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


# Same-layer includes between folders that the folder rule does not allow
# (own folder, a folder above, kernels/common), as they are today.
SHARED_FOLDERS = ("kernels/common",)
SAME_LAYER_ALLOWED = set()

# Module cycles as they are today, each the exact set of modules in it.
CYCLES_ALLOWED = []

FUNCTION = re.compile(r"^(?![\s#])(?!typedef\b|return\b|else\b|struct\b[^(]*\{)([A-Za-z_][\w \t\n*]*?)\b([A-Za-z_]\w*)"
                      r"\s*\(((?:[^;{}()]|\([^()]*\))*)\)\s*(?:__attribute__\s*\(\(.*?\)\)\s*)?([;{])", re.M)
CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


def folder_may_include(rel, target):
    folder, tfolder = os.path.dirname(rel), os.path.dirname(target)
    return folder == tfolder or folder.startswith(tfolder + "/") or tfolder in SHARED_FOLDERS


def module(rel):
    return os.path.splitext(rel)[0]


def code(text):
    """The text without comments and string literals."""
    text = re.sub(r"/\*.*?\*/|//[^\n]*", " ", text, flags=re.S)
    return re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', text)


def functions(files):
    """({name: files defining it, not static}, {file: names it declares at file scope})."""
    defs, protos = {}, {}
    for rel, text in files.items():
        for m in FUNCTION.finditer(code(text)):
            kind, name = m.group(4), m.group(2)
            if kind == "{" and not re.search(r"\bstatic\b", m.group(1)):
                defs.setdefault(name, set()).add(rel)
            elif kind == ";":
                protos.setdefault(rel, set()).add(name)
    return defs, protos


def module_graphs(files):
    """Two graphs over modules: includes, and calls to a function whose one
    (non-static) definition is in another module."""
    inc, calls = {}, {}
    defs, _ = functions(files)
    for rel, text in files.items():
        for kind, name in INCLUDE.findall(text):
            target = header_path(name, files) if kind == '"' and "/" in name else None
            if target and module(target) != module(rel):
                inc.setdefault(module(rel), set()).add(module(target))
        if rel.endswith((".c", ".cu")):
            for name in set(CALL.findall(code(text))):
                where = {module(d) for d in defs.get(name, ())}
                if len(where) == 1 and module(rel) not in where:
                    calls.setdefault(module(rel), set()).update(where)
    return inc, calls


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while not comp or v not in comp:
                comp.add(stack.pop())
            on.difference_update(comp)
            if len(comp) > 1:
                out.append(comp)

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def cycle_violations(files):
    out = []
    for what, graph in zip(("includes", "calls"), module_graphs(files)):
        for comp in cycles(graph):
            if comp not in CYCLES_ALLOWED:
                out.append(f"cycle of {what} among modules: {' '.join(sorted(comp))}")
    return out


def prototype_violations(files):
    defs, protos = functions(files)
    out = []
    for rel, names in protos.items():
        if rel.endswith((".c", ".cu")):
            for name in sorted(names):
                elsewhere = sorted(defs.get(name, set()) - {rel})
                if elsewhere:
                    out.append(f"{rel}: local prototype of {name}, defined in {elsewhere[0]} (include its header)")
    return out


def cmake_commands(text):
    """[(command, [arguments])] of a CMake file; comments dropped."""
    text = re.sub(r"#[^\n]*", "", text)
    out = []
    for m in re.finditer(r"\b(\w+)\s*\(", text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        out.append((m.group(1).lower(), text[m.end():i - 1].split()))
    return out


def library_sources(text, target, root=SRC):
    """The sources a CMake target compiles, following variables, globs and
    $<TARGET_OBJECTS:...> (a generator expression's path counts as compiled)."""
    import glob
    variables, targets = {}, {}
    for cmd, args in cmake_commands(text):
        if cmd == "set" and args:
            variables[args[0]] = args[1:]
        elif cmd == "file" and args[:1] == ["GLOB"]:
            pats = [a for a in args[2:] if a != "CONFIGURE_DEPENDS"]
            variables[args[1]] = sorted(os.path.relpath(f, root).replace(os.sep, "/")
                                        for p in pats for f in glob.glob(os.path.join(root, p)))
        elif cmd in ("ps_object", "add_library") and args:
            targets[args[0]] = [a for a in args[1:] if a not in ("STATIC", "OBJECT", "SHARED")]

    def expand(args, seen):
        for a in args:
            var = re.fullmatch(r"\$\{(\w+)\}", a)
            objs = re.fullmatch(r"\$<TARGET_OBJECTS:(\w+)>", a)
            if var:
                yield from expand(variables.get(var.group(1), []), seen)
            elif objs and objs.group(1) not in seen:
                yield from expand(targets.get(objs.group(1), []), seen | {objs.group(1)})
            elif a.startswith("$<"):
                yield a.rstrip(">").rsplit(":", 1)[-1]
            else:
                yield a
    return sorted(set(expand(targets.get(target, []), {target})))


COMPUTE_TARGETS = ("ps_compute_obj", "pscore_local")


def compute_violations(cmake_text):
    out = []
    for target in COMPUTE_TARGETS:
        srcs = library_sources(cmake_text, target)
        if "host/models/gbdt/grow.c" not in srcs:
            out.append(f"CMakeLists.txt: cannot read the sources of {target} (the test's parser is out of date)")
        out += [f"CMakeLists.txt: {target} compiles {s}, an io/ source" for s in srcs if s.startswith("host/io/")]
    return out


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
            target = header_path(name, files) if "/" in name else None
            if target is None:
                if "/" not in name and in_tree(base):
                    out.append(f"{rel}: includes \"{name}\" without its folder (write \"layer/{name}\")")
                continue
            tl = layer_of(target)
            if level is not None and tl is not None and tl > level:
                out.append(f"{rel}: includes {name}, a header of a higher layer")
            elif level is not None and tl == level and not folder_may_include(rel, target) \
                    and (rel, target) not in SAME_LAYER_ALLOWED:
                out.append(f"{rel}: same-layer include of {name} from another folder (not in SAME_LAYER_ALLOWED)")
        if rel.endswith(".cu") and "__global__" in text and not os.path.basename(rel).startswith("bench_"):
            twin = rel[:-3] + "_cpu.c"
            named = re.search(r"\(issue \d+; twin: (\w+_cpu\.c)", text[:400])  # a variant of a kernel: its twin named on top
            if named:
                twin = os.path.join(os.path.dirname(rel), named.group(1))
            if twin not in files:
                out.append(f"{rel}: CUDA kernels without their CPU twin {twin}")
            elif "common/psmath.h" in text and "common/psmath.h" not in files[twin]:
                out.append(f"{twin}: does not use common/psmath.h as its kernel {rel} does")
    return out + cycle_violations(files) + prototype_violations(files)


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
    ("host/targeting/x.c", '#include "models/score.h"\n', "same-layer include"),
    ("host/models/logreg/x.c", '#include "models/gbdt/model.h"\n', "same-layer include"),
    ("kernels/gbdt/x.c", '#include "logreg/logreg_cpu.h"\n', "same-layer include"),
    ("host/models/x.c", "ps_h5_t h5_open(const char *path, int parallel);\n", "local prototype of h5_open"),
    ("host/models/gbdt/x.c", "extern void\ngrow_tree(int n);\n", "local prototype of grow_tree"),
    ("kernels/logreg/bench_new.cu", '#include "models/logreg/backend.h"\n', "higher layer"),
    ("kernels/gbdt/bench_new.cu", '#include "comm/comm.h"\n', "higher layer"),
])
def test_planted_violations_are_seen(rel, text, expect):
    files = dict(sources())
    files[rel] = text
    assert any(expect in v for v in violations(files)), violations(files)


def test_planted_same_layer_includes_that_are_fine():
    files = dict(sources())
    files["host/models/gbdt/x.c"] = '#include "models/scorer.h"\n#include "gbdt/grow.h"\n'
    files["kernels/kmeans/x.c"] = '#include "common/psmath.h"\n'
    files["host/models/y.c"] = "static int later(int n);\nstatic int later(int n) { return n; }\n"
    assert not violations(files)


@pytest.mark.parametrize("planted,expect", [
    ({"host/stats/zz_a.h": '#include "stats/zz_b.h"\n', "host/stats/zz_b.c": '#include "stats/zz_a.h"\n',
      "host/stats/zz_b.h": ""}, "cycle of includes among modules: host/stats/zz_a host/stats/zz_b"),
    ({"host/stats/zz_a.c": "int zz_a(int n) { return n ? zz_b(n - 1) : 0; }\n",
      "host/stats/zz_b.c": "int zz_b(int n) { return zz_a(n); }\n"}, "cycle of calls among modules"),
    ({"host/models/zz.c": "void zz(void) { scorer_close(0); }\n",
      "host/models/scorer.c": "void up(void) { zz(); }\n"},
     "cycle of calls among modules: host/models/scorer host/models/zz"),
])
def test_planted_cycles_are_seen(planted, expect):
    files = dict(sources())
    for rel, text in planted.items():
        files[rel] = files.get(rel, "") + text
    assert any(expect in v for v in violations(files)), violations(files)


def test_the_compute_library_has_no_io():
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        text = f.read()
    assert not compute_violations(text)
    planted = text.replace("set(PS_COMPUTE_SRC\n", "set(PS_COMPUTE_SRC host/io/output.c\n", 1)
    assert planted != text
    assert "CMakeLists.txt: ps_compute_obj compiles host/io/output.c, an io/ source" in compute_violations(planted)
    assert "CMakeLists.txt: pscore_local compiles host/io/output.c, an io/ source" in compute_violations(planted)
def test_a_bench_needs_no_twin():
    files = dict(sources())
    files["kernels/gbdt/bench_new.cu"] = '#include "common/bench_common.h"\n__global__ void fill() {}\n'
    assert not violations(files)
