"""scripts/to_hdf5.py: CSV/Parquet -> input schema, readable by propscore."""
import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
import pytest

from pstest import SRC, run

TOOL = os.path.join(SRC, "scripts", "to_hdf5.py")

CSV = """customer_id,recency,spend,region,is_member,signup,status,bought
101,3,10.5,north,true,2020-01-05,active,1
102,40,,south,false,2021-03-01,churned,0
103,,7.25,north,true,2019-07-30,active,0
104,12,100,,false,2022-11-11,churned,1
105,7,0,east,true,2018-02-14,active,0
"""


def tool(*args, check=True):
    p = subprocess.run([sys.executable, TOOL, *map(str, args)], capture_output=True, text=True)
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
    (["--label", "y=status"], "value 'active' at row 0 is not 0/1"),
    (["--label", "bad"], "expected NAME=COL[:POSITIVE]"),
    (["--id", "spend"], "column 'spend' (id): missing value at row 1"),
])
def test_clear_errors(tmp_path, csv, args, msg):
    out = tmp_path / "e.h5"
    p = tool(csv, "--out", out, *args, check=False)
    assert p.returncode == 1
    assert msg in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not out.exists()


def test_missing_input(tmp_path):
    p = tool(tmp_path / "none.csv", "--out", tmp_path / "o.h5", check=False)
    assert p.returncode == 1 and "no such file" in p.stderr
