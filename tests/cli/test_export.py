"""propscore export (issue 13): top N / top P% by a score as CSV or Parquet
with pseudonymous ids (SipHash-2-4 under a key file: checked against a Python
SipHash and the reference vector), read back by pandas; a holdout group; a persona;
0640; the same bytes for 1 and 3 ranks; no raw id in the file or the logs."""
import os
import re
import stat
import sys

import h5py
import numpy as np
import pandas as pd
import pytest

from pstest import error_line, gen, leftovers, run

M64 = (1 << 64) - 1
KEY = "000102030405060708090a0b0c0d0e0f"


def _rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & M64


def siphash24(key16, msg):
    k0, k1 = int.from_bytes(key16[:8], "little"), int.from_bytes(key16[8:], "little")
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D, k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]

    def rnd():
        v[0] = (v[0] + v[1]) & M64; v[1] = _rotl(v[1], 13) ^ v[0]; v[0] = _rotl(v[0], 32)
        v[2] = (v[2] + v[3]) & M64; v[3] = _rotl(v[3], 16) ^ v[2]
        v[0] = (v[0] + v[3]) & M64; v[3] = _rotl(v[3], 21) ^ v[0]
        v[2] = (v[2] + v[1]) & M64; v[1] = _rotl(v[1], 17) ^ v[2]; v[2] = _rotl(v[2], 32)

    n = len(msg)
    blocks = msg + b"\0" * ((8 - (n + 1) % 8) % 8 + 1)
    blocks = blocks[:-1] + bytes([n & 0xFF])
    for i in range(0, len(blocks), 8):
        m = int.from_bytes(blocks[i:i + 8], "little")
        v[3] ^= m; rnd(); rnd(); v[0] ^= m
    v[2] ^= 0xFF
    for _ in range(4):
        rnd()
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def pseudo(i, key=KEY):
    """16 hex digits; with a leading 'p' where a spreadsheet would read a number."""
    h = f"{siphash24(bytes.fromhex(key), int(i).to_bytes(8, 'little', signed=True)):016x}"
    return "p" + h if re.fullmatch(r"[0-9]+|[0-9]+e[0-9]+", h) else h


def test_python_siphash_reference_vector():
    # SipHash-2-4 paper, Appendix A: key 00..0f, message 00..07
    assert siphash24(bytes(range(16)), bytes(range(8))) == 0x93F5F5799A932462


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    data = gen(str(d / "d.h5"), rows=5000, features=6)
    scores = str(d / "s.h5")
    with h5py.File(data) as f, h5py.File(scores, "w") as s:
        ids = f["customer_id"][...]
        s.attrs["kind"] = "scores"
        s["customer_id"] = ids
        p = f["truth/churn/prob"][...].copy()
        p[10:40] = 0.5  # ties at the cut
        s["scores/churn"] = p
    key = d / "key.hex"
    key.write_text(KEY + "\n")
    assign = str(d / "a.h5")
    run(1, "holdout", "--data", data, "--campaign", "spring", "--fraction", 0.3, "--out", assign, "--quiet")
    return data, scores, str(key), assign


def reference(scores, top, mask=None):
    with h5py.File(scores) as s:
        ids, p = s["customer_id"][...], s["scores/churn"][...].astype(np.float64)
    if mask is not None:
        ids, p = ids[mask], p[mask]
    o = np.lexsort((ids, -p))[:top]
    return [pseudo(i) for i in ids[o]], p[o], ids[o]


