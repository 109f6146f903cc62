"""The real job scripts under a real one-node Slurm (tests/slurm/slurm.sh):
the monthly chain, afterok stopping a failed chain, requeue resuming."""
import filecmp
import json
import os
import shutil
import subprocess
import time

import pytest

from pstest import SRC, gen, run

JOBS = os.path.join(SRC, "jobs")
SLURM_SH = os.path.join(SRC, "tests", "slurm", "slurm.sh")
ENV = {"SOURCE_DATE_EPOCH": "1700000000"}

pytestmark = pytest.mark.skipif(shutil.which("slurmctld") is None or os.geteuid() != 0,
                                reason="needs root and Debian's slurmctld/slurmd/munge (scripts/install-deps.sh)")


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    state = str(tmp_path_factory.mktemp("slurm"))
    r = subprocess.run([SLURM_SH, "start", state], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    conf = os.path.join(state, "slurm.conf")
    env = dict(os.environ, SLURM_CONF=conf, PS_BIN=os.environ.get("PROPSCORE_BIN", ""), **ENV)
    yield env
    subprocess.run([SLURM_SH, "stop", state], timeout=60)


def job_state(env, job):
    out = subprocess.run(["scontrol", "show", "job", "-o", str(job)], capture_output=True, text=True, env=env).stdout
    for kv in out.split():
        if kv.startswith("JobState="):
            return kv.split("=", 1)[1]
    return "UNKNOWN"


def wait_for(env, job, states=("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"),
             timeout=300):
    t0 = time.time()
    while time.time() - t0 < timeout:
        s = job_state(env, job)
        if s in states:
            return s
        time.sleep(0.5)
    raise AssertionError(f"job {job} still {job_state(env, job)} after {timeout} s")


def refresh(env, root, month, data, cwd):
    r = subprocess.run([os.path.join(JOBS, "monthly_refresh.sh"), "--root", root, "--month", month, "--data", data],
                       capture_output=True, text=True, env=env, cwd=cwd, timeout=60)
    assert r.returncode == 0, r.stderr
    return dict(line.split() for line in r.stdout.strip().splitlines())


def test_monthly_chain(slurm, tmp_path):
    data = gen(str(tmp_path / "d.h5"), rows=30000, features=16, np_=2)
    root = str(tmp_path / "refresh")
    jobs = refresh(slurm, root, "2026-10", data, str(tmp_path))
    assert list(jobs) == ["check", "train", "gate", "score", "eval", "publish"]
    for step in jobs:
        assert wait_for(slurm, jobs[step]) == "COMPLETED", (step, open_logs(root, "2026-10"))
    month = os.path.join(root, "2026-10")
    assert os.readlink(os.path.join(root, "published")) == "2026-10"
    ev = json.load(open(os.path.join(month, "eval.json")))
    assert ev["targets"]["churn"]["roc_auc"] > 0.6
    assert json.load(open(os.path.join(month, "scores.h5.manifest.json")))["exit_status"] == 0
    assert os.path.isfile(os.path.join(root, "published", "report", "index.html"))
    # next month: gated against the published one, then published
    jobs = refresh(slurm, root, "2026-11", data, str(tmp_path))
    assert wait_for(slurm, jobs["publish"]) == "COMPLETED", open_logs(root, "2026-11")
    assert os.readlink(os.path.join(root, "published")) == "2026-11"
    assert "gate: pass" in open_logs(root, "2026-11")
    # the report, kept beside the published model: this month's, with the gate's PSI against last month's
    rep = os.path.join(root, "published", "report")
    assert os.path.isfile(os.path.join(rep, "index.html"))
    ev = json.load(open(os.path.join(root, "2026-11", "eval.json")))
    assert json.load(open(os.path.join(rep, "eval.json"))) == ev
    gate = json.load(open(os.path.join(root, "2026-11", "eval.json.gate.json")))
    assert gate["publish"] and ev["targets"]["churn"]["psi"]["value"] == gate["heads"]["churn"]["psi"]
    assert 'id="gate-verdict" data-value="publish"' in open(os.path.join(rep, "index.html")).read()


def open_logs(root, month):
    d = os.path.join(root, month, "logs")
    return "\n".join(open(os.path.join(d, f)).read() for f in sorted(os.listdir(d))) if os.path.isdir(d) else ""


def test_failed_train_stops_the_chain(slurm, tmp_path):
    data = gen(str(tmp_path / "d.h5"), rows=3000, features=8, np_=1)
    import h5py
    with h5py.File(data, "r+") as h:
        del h["labels"]                      # train will fail: nothing to train
    root = str(tmp_path / "refresh")
    jobs = refresh(slurm, root, "2026-12", data, str(tmp_path))
    assert wait_for(slurm, jobs["check"]) == "COMPLETED"
    assert wait_for(slurm, jobs["train"]) == "FAILED"
    for step in ("gate", "score", "eval", "publish"):
        s = wait_for(slurm, jobs[step], states=("CANCELLED", "PENDING", "COMPLETED", "FAILED"), timeout=60)
        assert s in ("CANCELLED", "PENDING"), (step, s)
    assert not os.path.exists(os.path.join(root, "2026-12", "scores.h5"))
    assert not os.path.exists(os.path.join(root, "published"))
    assert "nothing to train" in open_logs(root, "2026-12")
    for step in ("gate", "score", "eval", "publish"):
        subprocess.run(["scancel", jobs[step]], env=slurm)


def test_requeue_resumes_from_checkpoint(slurm, tmp_path):
    data = gen(str(tmp_path / "d.h5"), rows=300000, features=48, np_=2)
    args = "--solver lbfgs --tol 1e-12 --ftol 0"
    ref = str(tmp_path / "ref.h5")
    run(2, "train", "--data", data, "--model", ref, *args.split(), "--quiet", env=ENV)
    model = str(tmp_path / "m.h5")
    env = dict(slurm, PS_DATA=data, PS_MODEL=model, PS_TRAIN_ARGS=args, PS_JOBS_DIR=JOBS)
    log = str(tmp_path / "train.out")
    job = subprocess.run(["sbatch", "--parsable", "-n", "2", "--output", log, os.path.join(JOBS, "train.sbatch")],
                         capture_output=True, text=True, env=env, cwd=str(tmp_path)).stdout.strip()
    t0 = time.time()
    while " iter " not in (open(log).read() if os.path.exists(log) else ""):
        assert time.time() - t0 < 120, "training never started"
        assert job_state(env, job) in ("PENDING", "RUNNING", "CONFIGURING"), job_state(env, job)
        time.sleep(0.2)
    subprocess.run(["scontrol", "requeue", job], env=env, check=True)
    # Slurm holds a requeued job about two minutes before it may start again: lift that
    t0 = time.time()
    while job_state(env, job) != "RUNNING" and time.time() - t0 < 300:
        if job_state(env, job) == "PENDING":
            subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], env=env, capture_output=True)
        if job_state(env, job) == "COMPLETED":
            break
        time.sleep(1)
    assert wait_for(env, job, timeout=400) == "COMPLETED", open(log).read()[-3000:]
    text = open(log).read()
    assert "stopped after a checkpoint" in text or "stop signal" in text, text[-3000:]
    assert "resumed at iteration" in text
    assert filecmp.cmp(ref, model, shallow=False), "requeued model differs from an uninterrupted run"


