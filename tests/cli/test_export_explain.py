"""export --explain (issue 29): each exported customer's reason codes,
read from a scores file written by score --explain N: the feature NAMES of
/explain/<by>/feature (the data's names) and the float32 values of
/explain/<by>/value, row for row with the pseudonyms; the same bytes for 1
and 2 ranks; Parquet keeps them; refused (one line, nothing written) for a
scores file without /explain and with --uplift."""
import os

import h5py
import numpy as np
import pandas as pd
import pytest

from pstest import error_line, gen, run
from test_export import KEY, pseudo

TOP = 3


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("export_explain")
    data = gen(str(d / "d.h5"), rows=2000, features=8)
    with h5py.File(data, "r+") as f:  # names a CSV must quote
        names = [n.decode() if isinstance(n, bytes) else n for n in f["feature_names"][...]]
        names[1], names[2] = "spend, last 3m", 'the "vip" flag'
        del f["feature_names"]
        f["feature_names"] = np.array(names, dtype=h5py.string_dtype())
    model, scores, plain = str(d / "m.h5"), str(d / "s.h5"), str(d / "p.h5")
    run(2, "train", "--data", data, "--model", model, "--model-type", "gbdt", "--trees", "8", "--quiet")
    run(2, "score", "--data", data, "--model", model, "--out", scores, "--explain", TOP, "--quiet")
    run(1, "score", "--data", data, "--model", model, "--out", plain, "--quiet")
    key = d / "key.hex"
    key.write_text(KEY + "\n")
    return d, names, scores, plain, str(key)


def export(np_, scores, key, out, *extra, check=True):
    return run(np_, "export", "--scores", scores, "--by", "churn", "--top", 100, "--id-key-file", key, "--out", out,
               "--explain", "--quiet", *extra, check=check)


def test_names_and_values_are_the_scores_files(files):
    d, names, scores, _, key = files
    out1, out2 = str(d / "a1.csv"), str(d / "a2.csv")
    export(1, scores, key, out1)
    export(2, scores, key, out2)
    assert open(out1, "rb").read() == open(out2, "rb").read()
    a = pd.read_csv(out1, dtype={"pseudo_id": str})
    assert list(a.columns) == ["pseudo_id", "score"] + [f"{c}_{k}" for k in range(1, TOP + 1)
                                                        for c in ("reason", "contribution")]
    with h5py.File(scores) as s:
        ids, feat, val = s["customer_id"][...], s["explain/churn/feature"][...], s["explain/churn/value"][...]
        assert [n.decode() for n in s["explain/feature_names"][...]] == names
    row = {pseudo(i): r for r, i in enumerate(ids)}
    assert len(a) == 100
    for _, x in a.iterrows():
        r = row[x["pseudo_id"]]
        for k in range(TOP):
            assert x[f"reason_{k + 1}"] == names[feat[r, k]]
            assert np.float32(x[f"contribution_{k + 1}"]) == val[r, k]
    assert set(a["reason_1"]) - set(names) == set()


def test_parquet_keeps_the_reasons(files):
    pytest.importorskip("pyarrow")
    d, names, scores, _, key = files
    csv, pq = str(d / "b.csv"), str(d / "b.parquet")
    export(1, scores, key, csv)
    export(1, scores, key, pq)
    a, b = pd.read_csv(csv, dtype={"pseudo_id": str}), pd.read_parquet(pq)
    assert list(a.columns) == list(b.columns)
    assert (a["reason_2"] == b["reason_2"]).all() and (a["contribution_3"] == b["contribution_3"]).all()


def test_refused_without_explain_data(files):
    d, _, _, plain, key = files
    out = str(d / "c.csv")
    p = export(2, plain, key, out, check=False)
    assert p.returncode == 2
    assert f"{plain} has no /explain: it needs a scores file written by score --explain N" in error_line(p)
    assert not os.path.exists(out)
    p = export(1, plain, key, out, "--uplift", check=False)
    assert p.returncode == 2 and "uplift scores have no reason codes" in error_line(p)
    assert not os.path.exists(out)
