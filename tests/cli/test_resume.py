"""Stop (SIGTERM/SIGUSR1) and resume: train and score end bitwise identical
to runs that were never stopped; the previous outputs stay until then."""
import filecmp
import glob
import os
import shutil
import signal
import subprocess
import time

import pytest

from pstest import BIN, MPIEXEC, digest, error_line, gen, run

ENV = {"SOURCE_DATE_EPOCH": "1700000000"}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return gen(str(tmp_path_factory.mktemp("resume") / "d.h5"), rows=60000, features=24, np_=2)


@pytest.mark.parametrize("solver,p,at", [("lbfgs", 2, 7), ("newton", 3, 2), ("lbfgs", 1, 1)])
def test_train_stop_and_resume_is_bitwise(data, tmp_path, solver, p, at):
    ref = str(tmp_path / "ref.h5")
    run(p, "train", "--data", data, "--model", ref, "--solver", solver, "--quiet", env=ENV)
    model = str(tmp_path / "m.h5")
    shutil.copy(ref, model)                      # a "previous month" model in place
    before = digest(model)
    # fault injection: rank 0 alone raises SIGTERM at pass N; all ranks must agree to stop
    r = run(p, "train", "--data", data, "--model", model, "--solver", solver, "--quiet", check=False,
            env=dict(ENV, PROPSCORE_FAULT_STOP=f"pass:{at}"))
    assert r.returncode == 75, r.stderr
    assert "run the same command again to resume" in r.stdout
    assert os.path.exists(model + ".ckpt") and digest(model) == before  # previous model untouched
    # tamper with it? no: resume exactly
    out = run(p, "train", "--data", data, "--model", model, "--solver", solver, env=ENV)
    assert "resumed at iteration" in out.stderr
    assert not os.path.exists(model + ".ckpt")
    assert filecmp.cmp(ref, model, shallow=False), "resumed model differs from the uninterrupted one"


def test_checkpoint_of_another_run_is_refused(data, tmp_path):
    model = str(tmp_path / "m.h5")
    r = run(2, "train", "--data", data, "--model", model, "--quiet", check=False,
            env={"PROPSCORE_FAULT_STOP": "pass:3"})
    assert r.returncode == 75
    r = run(2, "train", "--data", data, "--model", model, "--l2", "0.5", check=False)
    assert r.returncode == 1
    assert "checkpoint of a different run (this run has l2=0.5)" in error_line(r)