def test_help():
    r = run(1, "export", "--help")
    assert r.stdout.startswith("usage: propscore export") and "%s" not in r.stdout
    assert "\n  export " in run(1, "--help").stdout


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_top_n_read_back(files, tmp_path, fmt):
    data, scores, key, _ = files
    out = str(tmp_path / f"aud.{fmt}")
    r = run(3, "export", "--scores", scores, "--by", "churn", "--top", 25, "--id-key-file", key, "--out", out,
            env={"PROPSCORE_PYTHON": sys.executable})
    df = pd.read_csv(out, dtype={"pseudo_id": str}) if fmt == "csv" else pd.read_parquet(out)
    pids, p, raw = reference(scores, 25)
    assert list(df.columns) == ["pseudo_id", "score"]
    assert df["pseudo_id"].tolist() == pids
    np.testing.assert_array_equal(df["score"].to_numpy(), p)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640
    assert not leftovers(tmp_path) and not [f for f in os.listdir(tmp_path) if f != f"aud.{fmt}"]
    # no raw id anywhere: the file, stdout, stderr
    blob = open(out, "rb").read()
    logs = r.stdout + r.stderr
    with h5py.File(scores) as s:
        for i in s["customer_id"][...][:500].tolist() + raw.tolist():
            assert str(i).encode() not in blob
            assert str(i) not in logs


def test_ranks_and_percent_and_group(files, tmp_path):
    data, scores, key, assign = files
    outs = []
    for np_ in (1, 3):
        outs.append(str(tmp_path / f"a{np_}.csv"))
        run(np_, "export", "--scores", scores, "--by", "churn", "--top-percent", 10, "--id-key-file", key,
            "--holdout", assign, "--group", "control", "--out", outs[-1], "--quiet")
    assert open(outs[0], "rb").read() == open(outs[1], "rb").read()
    with h5py.File(assign) as a:
        ctl = a["holdout/spring"][...] == 1
    df = pd.read_csv(outs[0], dtype={"pseudo_id": str})
    pids, p, _ = reference(scores, int(np.floor(0.10 * ctl.sum() + 1e-9)), mask=ctl)
    assert df["pseudo_id"].tolist() == pids
    np.testing.assert_array_equal(df["score"].to_numpy(), p)


def test_other_key_other_pseudonyms(files, tmp_path):
    _, scores, _, _ = files
    k2 = tmp_path / "k2"
    k2.write_text("ff" * 16)
    out = str(tmp_path / "b.csv")
    run(1, "export", "--scores", scores, "--by", "churn", "--top", 5, "--id-key-file", str(k2), "--out", out)
    _, _, raw = reference(scores, 5)
    assert pd.read_csv(out, dtype={"pseudo_id": str})["pseudo_id"].tolist() == [pseudo(i, "ff" * 16) for i in raw]


def test_persona_and_group(files, tmp_path):
    """--personas/--persona keep one persona of a segment file (with --holdout: of
    its group too); the same bytes for 1 and 3 ranks; a persona out of range is a
    usage error naming the file's range."""
    data, scores, key, assign = files
    personas = str(tmp_path / "p.h5")
    run(2, "segment", "--data", data, "--k", 4, "--out", personas, "--quiet")
    outs = []
    for np_ in (1, 3):
        outs.append(str(tmp_path / f"p{np_}.csv"))
        run(np_, "export", "--scores", scores, "--by", "churn", "--top", 40, "--id-key-file", key,
            "--holdout", assign, "--group", "treatment", "--personas", personas, "--persona", 2,
            "--out", outs[-1], "--quiet")
    assert open(outs[0], "rb").read() == open(outs[1], "rb").read()
    with h5py.File(assign) as a, h5py.File(personas) as p:
        mask = (a["holdout/spring"][...] == 0) & (p["segments/persona"][...] == 2)
    assert mask.sum() > 40
    df = pd.read_csv(outs[0], dtype={"pseudo_id": str})
    pids, sc, _ = reference(scores, 40, mask=mask)
    assert df["pseudo_id"].tolist() == pids
    np.testing.assert_array_equal(df["score"].to_numpy(), sc)
    r = run(2, "export", "--scores", scores, "--by", "churn", "--top", 5, "--id-key-file", key,
            "--personas", personas, "--persona", 4, "--out", str(tmp_path / "q.csv"), check=False)
    assert r.returncode == 2 and "personas 0 to 3" in error_line(r) and personas in error_line(r)
    assert not (tmp_path / "q.csv").exists()


