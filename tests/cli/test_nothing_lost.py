"""Nothing lost, nothing clobbered: an output never replaces an input or
another output, concurrent runs never mix, temporaries are private and
never follow links, a failing rank cleans up and records the failure, a
damaged model is refused. Every refused or failed run leaves its inputs
byte-identical (checked) and no temporary behind."""
import glob
import json
import os
import shutil
import signal
import stat
import subprocess
import time

import h5py
import numpy as np
import pytest

from pstest import BIN, MPIEXEC, digest, error_line, gen, leftovers, run

ENV = {"SOURCE_DATE_EPOCH": "1700000000"}


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    d = tmp_path_factory.mktemp("lost")
    data = gen(str(d / "d.h5"), rows=20000, features=8, np_=2)
    model = str(d / "m.h5")
    run(2, "train", "--data", data, "--model", model, "--quiet", env=ENV)
    other = str(d / "m2.h5")
    run(2, "train", "--data", data, "--model", other, "--l2", "0.5", "--quiet", env=ENV)
    return data, model, other


@pytest.fixture
def world(originals, tmp_path):
    """Fresh copies for each test: a run that destroys its input cannot spoil the next test."""
    d = tmp_path / "in"
    d.mkdir()
    copies = [shutil.copy(p, d / os.path.basename(p)) for p in originals]
    return (d, *map(str, copies))


def untouched(paths):
    return {p: digest(p) for p in paths}


def check_refused(r, before, needle, code=1):
    assert r.returncode == code, r.stderr
    assert needle in error_line(r), error_line(r)
    for p, h in before.items():
        assert digest(p) == h, f"{p} was modified"


def private_files(directory):
    """Temporaries, partials and locks a run may leave."""
    return [p for p in glob.glob(os.path.join(str(directory), "*"))
            if ".tmp-" in p or ".partial-" in p or p.endswith(".lock")]


def scores_of(path):
    """Every head's scores of a scores file."""
    with h5py.File(path) as f:
        return {t: f["scores"][t][...] for t in f["scores"]}


# 1. An output equal to an input (or to another output) is refused before any work.
@pytest.mark.parametrize("case", ["train-model-is-data", "score-out-is-data", "score-out-abs", "score-out-symlink",
                                  "score-out-is-model", "train-ckpt-is-model", "train-ckpt-is-data"])
def test_output_is_an_input(world, tmp_path, case):
    d, data, model, _ = world
    link = str(tmp_path / "link.h5")
    os.symlink(data, link)
    new = str(tmp_path / "new.h5")
    args = {"train-model-is-data": ["train", "--data", data, "--model", data],
            "score-out-is-data": ["score", "--data", data, "--model", model, "--out", data],
            "score-out-abs": ["score", "--data", os.path.relpath(data), "--model", model, "--out",
                              os.path.abspath(data)],
            "score-out-symlink": ["score", "--data", data, "--model", model, "--out", link],
            "score-out-is-model": ["score", "--data", data, "--model", model, "--out", model],
            "train-ckpt-is-model": ["train", "--data", data, "--model", new, "--checkpoint", new],
            "train-ckpt-is-data": ["train", "--data", data, "--model", new, "--checkpoint", data]}[case]
    before = untouched([data, model])
    t0 = time.time()
    r = run(2, *args, check=False)
    needle = "are the same file" if case == "train-ckpt-is-model" else "refusing to overwrite an input"
    check_refused(r, before, needle)
    assert time.time() - t0 < 30 and not os.path.exists(new)
    assert not private_files(d) and not private_files(tmp_path)


