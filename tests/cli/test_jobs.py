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
