"""propscore export (issue 13): top N / top P% by a score as CSV or Parquet
with pseudonymous ids (SipHash-2-4 under a key file: checked against a Python
SipHash and the reference vector), read back by pandas; a holdout group; a persona;
0640; the same bytes for 1 and 3 ranks; no raw id in the file or the logs."""
import os
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
    return f"{siphash24(bytes.fromhex(key), int(i).to_bytes(8, 'little', signed=True)):016x}"


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