def test_real_signal_to_the_job(tmp_path):
    """SIGUSR1 to mpirun (forwarded to every rank), as Slurm's --signal=B:USR1 does."""
    data = gen(str(tmp_path / "big.h5"), rows=300000, features=48, np_=2)
    ref, model = str(tmp_path / "ref.h5"), str(tmp_path / "m.h5")
    args = ["train", "--data", data, "--solver", "lbfgs", "--tol", "1e-12", "--ftol", "0"]
    run(2, *args, "--model", ref, "--quiet", env=ENV)
    env = dict(os.environ, **ENV)
    proc = subprocess.Popen([MPIEXEC, "-n", "2", BIN, *args, "--model", model], stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    for line in proc.stderr:               # wait until it iterates, then signal
        if " iter " in line:
            break
    proc.send_signal(signal.SIGUSR1)
    rest, _ = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("training finished before the signal arrived")
    assert proc.returncode == 75
    run(2, *args, "--model", model, "--quiet", env=ENV)
    assert filecmp.cmp(ref, model, shallow=False)


@pytest.mark.parametrize("p", [2, 3])
def test_score_stop_and_resume_is_bitwise(data, tmp_path, p):
    model = str(tmp_path / "m.h5")
    run(2, "train", "--data", data, "--model", model, "--quiet", env=ENV)
    ref, out = str(tmp_path / "ref.h5"), str(tmp_path / "s.h5")
    args = ["score", "--data", data, "--model", model, "--block-rows", "2000", "--quiet"]
    run(p, *args, "--out", ref, env=ENV)
    shutil.copy(ref, out)                        # previous scores in place
    with open(out, "r+b") as f:                  # ... make them distinguishable
        f.seek(0, 2)
        f.write(b"previous")
    before = digest(out)
    r = run(p, *args, "--out", out, check=False, env=dict(ENV, PROPSCORE_FAULT_STOP="block:4"))
    assert r.returncode == 75, r.stderr
    partials = glob.glob(out + ".partial-*")
    assert len(partials) == 2 and digest(out) == before   # the partial and its progress; previous scores intact
    r = run(p, *args[:-1], "--out", out, env=ENV)
    assert "resuming" in r.stderr
    assert not glob.glob(out + ".partial-*") and not os.path.exists(out + ".lock")
    assert filecmp.cmp(ref, out, shallow=False), "resumed scores differ from the uninterrupted ones"


def test_score_restarts_when_partial_is_from_another_job(data, tmp_path):
    model = str(tmp_path / "m.h5")
    run(2, "train", "--data", data, "--model", model, "--quiet", env=ENV)
    out = str(tmp_path / "s.h5")
    r = run(2, "score", "--data", data, "--model", model, "--out", out, "--block-rows", "3000", check=False,
            env=dict(ENV, PROPSCORE_FAULT_STOP="block:3"))
    assert r.returncode == 75
    # other block size: the partial cannot be continued, so it starts over
    run(2, "score", "--data", data, "--model", model, "--out", out, "--block-rows", "5000", "--quiet", env=ENV)
    ref = str(tmp_path / "ref.h5")
    run(2, "score", "--data", data, "--model", model, "--out", ref, "--block-rows", "5000", "--quiet", env=ENV)
    import h5py
    import numpy as np
    with h5py.File(out) as a, h5py.File(ref) as b:
        for t in a["scores"]:
            assert np.array_equal(a["scores"][t][...], b["scores"][t][...])


def test_long_fingerprint_trains_and_resumes(tmp_path):
    """Many long target names: the run fingerprint once overflowed a 4 KB buffer."""
    import h5py
    import numpy as np
    data = gen(str(tmp_path / "d.h5"), rows=3000, features=6)
    names = [f"product_line_{i:02d}_" + "x" * 90 for i in range(45)]
    rng = np.random.default_rng(5)
    with h5py.File(data, "r+") as h:
        for n in names:
            h["labels"][n] = (rng.random(3000) < 0.3).astype(np.uint8)
    targets = ",".join(names)
    ref, model = str(tmp_path / "ref.h5"), str(tmp_path / "m.h5")
    args = ["train", "--data", data, "--targets", targets, "--solver", "lbfgs", "--quiet"]
    run(2, *args, "--model", ref, env=ENV)
    r = run(2, *args, "--model", model, check=False, env=dict(ENV, PROPSCORE_FAULT_STOP="pass:3"))
    assert r.returncode == 75, r.stderr
    run(2, *args, "--model", model, env=ENV)
    assert filecmp.cmp(ref, model, shallow=False)
    with h5py.File(model) as m:
        assert [t.decode() for t in m["targets"][...]] == names


ASAN_BIN = os.environ.get("PROPSCORE_ASAN_BIN") or ""


@pytest.mark.skipif(not ASAN_BIN, reason="needs the ASan build (scripts/test.sh builds it)")
def test_sanitized_resume_and_base_rate_tree(tmp_path):
    """Under ASan+UBSan: a logreg resume read a checkpoint's start point from
    one stack double (opt_init copies n of them), and a GBDT base-rate tree
    (one leaf, no node) passed NULL to memcpy; both ran clean only by luck."""
    data = gen(str(tmp_path / "d.h5"), rows=4000, features=8)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:exitcode=99",
               UBSAN_OPTIONS="halt_on_error=1:exitcode=98")

    def asan(*args, stop=None, code=0):
        e = dict(env, PROPSCORE_FAULT_STOP=stop) if stop else env
        r = subprocess.run([MPIEXEC, "-n", "2", ASAN_BIN, *args], capture_output=True, text=True, env=e, timeout=300)
        assert r.returncode == code, r.stderr[-3000:]
        assert "ERROR: AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr[-3000:]

    model = str(tmp_path / "m.h5")
    asan("train", "--data", data, "--model", model, "--solver", "lbfgs", "--quiet", stop="pass:3", code=75)
    asan("train", "--data", data, "--model", model, "--solver", "lbfgs", "--quiet")
    asan("train", "--data", data, "--model", str(tmp_path / "g.h5"), "--model-type", "gbdt", "--trees", "3",
         "--min-data-in-leaf", "4000", "--quiet")