# 2. Two scores to the same output never mix: the second is refused while the first
#    runs; stopped and resumed in every order, the final file is one model's complete scores.
def test_second_writer_is_refused(world, tmp_path):
    """While a run holds <out>.lock, another run to the same output is refused at once."""
    import fcntl
    d, data, model, other = world
    out = str(tmp_path / "s.h5")
    with open(out + ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        before = untouched([data, other])
        r = run(2, "score", "--data", data, "--model", other, "--out", out, check=False)
        check_refused(r, before, "another propscore run is writing")
        r = run(2, "gen", "--out", out, "--rows", "100", "--features", "4", check=False)
        assert r.returncode == 1 and "another propscore run is writing" in error_line(r)
    assert not os.path.exists(out)
    run(2, "score", "--data", data, "--model", other, "--out", out, "--quiet")  # free again


def test_output_named_like_a_lock_is_refused(world, tmp_path):
    """score --out x.h5.lock would be taken (and removed) as the lock of a run writing x.h5: such a
    name is refused, and a user's non-empty x.h5.lock is never taken as a lock nor removed."""
    d, data, model, _ = world
    out = str(tmp_path / "x.h5")
    before = untouched([data, model])
    r = run(2, "score", "--data", data, "--model", model, "--out", out + ".lock", check=False)
    check_refused(r, before, "names ending in .lock are propscore's locks")
    assert not os.path.exists(out + ".lock")
    with open(out + ".lock", "w") as f:
        f.write("a user's notes")
    r = run(2, "score", "--data", data, "--model", model, "--out", out, check=False)
    check_refused(r, before, "is not a propscore lock")
    assert open(out + ".lock").read() == "a user's notes" and not os.path.exists(out)


def test_concurrent_scores_to_one_output(world, tmp_path):
    d, data, model, other = world
    out = str(tmp_path / "s.h5")
    args = ["score", "--data", data, "--out", out, "--block-rows", "200", "--quiet"]
    first = subprocess.Popen([MPIEXEC, "-n", "2", BIN, *args, "--model", model], env=dict(os.environ, **ENV),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = run(2, *args, "--model", other, check=False)
    first.communicate(timeout=300)
    # one of them held the output; the other was refused (or ran after it): never a mix
    assert {first.returncode, second.returncode} <= {0, 1}
    winner = model if first.returncode == 0 and second.returncode != 0 else other
    if first.returncode == 0 and second.returncode == 0:
        winner = other  # the second ran after the first finished
    ref = str(tmp_path / "ref.h5")
    run(2, "score", "--data", data, "--model", winner, "--out", ref, "--quiet")
    a, b = scores_of(out), scores_of(ref)
    assert all(np.array_equal(a[t], b[t]) for t in a)


@pytest.mark.parametrize("order", ["A-B-A", "B-A-B", "A-B-B-A"])
def test_stopped_runs_never_mix(world, tmp_path, order):
    d, data, model_a, model_b = world
    out = str(tmp_path / "s.h5")
    models = {"A": model_a, "B": model_b}
    base = ["score", "--data", data, "--out", out, "--block-rows", "1000", "--quiet"]
    seen = set()
    for who in order.split("-"):
        stop = who not in seen  # the first run of each model is stopped half way
        seen.add(who)
        env = dict(ENV, PROPSCORE_FAULT_STOP="block:4") if stop else ENV
        r = run(2, *base, "--model", models[who], check=False, env=env)
        assert r.returncode == (75 if stop else 0), r.stderr
        if not stop:
            ref = str(tmp_path / f"ref{who}.h5")
            run(2, "score", "--data", data, "--model", models[who], "--out", ref, "--quiet")
            got, want = scores_of(out), scores_of(ref)
            assert all(np.array_equal(got[t], want[t]) for t in want), f"{order}: {who} mixed"


def test_partial_of_another_run_is_not_resumed(world, tmp_path):
    d, data, model, _ = world
    out = str(tmp_path / "s.h5")
    args = ["score", "--data", data, "--model", model, "--out", out, "--block-rows", "1000", "--quiet"]
    r = run(2, *args, check=False, env=dict(ENV, PROPSCORE_FAULT_STOP="block:3"))
    assert r.returncode == 75
    progress = glob.glob(out + ".partial-*.progress")
    assert len(progress) == 1
    with open(progress[0]) as f:
        lines = f.read().splitlines()
    with open(progress[0], "w") as f:  # the state of another run under this run's name
        f.write(lines[0].replace("ranks=2", "ranks=9") + "\n" + lines[1] + "\n")
    r = run(2, *args[:-1], env=ENV)
    assert "holds no finished blocks of this job: starting over" in r.stderr
    ref = str(tmp_path / "ref.h5")
    run(2, "score", "--data", data, "--model", model, "--out", ref, "--quiet")
    assert all(np.array_equal(a, b) for a, b in zip(scores_of(out).values(), scores_of(ref).values()))


# 3. A symlink planted at a private name is never followed.
def test_planted_symlinks_are_not_followed(world, tmp_path):
    d, data, model, _ = world
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    os.chmod(victim, 0o644)
    out = str(tmp_path / "s.h5")
    args = ["score", "--data", data, "--model", model, "--out", out, "--block-rows", "1000", "--quiet"]
    r = run(2, *args, check=False, env=dict(ENV, PROPSCORE_FAULT_STOP="block:3"))
    assert r.returncode == 75
    partial = [p for p in glob.glob(out + ".partial-*") if not p.endswith(".progress")][0]
    os.unlink(partial)
    os.symlink(victim, partial)
    r = run(2, *args, check=False)
    assert r.returncode == 1 and "is not a regular file" in error_line(r)
    os.unlink(partial)
    os.symlink(victim, out + ".lock")
    r = run(2, *args, check=False)
    assert r.returncode == 1 and "lock" in error_line(r)
    assert victim.read_text() == "precious" and stat.S_IMODE(os.stat(victim).st_mode) == 0o644


# 4. A failure on a rank other than 0 cleans up and writes the manifest; a stop
#    signal to gen leaves nothing; leftovers of a killed run are removed by the next.
@pytest.mark.parametrize("cmd", ["score", "gen"])
def test_failure_on_rank_1_cleans_up(world, tmp_path, cmd):
    d, data, model, _ = world
    out = str(tmp_path / "o.h5")
    args = {"score": ["score", "--data", data, "--model", model, "--out", out, "--block-rows", "1000"],
            "gen": ["gen", "--out", out, "--rows", "20000", "--features", "8", "--chunk-rows", "500"]}[cmd]
    before = untouched([data, model])
    r = run(3, *args, check=False, env={"PROPSCORE_FAULT_IO": "write:2:1"})
    assert r.returncode != 0
    assert "(rank 1)" in r.stderr and "No space left on device" in r.stderr and "o.h5" in r.stderr
    assert not os.path.exists(out) and not private_files(tmp_path), private_files(tmp_path)
    for p, h in before.items():
        assert digest(p) == h
    if cmd == "score":
        man = json.load(open(out + ".manifest.json"))
        assert man["exit_status"] == 1 and "No space left on device" in man["status"]


def test_stop_signal_to_gen_leaves_nothing(tmp_path):
    out = str(tmp_path / "g.h5")
    r = run(2, "gen", "--out", out, "--rows", "40000", "--features", "8", "--block-rows", "2000", check=False,
            env={"PROPSCORE_FAULT_STOP": "block:2"})
    assert r.returncode == 75 and "stopped by SIGTERM" in r.stdout
    assert not os.path.exists(out) and not private_files(tmp_path)


def test_sigusr1_to_mpirun_during_gen(tmp_path):
    """mpirun forwards SIGUSR1 and waits: the ranks clean up, the job exits 75."""
    out = str(tmp_path / "g.h5")
    p = subprocess.Popen([MPIEXEC, "-n", "2", BIN, "gen", "--out", out, "--rows", "2000000", "--features", "16",
                          "--block-rows", "20000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(600):  # signal once it writes
        if glob.glob(out + ".tmp-*"):
            break
        time.sleep(0.05)
    time.sleep(0.5)
    p.send_signal(signal.SIGUSR1)
    p.communicate(timeout=300)
    if p.returncode == 0:
        pytest.skip("gen finished before the signal")
    assert p.returncode == 75
    assert not os.path.exists(out) and not private_files(tmp_path)


def test_leftover_temporaries_are_removed(tmp_path):
    out = str(tmp_path / "g.h5")
    left = tmp_path / "g.h5.tmp-999999-deadbeef"
    left.write_bytes(b"x" * 1000)
    # only exact temporary names of dead processes: a user's file, a live
    # process's name and near misses stay
    keep = [tmp_path / n for n in ("g.h5.tmp-backup", f"g.h5.tmp-{os.getpid()}-deadbeef",
                                   "g.h5.tmp-999999-deadbee", "g.h5.tmp-999999-deadbeef.bak")]
    for k in keep:
        k.write_bytes(b"mine")
    r = run(2, "gen", "--out", out, "--rows", "1000", "--features", "4")
    assert "removed 1 temporary file" in r.stderr
    assert not left.exists() and os.path.exists(out)
    assert all(k.read_bytes() == b"mine" for k in keep)


# 5. A model with a non-finite number is refused by score and gate; the gate refuses
#    non-finite scores.
@pytest.mark.parametrize("where,value", [("weights", np.nan), ("standardize/scale", np.inf),
                                         ("bias", -np.inf), ("standardize/scale", -1.0)])
def test_damaged_model_is_refused(world, tmp_path, where, value):
    d, data, model, _ = world
    bad = str(tmp_path / "bad.h5")
    shutil.copy(model, bad)
    with h5py.File(bad, "r+") as h:
        v = h[where][...]
        v.flat[1] = value
        h[where][...] = v
    out = str(tmp_path / "s.h5")
    before = untouched([data, bad])
    r = run(2, "score", "--data", data, "--model", bad, "--out", out, check=False)
    check_refused(r, before, f"/{where}[1] is")
    assert not os.path.exists(out)
    r = run(1, "gate", "--model", bad, check=False)
    check_refused(r, before, "the model is damaged")


def test_gate_refuses_nonfinite_scores(world, tmp_path):
    d, data, model, other = world
    s1, s2 = str(tmp_path / "s1.h5"), str(tmp_path / "s2.h5")
    run(2, "score", "--data", data, "--model", model, "--out", s1, "--quiet")
    run(2, "score", "--data", data, "--model", other, "--out", s2, "--quiet")
    with h5py.File(s2, "r+") as h:
        v = h["scores/churn"][...]
        v[17] = np.nan
        h["scores/churn"][...] = v
    r = run(2, "gate", "--model", other, "--baseline", model, "--scores", s2, "--baseline-scores", s1,
            "--max-auc-drop", "1", "--max-logloss-rise", "100", "--max-psi", "100", check=False)
    assert r.returncode == 3 and "1 scores of churn are not probabilities" in r.stderr


# Also: private files are 0600 until renamed to 0640.
def test_partial_is_private_until_final(world, tmp_path):
    d, data, model, _ = world
    out = str(tmp_path / "s.h5")
    args = ["score", "--data", data, "--model", model, "--out", out, "--block-rows", "1000", "--quiet"]
    r = run(2, *args, check=False, env=dict(ENV, PROPSCORE_FAULT_STOP="block:3"))
    assert r.returncode == 75
    partials = glob.glob(out + ".partial*")
    assert partials
    for p in partials:
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600, p
    run(2, *args)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640