@pytest.mark.parametrize("args,msg", [
    (["--top", "5", "--out", "x.txt"], ".csv or .parquet"),
    (["--top", "5", "--out", "x.csv", "--persona", "1"], "--personas and --persona"),
    (["--top", "5", "--top-percent", "3", "--out", "x.csv"], "one of --top"),
    (["--top", "5", "--out", "x.csv", "--group", "control"], "--holdout and --group"),
    (["--top", "5", "--out", "x.csv", "--campaign", "spring"], "--campaign"),  # issue 32: was ignored
])
def test_usage_errors(files, tmp_path, args, msg):
    _, scores, key, _ = files
    args = [str(tmp_path / a) if a.startswith("x.") else a for a in args]
    r = run(2, "export", "--scores", scores, "--by", "churn", "--id-key-file", key, *args, check=False)
    assert r.returncode == 2 and msg in error_line(r)


def test_bad_key_file(files, tmp_path):
    _, scores, _, _ = files
    k = tmp_path / "k"
    k.write_text("not a key")
    r = run(2, "export", "--scores", scores, "--by", "churn", "--top", 3, "--id-key-file", str(k), "--out",
            str(tmp_path / "o.csv"), check=False)
    assert r.returncode == 2 and "32 hex digits" in error_line(r) and "not a key" not in r.stderr
    assert not (tmp_path / "o.csv").exists()


def _scores_with_ids(path, ids, seed=5):
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as s:
        s.attrs["kind"] = "scores"
        s["customer_id"] = np.asarray(ids, dtype=np.int64)
        s["scores/churn"] = rng.random(len(ids)).astype(np.float32)
    return path


def test_numeric_looking_pseudonyms_get_a_letter(tmp_path):
    """Issue 32: a pseudonym of digits only (or digits 'e' digits) was read by
    spreadsheets and pandas as a number (leading zeros and digits lost): it
    gets a leading 'p'; the others stay 16 hex digits."""
    numeric, other = [], []
    for i in range(1, 60000):
        h = f"{siphash24(bytes.fromhex(KEY), i.to_bytes(8, 'little', signed=True)):016x}"
        (numeric if re.fullmatch(r"[0-9]+|[0-9]+e[0-9]+", h) else other).append(i)
    assert any("e" in pseudo(i) for i in numeric) and any("e" not in pseudo(i) for i in numeric)
    ids = numeric[:20] + other[:20]
    scores = _scores_with_ids(str(tmp_path / "s.h5"), ids)
    key = tmp_path / "k"
    key.write_text(KEY)
    out = str(tmp_path / "a.csv")
    run(2, "export", "--scores", scores, "--by", "churn", "--top", len(ids), "--id-key-file", str(key), "--out", out)
    df = pd.read_csv(out, dtype={"pseudo_id": str})
    for p in df["pseudo_id"]:
        with pytest.raises(ValueError):
            float(p)  # what a spreadsheet would do with it
    pids, _, raw = reference(scores, len(ids))
    assert df["pseudo_id"].tolist() == pids
    got = dict(zip(raw.tolist(), df["pseudo_id"]))
    assert all(got[i][0] == "p" and len(got[i]) == 17 for i in numeric[:20])
    assert all(len(got[i]) == 16 for i in other[:20])


def test_repeated_id_refused(files, tmp_path):
    """Issue 32: a repeated customer id in the scores wrote its pseudonym twice."""
    ids = list(range(100, 200))
    ids[57] = ids[12]
    scores = _scores_with_ids(str(tmp_path / "s.h5"), ids)
    out = tmp_path / "a.csv"
    r = run(2, "export", "--scores", scores, "--by", "churn", "--top", 100, "--id-key-file", files[2],
            "--out", str(out), check=False)
    line = error_line(r)
    assert r.returncode == 1 and scores in line and "/customer_id" in line and "row 57" in line
    assert not out.exists()


