"""propscore holdout: a stable treatment/control split by a salted hash of the
customer id (issue 13): the rule itself (numpy twin), realised shares within
3 standard errors overall and per stratum, the same groups for 1-3 ranks, a
re-ordered file and next month's file, and errors as one line."""
import h5py
import numpy as np
import pytest

from pstest import _mix64, error_line, gen, run

FRACTION = 0.1


def fnv1a64(s):
    h = 0xcbf29ce484222325
    for c in s.encode():
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def control_rule(ids, campaign, fraction):
    """control iff ps_id_unit(id, fnv1a64("holdout:" + campaign)) < fraction."""
    salt = np.uint64(fnv1a64("holdout:" + campaign))
    u = (_mix64(_mix64(ids.astype(np.int64).view(np.uint64)) ^ salt) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return u < fraction


def groups(path, campaign="spring"):
    with h5py.File(path) as f:
        return dict(zip(f["customer_id"][...].tolist(), f["holdout/" + campaign][...].tolist()))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return gen(str(tmp_path_factory.mktemp("holdout") / "d.h5"), rows=30000, features=4)


def test_help():
    r = run(1, "holdout", "--help")
    assert r.stdout.startswith("usage: propscore holdout") and "%s" not in r.stdout
    assert "\n  holdout " in run(1, "--help").stdout


def test_rule_shares_and_strata(data, tmp_path):
    out = str(tmp_path / "a.h5")
    r = run(2, "holdout", "--data", data, "--campaign", "spring", "--fraction", FRACTION, "--strata", "churn",
            "--out", out)
    with h5py.File(data) as f:
        ids, churn = f["customer_id"][...], f["labels/churn"][...]
    with h5py.File(out) as f:
        assert f.attrs["kind"] == b"holdout" or f.attrs["kind"] == "holdout"
        np.testing.assert_array_equal(f["customer_id"][...], ids)
        h = f["holdout/spring"]
        g = h[...]
        assert h.dtype == np.uint8 and set(np.unique(g)) <= {0, 1}
        np.testing.assert_array_equal(g.astype(bool), control_rule(ids, "spring", FRACTION))
        assert h.attrs["customers"] == len(ids) and h.attrs["control"] == g.sum()
        assert abs(h.attrs["control_share"] - g.mean()) < 1e-12
        s = f["strata/spring"]
        values, count, control = s["value"][...], s["count"][...], s["control"][...]
    np.testing.assert_array_equal(values, [0, 1])
    n = len(ids)
    assert abs(g.mean() - FRACTION) < 3 * np.sqrt(FRACTION * (1 - FRACTION) / n)
    for v, c, k in zip(values, count, control):
        m = churn == v
        assert c == m.sum() and k == g[m].sum()
        assert abs(k / c - FRACTION) < 3 * np.sqrt(FRACTION * (1 - FRACTION) / c), (v, k, c)
    # the report: overall and per stratum, with standard errors; never an id
    assert "control" in r.stdout and "churn=1:" in r.stdout and "se " in r.stdout
    logs = r.stdout + r.stderr
    for i in ids[:200]:
        assert str(int(i)) not in logs


def test_campaigns_differ(data, tmp_path):
    a, b = str(tmp_path / "a.h5"), str(tmp_path / "b.h5")
    run(1, "holdout", "--data", data, "--campaign", "spring", "--fraction", 0.5, "--out", a, "--quiet")
    run(1, "holdout", "--data", data, "--campaign", "summer", "--fraction", 0.5, "--out", b, "--quiet")
    ga, gb = np.array(list(groups(a).values())), np.array(list(groups(b, "summer").values()))
    assert 0.4 < np.mean(ga == gb) < 0.6  # independent splits


def test_same_groups_for_1_2_3_ranks(data, tmp_path):
    outs = []
    for p in (1, 2, 3):
        outs.append(str(tmp_path / f"a{p}.h5"))
        run(p, "holdout", "--data", data, "--campaign", "spring", "--fraction", FRACTION, "--out", outs[-1],
            "--quiet")
    with h5py.File(outs[0]) as f0:
        ref = f0["holdout/spring"][...]
    for o in outs[1:]:
        with h5py.File(o) as f:
            np.testing.assert_array_equal(f["holdout/spring"][...], ref)


def _copy(src, dst, order, extra_ids=None):
    """A data file with rows taken in `order` (then new customers appended)."""
    with h5py.File(src) as f, h5py.File(dst, "w") as g:
        X, ids = f["features"][...][order], f["customer_id"][...][order]
        labs = {k: f["labels"][k][...][order] for k in f["labels"]}
        names = f["feature_names"][...]
        if extra_ids is not None:
            rng = np.random.default_rng(3)
            X = np.concatenate([X, rng.normal(size=(len(extra_ids), X.shape[1])).astype(X.dtype)])
            ids = np.concatenate([ids, extra_ids])
            labs = {k: np.concatenate([v, np.zeros(len(extra_ids), v.dtype)]) for k, v in labs.items()}
        for k in f.attrs:
            g.attrs[k] = f.attrs[k]
        g["features"], g["customer_id"], g["feature_names"] = X, ids, names
        for k, v in labs.items():
            g["labels/" + k] = v


def test_same_groups_reordered_and_next_month(data, tmp_path):
    ref = str(tmp_path / "ref.h5")
    run(1, "holdout", "--data", data, "--campaign", "spring", "--fraction", FRACTION, "--out", ref, "--quiet")
    gref = groups(ref)
    with h5py.File(data) as f:
        n, ids = f["customer_id"].shape[0], f["customer_id"][...]
    rng = np.random.default_rng(11)
    perm = str(tmp_path / "perm.h5")
    _copy(data, perm, rng.permutation(n))
    a = str(tmp_path / "perm_a.h5")
    run(3, "holdout", "--data", perm, "--campaign", "spring", "--fraction", FRACTION, "--out", a, "--quiet")
    assert groups(a) == gref
    # next month: 10% of the customers left, 5000 new ones joined, rows shuffled
    keep = rng.permutation(n)[: int(0.9 * n)]
    new_ids = np.setdiff1d(rng.integers(1, 2**62, size=5200), ids)[:5000].astype(ids.dtype)
    nxt = str(tmp_path / "next.h5")
    _copy(data, nxt, keep, extra_ids=new_ids)
    b = str(tmp_path / "next_a.h5")
    run(2, "holdout", "--data", nxt, "--campaign", "spring", "--fraction", FRACTION, "--out", b, "--quiet")
    gb = groups(b)
    assert len(gb) == len(keep) + len(new_ids)
    for i in ids[keep].tolist():
        assert gb[i] == gref[i]
    newg = np.array([gb[i] for i in new_ids.tolist()])
    assert abs(newg.mean() - FRACTION) < 3 * np.sqrt(FRACTION * (1 - FRACTION) / len(newg))


@pytest.mark.parametrize("args,msg,rc", [
    (["--campaign", "a/b", "--fraction", "0.1"], "--campaign", 2),
    (["--campaign", "x", "--fraction", "1"], "--fraction", 2),
    (["--campaign", "x", "--fraction", "0.1", "--strata", "nope"], "/labels/nope not found", 1),
    (["--fraction", "0.1"], "--campaign", 2),
])
def test_errors(data, tmp_path, args, msg, rc):
    r = run(2, "holdout", "--data", data, "--out", str(tmp_path / "o.h5"), *args, check=False)
    assert r.returncode == rc
    assert msg in error_line(r)
    assert not (tmp_path / "o.h5").exists()


def test_bad_stratum_value_names_row(data, tmp_path):
    bad = str(tmp_path / "bad.h5")
    with h5py.File(data) as f:
        n = f["customer_id"].shape[0]
    _copy(data, bad, np.arange(n))
    with h5py.File(bad, "a") as g:
        v = np.zeros(n)
        v[12345] = 2.5
        g["labels/segment"] = v
    r = run(3, "holdout", "--data", bad, "--campaign", "x", "--fraction", "0.1", "--strata", "segment",
            "--out", str(tmp_path / "o.h5"), check=False)
    assert r.returncode == 1
    line = error_line(r)
    assert "/labels/segment" in line and "row 12345" in line and bad in line


def test_zero_rows_with_strata(data, tmp_path):
    """Issue 32: --strata on a file of 0 rows died with HDF5's 'addr overflow'
    (writing an empty dataset); now the groups and the strata are empty."""
    empty = str(tmp_path / "empty.h5")
    _copy(data, empty, np.arange(0))
    for np_ in (1, 2):
        out = str(tmp_path / f"o{np_}.h5")
        run(np_, "holdout", "--data", empty, "--campaign", "x", "--fraction", "0.1", "--strata", "churn",
            "--out", out, "--quiet")
        with h5py.File(out) as f:
            assert f["holdout/x"].shape == (0,) and f["holdout/x"].attrs["customers"] == 0
            assert all(f["strata/x/" + k].shape == (0,) for k in ("value", "count", "control"))


def test_uint64_ids_above_2_63(data, tmp_path):
    """Issue 32: uint64 ids >= 2^63 were read clipped to 2^63 - 1 and reported
    as repeated ids. They are taken bit for bit (as int64: negative), so the
    group is the rule's on the id's 8 bytes; a real repeat is still found."""
    with h5py.File(data) as f:
        n = f["customer_id"].shape[0]
    big = str(tmp_path / "big.h5")
    _copy(data, big, np.arange(n))
    ids = np.uint64(2**63) + np.arange(n, dtype=np.uint64) * np.uint64(7919)
    ids[::2] = np.arange(0, n, 2, dtype=np.uint64) + np.uint64(1)  # and some below 2^63
    with h5py.File(big, "a") as g:
        del g["customer_id"]
        g["customer_id"] = ids
    out = str(tmp_path / "o.h5")
    run(2, "holdout", "--data", big, "--campaign", "spring", "--fraction", FRACTION, "--out", out, "--quiet")
    with h5py.File(out) as f:
        got_ids, g = f["customer_id"][...], f["holdout/spring"][...]
    np.testing.assert_array_equal(got_ids.view(np.uint64), ids)
    np.testing.assert_array_equal(g.astype(bool), control_rule(ids.view(np.int64), "spring", FRACTION))
    ids[1001] = ids[3]
    with h5py.File(big, "a") as f:
        f["customer_id"][...] = ids
    r = run(2, "holdout", "--data", big, "--campaign", "spring", "--fraction", FRACTION, "--out", out, check=False)
    assert r.returncode == 1 and "repeated id (the first repeat at row 1001)" in error_line(r)
