"""pstest.py: helpers for the command-line tests: run propscore under mpirun,
generate small datasets, read HDF5 with h5py."""
import glob
import os
import subprocess

BIN = os.environ.get("PROPSCORE_BIN", os.path.join(os.path.dirname(__file__), "../../build/propscore"))
SRC = os.environ.get("PROPSCORE_SRC", os.path.join(os.path.dirname(__file__), "../.."))
MPIEXEC = os.environ.get("MPIEXEC", "mpirun")
for k, v in {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
             "OMPI_MCA_rmaps_base_oversubscribe": "1"}.items():
    os.environ.setdefault(k, v)


def run(np_, *args, check=True, timeout=900, env=None):
    """propscore ARGS under mpirun -np NP; returns CompletedProcess (text)."""
    cmd = [MPIEXEC, "-n", str(np_), BIN] + [str(a) for a in args]
    e = dict(os.environ, **(env or {}))
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def gen(path, rows=20000, features=24, np_=1, seed=7, targets="purchase_3m,churn", extra=()):
    run(np_, "gen", "--out", path, "--rows", rows, "--features", features, "--seed", seed,
        "--targets", targets, "--quiet", *extra)
    return path


def error_line(p):
    """The single 'propscore: error:' line of a failed run."""
    lines = [l for l in p.stderr.splitlines() if l.startswith("propscore: error")]
    assert len(lines) == 1, f"expected one error line, got:\n{p.stderr}"
    return lines[0]


def leftovers(directory):
    """Temporary files a run left behind."""
    return glob.glob(os.path.join(str(directory), "*.tmp-*"))