def test_eval_step_fails_when_its_gate_fails(slurm, tmp_path):
    """The eval step's gate (for the report's header) may refuse (exit 3: the report shows it), but
    an error (exit 1: here a damaged model) fails the step; no gate.json, whole or partial, is left."""
    data = gen(str(tmp_path / "d.h5"), rows=3000, features=8, np_=1)
    model, scores = str(tmp_path / "m.h5"), str(tmp_path / "s.h5")
    run(1, "train", "--data", data, "--model", model, "--quiet", env=ENV)
    run(1, "score", "--data", data, "--model", model, "--out", scores, "--quiet", env=ENV)
    bad = tmp_path / "damaged.h5"
    bad.write_bytes(b"not an HDF5 file" * 64)
    ev = str(tmp_path / "eval.json")
    env = dict(slurm, PS_STEP="eval", PS_DATA=data, PS_SCORES=scores, PS_MODEL=str(bad), PS_EVAL=ev,
               PS_REPORT_DIR=str(tmp_path / "report"), PS_PUBLISHED=str(tmp_path / "published"), PS_JOBS_DIR=JOBS)
    log = str(tmp_path / "eval.out")
    job = subprocess.run(["sbatch", "--parsable", "--output", log, os.path.join(JOBS, "step.sbatch")],
                         capture_output=True, text=True, env=env, cwd=str(tmp_path)).stdout.strip()
    assert wait_for(env, job) == "FAILED", open(log).read()
    text = open(log).read()
    assert "gate for the report failed (exit 1)" in text, text
    assert not [p for p in os.listdir(tmp_path) if p.startswith("eval.json")]
    assert not os.path.exists(tmp_path / "report")
