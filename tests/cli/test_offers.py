"""propscore offers (issue 13): next best offer per customer by expected value
(probability x value) with eligibility and a per-customer limit, equal to a
NumPy reference; a global budget kept exactly, the same for 1-3 ranks."""
import h5py
import numpy as np
import pytest

from pstest import error_line, gen, run

HEADS = ["card", "insurance", "loan", "savings"]
VALUES = {"card": 1.0, "insurance": 2.5, "loan": 4.0, "savings": 0.7}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("offers")
    data = gen(str(d / "d.h5"), rows=6000, features=6, targets=",".join(f"{h}:0.1" for h in HEADS))
    rng = np.random.default_rng(2)
    with h5py.File(data, "a") as f:
        n = f["customer_id"].shape[0]
        f["labels/ok_loan"] = (rng.random(n) < 0.6).astype(np.uint8)
        f["labels/ok_card"] = (rng.random(n) < 0.8).astype(np.uint8)
        ids = f["customer_id"][...]
    scores = str(d / "s.h5")
    with h5py.File(scores, "w") as s:
        s.attrs["kind"] = "scores"
        s["customer_id"] = ids
        for h in HEADS:
            p = rng.random(n).astype(np.float32) * 0.3
            p[rng.random(n) < 0.05] = 0  # zero value: never offered
            p[:50] = 0.125  # ties across heads and customers
            s["scores/" + h] = p
    return data, scores


def reference(data, scores, max_offers, budget=None, eligible=True):
    with h5py.File(scores) as s:
        ids = s["customer_id"][...]
        P = np.stack([s["scores/" + h][...].astype(np.float64) for h in HEADS], axis=1)
    V = P * np.array([VALUES[h] for h in HEADS])
    if eligible:
        with h5py.File(data) as f:
            V[:, HEADS.index("loan")] = np.where(f["labels/ok_loan"][...] == 1, V[:, HEADS.index("loan")], -np.inf)
            V[:, HEADS.index("card")] = np.where(f["labels/ok_card"][...] == 1, V[:, HEADS.index("card")], -np.inf)
    order = np.argsort(-V, axis=1, kind="stable")[:, :max_offers]
    val = np.take_along_axis(V, order, axis=1)
    rank = np.where(val > 0, order, -1)
    val = np.where(val > 0, val, 0.0)
    if budget is not None:
        r, m = np.nonzero(rank >= 0)
        key = np.lexsort((m, ids[r], -val[r, m]))  # value desc, id asc, rank asc
        drop = key[budget:]
        rank[r[drop], m[drop]] = -1
        val[r[drop], m[drop]] = 0.0
    return ids, rank, val


def offers(np_, data, scores, out, *extra):
    return run(np_, "offers", "--scores", scores, "--data", data, "--out", out,
               "--value", ",".join(f"{h}={v}" for h, v in VALUES.items()),
               "--eligible", "loan=ok_loan,card=ok_card", *extra)


def load(out, m):
    with h5py.File(out) as f:
        assert [h.decode() if isinstance(h, bytes) else h for h in f["offers/heads"][...]] == HEADS
        return (f["customer_id"][...], np.stack([f[f"offers/rank_{i}"][...] for i in range(m)], axis=1),
                np.stack([f[f"offers/value_{i}"][...] for i in range(m)], axis=1))


def test_help():
    r = run(1, "offers", "--help")
    assert r.stdout.startswith("usage: propscore offers") and "%s" not in r.stdout
    assert "\n  offers " in run(1, "--help").stdout


@pytest.mark.parametrize("np_", [1, 3])
def test_equal_numpy_reference(files, tmp_path, np_):
    data, scores = files
    out = str(tmp_path / "o.h5")
    offers(np_, data, scores, out, "--max-offers", 2)
    ids, rank, val = load(out, 2)
    rids, rrank, rval = reference(data, scores, 2)
    np.testing.assert_array_equal(ids, rids)
    np.testing.assert_array_equal(rank, rrank)
    np.testing.assert_array_equal(val, rval)
    with h5py.File(out) as f:
        assert f["offers/rank_0"].dtype == np.int32 and f.attrs["offers"] == (rrank >= 0).sum()


@pytest.mark.parametrize("budget", [0, 1, 37, 2500, 10**9])
def test_budget_exact_for_1_2_3_ranks(files, tmp_path, budget):
    data, scores = files
    _, rrank, rval = reference(data, scores, 3, budget=budget)
    for np_ in (1, 2, 3):
        out = str(tmp_path / f"o{np_}.h5")
        offers(np_, data, scores, out, "--max-offers", 3, "--budget", budget)
        ids, rank, val = load(out, 3)
        np.testing.assert_array_equal(rank, rrank)
        np.testing.assert_array_equal(val, rval)
        assert (rank >= 0).sum() == min(budget, (reference(data, scores, 3)[1] >= 0).sum())


def test_ties_at_the_budget_boundary(files, tmp_path):
    """All four heads score 0.125 for the first 50 customers: with equal values
    the budget goes by customer id, then rank."""
    data, scores = files
    out = str(tmp_path / "o.h5")
    run(2, "offers", "--scores", scores, "--out", out, "--max-offers", 4, "--budget", 5000)
    with h5py.File(scores) as s:
        ids = s["customer_id"][...]
    VALUES_ALL = dict.fromkeys(HEADS, 1.0)
    with h5py.File(scores) as s:
        P = np.stack([s["scores/" + h][...].astype(np.float64) for h in HEADS], axis=1)
    order = np.argsort(-P, axis=1, kind="stable")
    val = np.take_along_axis(P, order, axis=1)
    rank = np.where(val > 0, order, -1)
    r, m = np.nonzero(rank >= 0)
    key = np.lexsort((m, ids[r], -val[r, m]))
    rank[r[key[5000:]], m[key[5000:]]] = -1
    got = np.stack([h5py.File(out)[f"offers/rank_{i}"][...] for i in range(4)], axis=1)
    np.testing.assert_array_equal(got, rank)
    assert VALUES_ALL


@pytest.mark.parametrize("args,msg,rc", [
    (["--value", "nope=3"], "no head 'nope'", 2),
    (["--value", "card=-1"], "--value", 2),
    (["--eligible", "card=missing"], "/labels/missing", 1),
    (["--eligible", "card"], "HEAD=LABEL", 2),
    # issue 32: a head named twice, or the option given twice, was the last one silently
    (["--value", "card=5,card=7"], "names head 'card' twice", 2),
    (["--eligible", "loan=ok_loan,loan=ok_card"], "names head 'loan' twice", 2),
    (["--value", "card=5", "--value", "loan=7"], "--value given twice", 2),
])
def test_errors(files, tmp_path, args, msg, rc):
    data, scores = files
    r = run(2, "offers", "--scores", scores, "--data", data, "--out", str(tmp_path / "o.h5"), *args, check=False)
    assert r.returncode == rc and msg in error_line(r)
    assert not (tmp_path / "o.h5").exists()
