"""scripts/to_hdf5.py: CSV/Parquet -> input schema, readable by propscore; and
its data safety: no silent one-hot of a mistyped numeric column, no cell value
or customer id in a message, never overwriting the input, a private 0640
output written through an exclusive temporary file that never outlives a run."""
import json
import os
import stat
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
import pytest

from pstest import SRC, digest, leftovers, run

TOOL = os.path.join(SRC, "scripts", "to_hdf5.py")

CSV = """customer_id,recency,spend,region,is_member,signup,status,bought
101,3,10.5,north,true,2020-01-05,active,1
102,40,,south,false,2021-03-01,churned,0
103,,7.25,north,true,2019-07-30,active,0
104,12,100,,false,2022-11-11,churned,1
105,7,0,east,true,2018-02-14,active,0
"""


def tool(*args, check=True, cwd=None, timeout=120, setup=None):
    """Run the tool; SETUP: Python code run first in the tool's own process
    (it sees os, secrets, signal, h5py and OUT, the --out path)."""
    cmd = [sys.executable, TOOL, *map(str, args)]
    if setup:
        out = str(args[list(map(str, args)).index("--out") + 1])
        code = (f"import os, runpy, secrets, signal, sys, h5py\nOUT = {out!r}\n{setup}\n"
                "sys.argv = sys.argv[1:]\nrunpy.run_path(sys.argv[0], run_name='__main__')\n")
        cmd = [sys.executable, "-c", code, *cmd[1:]]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=timeout)
    if check:
        assert p.returncode == 0, p.stderr
    return p