def test_key_file_fifo_refused(files, tmp_path):
    """Issue 32: --id-key-file on a FIFO blocked for ever."""
    fifo = tmp_path / "k.fifo"
    os.mkfifo(fifo)
    r = run(2, "export", "--scores", files[1], "--by", "churn", "--top", 3, "--id-key-file", str(fifo),
            "--out", str(tmp_path / "o.csv"), check=False, timeout=60)
    assert r.returncode == 2 and "not a regular file" in error_line(r) and str(fifo) in error_line(r)


@pytest.mark.parametrize("content,msg", [
    (KEY.encode() + b"\0" + b"ff" * 8, "NUL byte"),
    (KEY.encode() + b" " * 300 + b"ab", "too long"),
])
def test_key_file_nul_or_long_refused(files, tmp_path, content, msg):
    """Issue 32: bytes after a NUL, or after the first 255 bytes, were ignored."""
    k = tmp_path / "k"
    k.write_bytes(content)
    r = run(1, "export", "--scores", files[1], "--by", "churn", "--top", 3, "--id-key-file", str(k),
            "--out", str(tmp_path / "o.csv"), check=False)
    assert r.returncode == 2 and msg in error_line(r) and "32 hex digits" in error_line(r)


def test_key_file_warnings(files, tmp_path):
    """Issue 32: a key every user can read, or the all-zero key, is warned about."""
    k = tmp_path / "k"
    k.write_text(KEY)
    args = ["export", "--scores", files[1], "--by", "churn", "--top", 3, "--id-key-file", str(k)]
    os.chmod(k, 0o644)
    r = run(2, *args, "--out", str(tmp_path / "a.csv"))
    assert "readable by every user" in r.stderr and KEY not in r.stderr + r.stdout
    os.chmod(k, 0o600)
    r = run(2, *args, "--out", str(tmp_path / "b.csv"))
    assert "warning" not in r.stderr
    k.write_text("0" * 32)
    r = run(2, *args, "--out", str(tmp_path / "c.csv"))
    assert "all-zero key" in r.stderr


STUB = """import os, re, signal, stat, sys
st = os.lstat(sys.argv[1])
with open(os.environ["STUB_REPORT"], "w") as f:
    f.write("%o %s %d" % (stat.S_IMODE(st.st_mode), os.path.basename(sys.argv[1]), stat.S_ISREG(st.st_mode)))
os.kill(os.getppid(), signal.SIGKILL)
"""


def test_parquet_csv_is_a_private_temporary(files, tmp_path):
    """Issue 32: the CSV a Parquet export is made from was opened with
    fopen(.., "w") (a planted link followed, mode 0644) under a name the
    clean-up of dead runs' temporaries did not match. Now it is an output
    temporary (exclusive, no-follow, 0600, <out>.tmp-<pid>-<8 hex>): a run
    killed while converting leaves it, and the next run removes it."""
    _, scores, key, _ = files
    d = tmp_path / "out"
    d.mkdir()
    out = str(d / "aud.parquet")
    stub, report = tmp_path / "stub.py", tmp_path / "report"
    stub.write_text(STUB)
    r = run(1, "export", "--scores", scores, "--by", "churn", "--top", 10, "--id-key-file", key, "--out", out,
            check=False, env={"PROPSCORE_PARQUET_HELPER": str(stub), "STUB_REPORT": str(report)})
    assert r.returncode != 0
    mode, name, regular = report.read_text().split()
    assert mode == "600" and regular == "1"
    assert re.fullmatch(r"aud\.parquet\.tmp-[1-9][0-9]*-[0-9a-f]{8}", name), name
    assert name in os.listdir(d)  # killed: left behind ...
    run(1, "export", "--scores", scores, "--by", "churn", "--top", 10, "--id-key-file", key, "--out", out,
        env={"PROPSCORE_PYTHON": sys.executable})
    assert sorted(os.listdir(d)) == ["aud.parquet"]  # ... and removed by the next run
    assert pd.read_parquet(out)["pseudo_id"].tolist() == reference(scores, 10)[0]
