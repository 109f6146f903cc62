"""The job scripts' step logic, run by bash without Slurm (tests/cli/test_slurm.py runs them under
a real Slurm): what a step leaves when propscore fails in it."""
import json
import os
import subprocess

import pytest

from pstest import BIN, MPIEXEC, SRC, gen, run

JOBS = os.path.join(SRC, "jobs")
ENV = {"SOURCE_DATE_EPOCH": "1700000000"}


def step(name, tmp_path, **env):
    e = dict(os.environ, PS_STEP=name, PS_BIN=os.path.abspath(BIN), PS_LAUNCH=f"{MPIEXEC} -n 1",
             PS_JOBS_DIR=JOBS, **ENV, **env)
    return subprocess.run(["bash", os.path.join(JOBS, "step.sbatch")], capture_output=True, text=True, env=e,
                          cwd=str(tmp_path), timeout=300)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    d = tmp_path_factory.mktemp("jobs")
    data = gen(str(d / "d.h5"), rows=3000, features=8, np_=1)
    model, scores = str(d / "m.h5"), str(d / "s.h5")
    run(1, "train", "--data", data, "--model", model, "--quiet", env=ENV)
    run(1, "score", "--data", data, "--model", model, "--out", scores, "--quiet", env=ENV)
    return data, model, scores


def test_failed_eval_step_leaves_no_eval_json(scored, tmp_path):
    """eval's JSON goes to a temporary name, renamed when eval succeeds: a failed eval leaves no
    empty eval.json, and an earlier one stays whole."""
    data, model, scores = scored
    ev = tmp_path / "eval.json"
    args = dict(PS_DATA=data, PS_MODEL=model, PS_EVAL=str(ev), PS_REPORT="0", PS_PUBLISHED=str(tmp_path / "pub"))
    r = step("eval", tmp_path, PS_SCORES=str(tmp_path / "missing.h5"), **args)
    assert r.returncode == 1 and "missing.h5" in r.stderr, r.stderr
    assert os.listdir(tmp_path) == []
    ev.write_text('{"earlier": true}\n')
    r = step("eval", tmp_path, PS_SCORES=str(tmp_path / "missing.h5"), **args)
    assert r.returncode == 1 and ev.read_text() == '{"earlier": true}\n'
    assert os.listdir(tmp_path) == ["eval.json"]
    r = step("eval", tmp_path, PS_SCORES=scores, **args)
    assert r.returncode == 0, r.stderr
    assert json.loads(ev.read_text())["targets"]["churn"]["roc_auc"] > 0.5
    assert os.listdir(tmp_path) == ["eval.json"]


def test_sigterm_to_the_documented_mpirun_wrapper(tmp_path):
    """docs/OPERATIONS.md's advice for a SIGTERM under mpirun (Open MPI 4.1 cannot forward one:
    odls_base_sigkill_timeout only delays it): its shell block, run as written, turns a SIGTERM
    into SIGUSR1 for mpirun; the ranks checkpoint at once and the shell exits 75."""
    import re
    import signal
    import time
    doc = open(os.path.join(SRC, "docs", "OPERATIONS.md")).read()
    block = re.search(r"```sh\n( *# mpirun-usr1:.*?)```", doc, re.S).group(1)
    wrapper = tmp_path / "mpirun-usr1"
    wrapper.write_text("\n".join(l.strip() for l in block.splitlines()) + "\n")
    data = gen(str(tmp_path / "d.h5"), rows=20000, features=8, np_=2)
    model = str(tmp_path / "m.h5")
    p = subprocess.Popen(["sh", str(wrapper), *MPIEXEC.split()[1:], "-n", "2", os.path.abspath(BIN), "train",
                          "--data", data, "--model", model, "--model-type", "gbdt", "--trees", "100000",
                          "--learning-rate", "0.001", "--early-stopping", "0"],
                         stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ, **ENV), cwd=str(tmp_path))
    for line in p.stderr:  # the trees have begun
        if " tree " in line:
            break
    t0 = time.time()
    p.send_signal(signal.SIGTERM)
    out, rest = p.communicate(timeout=120)
    assert p.returncode == 75, rest
    assert time.time() - t0 < 30, rest  # not odls_base_sigkill_timeout's 2 x 120 s
    assert os.path.exists(model + ".ckpt") and not os.path.exists(model)
    assert "stopped by SIGUSR1 after a checkpoint" in out, out