@pytest.fixture
def csv(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text(CSV)
    return f


def test_csv_round_trip(tmp_path, csv):
    out = tmp_path / "c.h5"
    tool(csv, "--out", out, "--id", "customer_id", "--label", "purchase_3m=bought",
         "--label", "churn=status:churned", "--drop", "signup")
    with h5py.File(out) as h:
        names = [s.decode() for s in h["feature_names"][...]]
        X = h["features"][...]
        assert h.attrs["schema_version"] == 1
        assert names == ["recency", "spend", "region=east", "region=north", "region=south", "is_member"]
        assert list(h["customer_id"][...]) == [101, 102, 103, 104, 105]
        assert list(h["labels/purchase_3m"][...]) == [1, 0, 0, 1, 0]
        assert list(h["labels/churn"][...]) == [0, 1, 0, 1, 0]
        assert X.dtype == np.float32
        assert np.isnan(X[2, 0]) and np.isnan(X[1, 1])                   # numeric NaNs kept
        assert X[0, 1] == np.float32(10.5) and X[3, 1] == 100
        assert list(X[:, 3]) == [1, 0, 1, 0, 0] and list(X[3, 2:5]) == [0, 0, 0]  # one-hot, missing -> zeros
        assert list(X[:, 5]) == [1, 0, 1, 0, 1]                           # booleans
    r = json.loads(run(2, "inspect", out, "--json").stdout)
    assert r["rows"] == 5 and r["nan"] == 2 and r["labels"]["churn"]["positives"] == 2


def test_parquet_and_dates(tmp_path, csv):
    df = pd.read_csv(csv, parse_dates=["signup"])
    pq = tmp_path / "c.parquet"
    df.to_parquet(pq)
    out = tmp_path / "p.h5"
    tool(pq, "--out", out, "--id", "customer_id", "--label", "y=bought", "--categorical", "status")
    with h5py.File(out) as h:
        names = [s.decode() for s in h["feature_names"][...]]
        X = h["features"][...]
        assert "signup" in names and "status=churned" in names
        assert X[0, names.index("signup")] == (pd.Timestamp("2020-01-05") - pd.Timestamp("1970-01-01")).days


@pytest.mark.parametrize("args,msg", [
    (["--id", "nope"], "--id: no column 'nope'"),
    (["--label", "y=recency"], "column 'recency' (label y): missing value at row 2"),
    (["--label", "y=status"], "column 'status' (label y): the value at row 0 (line 2) is not 0/1"),
    (["--label", "bad"], "expected NAME=COL[:POSITIVE]"),
    (["--id", "spend"], "column 'spend' (id): missing value at row 1"),
])
def test_clear_errors(tmp_path, csv, args, msg):
    out = tmp_path / "e.h5"
    p = tool(csv, "--out", out, *args, check=False)
    assert p.returncode == 1
    assert msg in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not out.exists()


# Issue 32: clear errors, never a raw id, never a silent inf or a duplicate name.
@pytest.mark.parametrize("text,args,msg", [
    ("cid,x,y\n1,1,0\n18446744073709551617,2,1\n", ["--id", "cid"],
     "column 'cid' (id): the value at row 1 (line 3) is not an integer of at most 64 bits"),
    ("cid,x,y\n1,1,0\n9223372036854775808,2,1\n", ["--id", "cid"],
     "column 'cid' (id): the value at row 1 (line 3) is not an integer of at most 64 bits"),
    ("cid,x,y\n1,1,0\n2,3,1\n", ["--label", ".=y"], "--label .=y: bad label name '.'"),
    ("cid,x,y\n1,1,0\n2,3,1\n", ["--label", "a,b=y"], "--label a,b=y: bad label name 'a,b'"),
    ("cid,x,y\n555000111,1,0\n2,3,1\n", ["--id", "cid", "--label", "y=cid"],
     "--label y=cid: column 'cid' is the --id column"),
    ("cid,x,y\n555000111,1,0\n2,3,1\n", ["--label", "y=cid"],
     "column 'cid' (label y): the value at row 0 (line 2) is not 0/1"),
    ("cid,x,y\n1,1,0\n2,1e39,1\n", ["--id", "cid"],
     "column 'x': the value at row 1 (line 3) is beyond float32's range"),
    ("cid,x,y\n1,1,0\n2,-3.5e38,1\n", ["--id", "cid"],
     "column 'x': the value at row 1 (line 3) is beyond float32's range"),
    ("cid,color,color=red,y\n1,red,1,0\n2,blue,0,1\n", ["--id", "cid"],
     "feature 'color=red' would come from both the one-hot of column 'color' and column 'color=red'"),
])
def test_clear_errors_issue_32(tmp_path, text, args, msg):
    f = tmp_path / "t.csv"
    f.write_text(text)
    out = tmp_path / "t.h5"
    extra = [] if "--label" in args else ["--label", "lab=y"]
    line = error_line(tool(f, "--out", out, *extra, *args, check=False))
    assert msg in line, line
    assert "unexpected" not in line and "555000111" not in line and "1e39" not in line
    assert "18446744073709551617" not in line and "9223372036854775808" not in line
    assert not out.exists() and not leftovers(tmp_path)


def test_merge_beyond_float32_refused(tmp_path, csv):
    m = tmp_path / "m.csv"
    m.write_text("customer_id,emb_0\n101,1\n102,2\n103,4e38\n104,0\n105,1\n")
    out = tmp_path / "o.h5"
    line = error_line(tool(csv, "--out", out, "--id", "customer_id", "--merge", m, check=False))
    assert f"{m}: --merge: column 'emb_0': the value at row 2 (line 4) is beyond float32's range" in line, line
    assert not out.exists()


def test_missing_input(tmp_path):
    p = tool(tmp_path / "none.csv", "--out", tmp_path / "o.h5", check=False)
    assert p.returncode == 1 and "no such file" in p.stderr


def error_line(p, code=1):
    """The one 'to_hdf5: error:' line of a failed run."""
    assert p.returncode == code, (p.returncode, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("to_hdf5: error: "), p.stderr
    return lines[0]


# row 2 (customer 3) starts on line 6: row 1 spans two lines, then a blank line
MIXED = """customer_id,spend,region
1,10.5,north
2,7,"south
west"

3,{bad},east
4,0,north
"""


@pytest.mark.parametrize("bad,value", [('"12,5"', "12,5"), ("unknown", "unknown")])
def test_mixed_numeric_column_fails(tmp_path, bad, value):
    f = tmp_path / "m.csv"
    f.write_text(MIXED.format(bad=bad))
    out = tmp_path / "m.h5"
    line = error_line(tool(f, "--out", out, "--id", "customer_id", check=False))
    assert str(f) in line and "column 'spend'" in line and "row 2 (line 6)" in line, line
    assert "--categorical spend" in line and "--drop spend" in line, line
    assert value not in line                                             # a cell value never reaches a log
    assert not out.exists() and not leftovers(tmp_path)


def test_mixed_column_ways_out(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text(MIXED.format(bad="-"))
    for extra, want in [(["--na-values", "n/a,-"], ["spend"]), (["--categorical", "spend"], ["spend=-", "spend=0"]),
                        (["--drop", "spend"], [])]:
        out = tmp_path / "m.h5"
        tool(f, "--out", out, "--id", "customer_id", *extra)
        with h5py.File(out) as h:
            names = [s.decode() for s in h["feature_names"][...]]
            assert [n for n in names if n.startswith("spend")][:len(want)] == want, (extra, names)
            if extra[0] == "--na-values":
                col = h["features"][:, names.index("spend")]
                assert list(col[[0, 1, 3]]) == [10.5, 7, 0] and np.isnan(col[2])


def test_parquet_mixed_text_column(tmp_path):
    pq = tmp_path / "s.parquet"
    pd.DataFrame({"spend": ["10.5", "n/a", "7"], "region": ["a", "b", "a"]}).to_parquet(pq)
    out = tmp_path / "s.h5"
    line = error_line(tool(pq, "--out", out, check=False))
    assert "column 'spend'" in line and "row 1" in line and "n/a" not in line, line
    tool(pq, "--out", out, "--na-values", "n/a")
    with h5py.File(out) as h:
        assert [s.decode() for s in h["feature_names"][...]] == ["spend", "region=a", "region=b"]
        assert h["features"][0, 0] == 10.5 and np.isnan(h["features"][1, 0])


@pytest.mark.parametrize("form", ["same", "absolute", "dotdot", "symlink", "hardlink"])
def test_out_is_input_refused(tmp_path, csv, form):
    (tmp_path / "sub").mkdir()
    os.symlink("c.csv", tmp_path / "link.h5")
    os.link(csv, tmp_path / "hard.h5")
    out = {"same": "c.csv", "absolute": str(csv), "dotdot": "sub/../c.csv", "symlink": "link.h5",
           "hardlink": "hard.h5"}[form]
    before = digest(csv)
    line = error_line(tool("c.csv", "--out", out, check=False, cwd=tmp_path))
    assert "is the input" in line, line
    assert digest(csv) == before and os.path.islink(tmp_path / "link.h5") and not leftovers(tmp_path)


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_out_not_a_regular_file_refused(tmp_path, csv, kind):
    out = tmp_path / "o.h5"
    os.mkdir(out) if kind == "directory" else os.mkfifo(out)
    line = error_line(tool(csv, "--out", out, check=False))
    assert str(out) in line
    assert (out.is_dir() if kind == "directory" else stat.S_ISFIFO(os.stat(out).st_mode)) and not leftovers(tmp_path)


def test_input_fifo_refused_without_hanging(tmp_path):
    fifo = tmp_path / "in.csv"
    os.mkfifo(fifo)
    line = error_line(tool(fifo, "--out", tmp_path / "o.h5", check=False, timeout=30))
    assert str(fifo) in line and "not a regular file" in line


def test_duplicate_id_not_logged(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("cid,x\n555000111,1\n987654321,2\n222,3\n987654321,4\n222,5\n")
    line = error_line(tool(f, "--out", tmp_path / "d.h5", "--id", "cid", check=False))
    assert "column 'cid'" in line and "rows 1 and 3 (lines 3 and 5)" in line and "2 row(s)" in line, line
    assert "987654321" not in line and "222" not in line


def test_output_mode_0640(tmp_path, csv):
    out = tmp_path / "c.h5"
    tool(csv, "--out", out)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640
    tool(csv, "--out", out)                                              # replacing an existing output too
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640 and not leftovers(tmp_path)


@pytest.mark.parametrize("planted,ok", [
    ("f'{OUT}.tmp-{os.getpid()}'", True),                                # the old name: pid only
    ("f'{OUT}.tmp-{os.getpid()}-f00dfeed'", False),                      # the new name, its random part forced
], ids=["old-name", "new-name"])
def test_planted_symlink_not_followed(tmp_path, csv, planted, ok):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "c.h5"
    setup = f"secrets.token_hex = lambda n=None: 'f00dfeed'\nos.symlink({str(victim)!r}, {planted})"
    p = tool(csv, "--out", out, setup=setup, check=False)
    assert victim.read_text() == "precious\n"
    if ok:
        assert p.returncode == 0, p.stderr
        assert not os.path.islink(out) and h5py.is_hdf5(out)
    else:
        assert "cannot create temporary file" in error_line(p) and not out.exists()


@pytest.mark.parametrize("how,code", [
    ("os.kill(os.getpid(), signal.SIGTERM)", 143),
    ("raise OSError(28, 'No space left on device')", 1),
], ids=["sigterm", "enospc"])
def test_no_temporary_file_left_after_failure(tmp_path, csv, how, code):
    out = tmp_path / "c.h5"
    setup = ("orig = h5py.Group.create_dataset\n"
             "def hook(self, name, *a, **k):\n"
             f"    if name == 'customer_id': {how}\n"
             "    return orig(self, name, *a, **k)\n"
             "h5py.Group.create_dataset = hook")
    p = tool(csv, "--out", out, setup=setup, check=False)
    assert not leftovers(tmp_path) and not out.exists()
    error_line(p, code)
