"""pstest.py: helpers for the command-line tests: run propscore under mpirun,
generate small datasets, read HDF5 with h5py."""
import glob
import hashlib
import os
import subprocess
import sys

BIN = os.environ.get("PROPSCORE_BIN", os.path.join(os.path.dirname(__file__), "../../build/propscore"))
SRC = os.environ.get("PROPSCORE_SRC", os.path.join(os.path.dirname(__file__), "../.."))
MPIEXEC = os.environ.get("MPIEXEC", "mpirun")
for k, v in {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
             "OMPI_MCA_rmaps_base_oversubscribe": "1"}.items():
    os.environ.setdefault(k, v)
# eval --report runs scripts/report.py with $PROPSCORE_PYTHON (default: python3
# on PATH, which under ctest + pyenv can be a Python without matplotlib): the
# tests' own interpreter, which has every oracle package
os.environ.setdefault("PROPSCORE_PYTHON", sys.executable)


def run(np_, *args, check=True, timeout=900, env=None):
    """propscore ARGS under mpirun -np NP; returns CompletedProcess (text)."""
    cmd = [MPIEXEC, "-n", str(np_), BIN] + [str(a) for a in args]
    e = dict(os.environ, **(env or {}))
    p = subprocess.run(cmd, capture_output=True, text=True, errors="backslashreplace", timeout=timeout, env=e)
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


def digest(path):
    """SHA-256 of a file: inputs must come out of a run unchanged."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def leftovers(directory):
    """Temporary files a run left behind."""
    return glob.glob(os.path.join(str(directory), "*.tmp-*"))


def _mix64(z):
    import numpy as np
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def validation_mask(ids, holdout=0.2, salt=0x5EED):
    """The train/validation split of host/rng.h (ps_id_unit), in numpy."""
    import numpy as np
    u = (_mix64(_mix64(ids.astype(np.int64).view(np.uint64)) ^ np.uint64(salt)) >> np.uint64(11)).astype(np.float64)
    return u * 2.0 ** -53 < holdout


def load_model(path):
    import h5py
    with h5py.File(path) as m:
        out = {k: m[k][...] for k in ("weights", "bias", "standardize/mean", "standardize/scale", "columns/source",
                                      "columns/kind")}
        out["targets"] = [t.decode() for t in m["targets"][...]]
        out["attrs"] = dict(m.attrs)
        out["metrics"] = {t: dict(m["metrics"][t].attrs) for t in out["targets"]}
    return out


def standardize(X, model):
    """Model columns from raw features, as psmath.h's ps_standardize (float64)."""
    import numpy as np
    src, kind = model["columns/source"], model["columns/kind"]
    V = X[:, src].astype(np.float64)
    miss = ~np.isfinite(V)
    V = np.where(kind == 1, miss.astype(np.float64), V)
    S = (V - model["standardize/mean"]) * model["standardize/scale"]
    return np.where((kind == 0) & miss, 0.0, S)


def planted_counts(beta, n=6000, f=48, seed=5):
    """n rows x f count columns (20% stored), a logit on beta's nonzero columns: (scipy CSR X, labels, ids)."""
    import numpy as np
    import scipy.sparse as sp
    rng = np.random.default_rng(seed)
    X = sp.random(n, f, density=0.2, format="csr", random_state=rng,
                  data_rvs=lambda k: 1.0 + np.floor(rng.exponential(size=k))).astype(np.float32)
    p = 1 / (1 + np.exp(-(X @ np.asarray(beta, dtype=np.float64) - 1.0)))
    y = (rng.random(n) < p).astype(np.uint8)
    return X, y, np.arange(1, n + 1, dtype=np.int64) * 7919


def write_features(path, X, y, ids, layout="csr", target="buy"):
    """A features file of scipy CSR X as /features_csr or dense /features, ids and one label."""
    import h5py
    import numpy as np
    with h5py.File(path, "w") as g:
        g.attrs["schema_version"] = 1
        g.attrs["kind"] = "features"
        if layout == "csr":
            g["/features_csr/indptr"] = X.indptr.astype(np.int64)
            g["/features_csr/indices"] = X.indices.astype(np.int32)
            g["/features_csr/data"] = X.data
        else:
            g["/features"] = X.toarray()
        g["/customer_id"] = ids
        g["/feature_names"] = [f"c{j}".encode() for j in range(X.shape[1])]
        g[f"/labels/{target}"] = y
    return path
