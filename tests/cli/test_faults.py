"""Faults: a killed rank, damaged files (under the ASan build), empty rank
partitions, NaN/Inf policy, a full disk, unreadable or foreign models."""
import os
import re
import shutil
import signal
import subprocess
import time

import h5py
import numpy as np
import pytest

from pstest import BIN, MPIEXEC, digest, error_line, gen, leftovers, run

ASAN_BIN = os.environ.get("PROPSCORE_ASAN_BIN") or ""


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    d = tmp_path_factory.mktemp("faults")
    data = gen(str(d / "d.h5"), rows=20000, features=16, np_=2)
    model = str(d / "m.h5")
    run(2, "train", "--data", data, "--model", model, "--quiet")
    return d, data, model


def test_kill_9_of_one_rank_ends_the_job(tmp_path):
    data = gen(str(tmp_path / "big.h5"), rows=300000, features=48, np_=2)
    model = str(tmp_path / "m.h5")
    with open(model, "wb") as f:
        f.write(b"previous model")
    before = digest(model)
    proc = subprocess.Popen([MPIEXEC, "-n", "3", BIN, "train", "--data", data, "--model", model, "--solver",
                             "lbfgs", "--tol", "1e-12", "--ftol", "0", "--max-iter", "100000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        if " iter " in line:
            break
    ranks = subprocess.run(["pgrep", "-f", f"{BIN} train --data {data}"], capture_output=True, text=True)
    pids = [int(p) for p in ranks.stdout.split() if int(p) != proc.pid]  # the ranks, not mpirun
    assert len(pids) == 3, ranks.stdout
    t0 = time.time()
    os.kill(pids[1], signal.SIGKILL)
    proc.communicate(timeout=60)
    assert time.time() - t0 < 60
    assert proc.returncode != 0
    assert digest(model) == before and not leftovers(tmp_path)
    time.sleep(0.5)
    assert subprocess.run(["pgrep", "-f", f"{BIN} train --data {data}"], capture_output=True).returncode == 1


@pytest.mark.parametrize("cmd", ["inspect", "train", "score"])
def test_truncated_file(base, tmp_path, cmd):
    d, data, model = base
    cut = str(tmp_path / "cut.h5")
    with open(data, "rb") as f, open(cut, "wb") as g:
        g.write(f.read(os.path.getsize(data) // 3))
    out = str(tmp_path / "o.h5")
    args = {"inspect": [cut], "train": ["--data", cut, "--model", out],
            "score": ["--data", cut, "--model", model, "--out", out]}[cmd]
    r = run(2, cmd, *args, check=False)
    assert r.returncode == 1
    assert re.search(r"cut.h5: cannot open HDF5 file: truncated file", error_line(r))
    assert not os.path.exists(out)


def metadata_offsets(path):
    """Byte offsets inside HDF5 object headers, B-trees and heaps of a file."""
    raw = open(path, "rb").read()
    offs = []
    for sig in (b"OHDR", b"OCHK", b"BTHD", b"BTLF", b"FRHP", b"TREE", b"HEAP", b"SNOD", b"GCOL"):
        for m in re.finditer(re.escape(sig), raw):
            offs += [m.start() + k for k in (0, 5, 9, 17, 33)]
    return sorted(o for o in set(offs) if o < len(raw))


@pytest.mark.skipif(not ASAN_BIN, reason="needs the ASan build (scripts/test.sh builds it)")
def test_bit_flips_never_crash(base, tmp_path):
    """Flip bits in the metadata: every run ends in 0 or a clean error, never a crash or sanitizer report."""
    d, data, model = base
    small = gen(str(tmp_path / "s.h5"), rows=3000, features=8, np_=1)
    offsets = metadata_offsets(small)
    assert len(offsets) > 10
    rng = np.random.default_rng(3)
    raw = open(small, "rb").read()
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:exitcode=99",
               UBSAN_OPTIONS="halt_on_error=1:exitcode=98")
    outcomes = {}
    for i, off in enumerate(rng.choice(offsets, size=min(20, len(offsets)), replace=False)):
        bad = bytearray(raw)
        bad[off] ^= 1 << int(rng.integers(8))
        path = str(tmp_path / "flip.h5")
        open(path, "wb").write(bad)
        for args in (["inspect", path], ["train", "--data", path, "--model", str(tmp_path / "m.h5"), "--quiet"]):
            r = subprocess.run([MPIEXEC, "-n", "2", ASAN_BIN, *args], capture_output=True, text=True, env=env,
                               timeout=120)
            assert r.returncode in (0, 1), f"offset {off} {args[0]}: exit {r.returncode}\n{r.stderr[-3000:]}"
            assert "ERROR: AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr[-3000:]
            if r.returncode == 1:
                assert "propscore: error" in r.stderr, r.stderr
                # the message names the damaged file, not a source line
                line = [l for l in r.stderr.splitlines() if l.startswith("propscore: error")][0]
                assert path in line and not re.match(r"propscore: error[^:]*: [\w/]+\.c:\d+", line), line
            outcomes[r.returncode] = outcomes.get(r.returncode, 0) + 1
    assert outcomes.get(1, 0) > 0  # some flips were caught (checksums), none crashed


@pytest.mark.skipif(not ASAN_BIN, reason="needs the ASan build (scripts/test.sh builds it)")
def test_subcommands_clean_under_sanitizers_on_three_ranks(tmp_path):
    """The job's subcommands on 3 ranks of the ASan + UBSan build: exit 0 and no report (a rank with
    nothing to send once passed NULL to memcpy in a gather, only with --k 3 at P = 3)."""
    data = gen(str(tmp_path / "d.h5"), rows=3000, features=8, np_=1)
    p = lambda name: str(tmp_path / name)
    key = p("k.key")
    open(key, "w").write("00112233445566778899aabbccddeeff")
    os.chmod(key, 0o600)
    chain = [
        ["train", "--data", data, "--model", p("m.h5"), "--quiet"],
        ["train", "--data", data, "--model", p("g.h5"), "--model-type", "gbdt", "--trees", "5", "--quiet"],
        ["score", "--data", data, "--model", p("m.h5"), "--out", p("s.h5"), "--quiet"],
        ["score", "--data", data, "--model", p("g.h5"), "--out", p("sg.h5"), "--quiet"],
        ["eval", "--data", data, "--scores", p("s.h5"), "--baseline-scores", p("sg.h5"), "--json"],
        ["segment", "--data", data, "--k", "3", "--scores", p("s.h5"), "--out", p("personas.h5")],
        ["holdout", "--data", data, "--campaign", "c", "--fraction", "0.2", "--out", p("h.h5")],
        ["offers", "--scores", p("s.h5"), "--value", "purchase_3m=40,churn=0", "--max-offers", "1",
         "--out", p("o.h5")],
        ["export", "--scores", p("s.h5"), "--by", "purchase_3m", "--top-percent", "10", "--holdout", p("h.h5"),
         "--group", "treatment", "--id-key-file", key, "--out", p("a.csv")],
    ]
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:exitcode=99",
               UBSAN_OPTIONS="halt_on_error=1:exitcode=98")
    for args in chain:
        r = subprocess.run([MPIEXEC, "-n", "3", ASAN_BIN, *args], capture_output=True, text=True, env=env,
                           timeout=300)
        assert r.returncode == 0, f"{args[0]}: exit {r.returncode}\n{r.stderr[-3000:]}"
        assert "ERROR: AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr[-3000:]


@pytest.mark.parametrize("min_data", ["2000", "1000000000000"])
@pytest.mark.skipif(not ASAN_BIN, reason="needs the ASan build (scripts/test.sh builds it)")
def test_gbdt_without_a_split_clean_under_sanitizers(tmp_path, min_data):
    """GBDT whose first tree cannot split (too few rows for --min-data-in-leaf), up to the
    largest value the option takes (1e12; INT64_MAX is refused by its range): no signed overflow
    (2 * min_data), no memcpy of a tree's nodes from NULL; the model is the base rate and scores."""
    data = gen(str(tmp_path / "d.h5"), rows=2000, features=6, np_=1)
    model, out = str(tmp_path / "g.h5"), str(tmp_path / "s.h5")
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:exitcode=99",
               UBSAN_OPTIONS="halt_on_error=1:exitcode=98")
    for args in (["train", "--data", data, "--model", model, "--model-type", "gbdt", "--trees", "3",
                  "--min-data-in-leaf", min_data, "--quiet"],
                 ["score", "--data", data, "--model", model, "--out", out, "--quiet"]):
        r = subprocess.run([MPIEXEC, "-n", "2", ASAN_BIN, *args], capture_output=True, text=True, env=env,
                           timeout=300)
        assert r.returncode == 0, f"{args[0]}: exit {r.returncode}\n{r.stderr[-3000:]}"
        assert "ERROR: AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr[-3000:]
    with h5py.File(out) as f:
        for t in f["scores"]:
            assert np.ptp(f["scores"][t][...]) == 0  # the base rate for everyone
    r = subprocess.run([MPIEXEC, "-n", "1", ASAN_BIN, "train", "--data", data, "--model", model, "--model-type",
                        "gbdt", "--min-data-in-leaf", "9223372036854775807"], capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "--min-data-in-leaf: 9223372036854775807 is out of range" in r.stderr


def test_rank_with_empty_partition(base, tmp_path):
    d, data, model = base
    tiny = gen(str(tmp_path / "tiny.h5"), rows=5, features=16, np_=1)
    ref = str(tmp_path / "ref.h5")
    run(1, "score", "--data", tiny, "--model", model, "--out", ref, "--quiet")
    out = str(tmp_path / "s.h5")
    run(7, "score", "--data", tiny, "--model", model, "--out", out, "--quiet")  # ranks 5 and 6 have no rows
    with h5py.File(ref) as a, h5py.File(out) as b:
        for t in a["scores"]:
            assert np.array_equal(a["scores"][t][...], b["scores"][t][...])
    assert "5 rows x 16 features" in run(7, "inspect", tiny).stdout
    r = run(7, "eval", "--data", tiny, "--scores", out, "--split", "all", check=False)
    assert r.returncode == 0, r.stderr


def test_nonfinite_policy(base, tmp_path):
    d, data, model = base
    bad = str(tmp_path / "nan.h5")
    shutil.copy(data, bad)
    with h5py.File(bad, "r+") as h:
        X = h["features"][...]
        X[np.isnan(X)] = 0            # the generator's NaNs out ...
        X[12345, 7] = np.inf          # ... one Inf in
        h["features"][...] = X
    out = str(tmp_path / "m.h5")
    r = run(3, "train", "--data", bad, "--model", out, "--nonfinite", "reject", check=False)
    assert r.returncode == 1
    assert error_line(r) == (f"propscore: error: {bad}: /features row 12345 column 7 (region_north) is Inf "
                             "(--nonfinite reject)")
    assert not os.path.exists(out)
    s = str(tmp_path / "s.h5")
    r = run(2, "score", "--data", bad, "--model", model, "--out", s, "--nonfinite", "reject", check=False)
    assert r.returncode == 1 and "row 12345 column 7" in error_line(r)
    assert not os.path.exists(s) and not os.path.exists(s + ".partial")
    run(2, "train", "--data", bad, "--model", out, "--quiet")  # impute (default) trains


def test_disk_full(base, tmp_path):
    d, data, model = base
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        prev = mnt / "s.h5"
        prev.write_bytes(b"last month's scores")
        before = digest(prev)
        r = run(2, "score", "--data", data, "--model", model, "--out", prev, "--quiet", check=False)
        assert r.returncode != 0
        assert "propscore: error" in r.stderr and ("No space left on device" in r.stderr or "s.h5" in r.stderr)
        assert digest(prev) == before                  # the previous version is intact
    finally:
        subprocess.run(["umount", str(mnt)])


def test_disk_full_at_the_manifest(tmp_path):
    """The disk fills just when the manifest is written: the run fails (exit 1, one error line
    naming the manifest and the cause); the output is complete and kept; an earlier run's
    manifest beside it (it describes another output) is removed; no temporary is left."""
    data = gen(str(tmp_path / "d.h5"), rows=200, features=2, np_=1)
    model, ref = str(tmp_path / "m.h5"), str(tmp_path / "ref.h5")
    run(1, "train", "--data", data, "--model", model, "--holdout", "0", "--quiet")
    run(2, "score", "--data", data, "--model", model, "--out", ref, "--quiet")
    pages = -(-os.path.getsize(ref) // 4096)
    mnt = tmp_path / "small"
    mnt.mkdir()
    # room for the scores and for one page: the earlier manifest's
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={(pages + 1) * 4096}", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        out = mnt / "s.h5"
        (mnt / "s.h5.manifest.json").write_text('{"run_id": "an earlier run"}\n')
        r = run(2, "score", "--data", data, "--model", model, "--out", out, "--quiet", check=False)
        assert r.returncode == 1, r.stderr
        line = error_line(r)
        assert f"cannot write the manifest {out}.manifest.json: No space left on device" in line, line
        assert "is complete" in line
        with h5py.File(ref) as a, h5py.File(out) as b:
            for t in a["scores"]:
                assert np.array_equal(a["scores"][t][...], b["scores"][t][...])
        assert sorted(os.listdir(mnt)) == ["s.h5"]
    finally:
        subprocess.run(["umount", str(mnt)])


def test_unreadable_model(base, tmp_path):
    d, data, model = base
    junk = tmp_path / "junk.h5"
    junk.write_bytes(os.urandom(4096))
    out = str(tmp_path / "s.h5")
    r = run(2, "score", "--data", data, "--model", junk, "--out", out, check=False)
    assert r.returncode == 1 and "junk.h5: not an HDF5 file" in error_line(r)
    r = run(2, "score", "--data", data, "--model", tmp_path, "--out", out, check=False)
    assert r.returncode == 1 and error_line(r)
    assert not os.path.exists(out)


def test_model_from_another_schema_version(base, tmp_path):
    d, data, model = base
    other = str(tmp_path / "v2.h5")
    shutil.copy(model, other)
    with h5py.File(other, "r+") as h:
        h.attrs["schema_version"] = np.int64(2)
    out = str(tmp_path / "s.h5")
    r = run(2, "score", "--data", data, "--model", other, "--out", out, check=False)
    assert r.returncode == 1
    assert error_line(r) == f"propscore: error: {other}: model schema_version 2, this propscore reads version 1"
    assert not os.path.exists(out)
