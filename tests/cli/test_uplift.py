"""Uplift (issue 13): gen --uplift plants a heterogeneous treatment effect and
its truth; eval --uplift computes Qini, AUUC, uplift by decile and the
incremental conversions with scikit-uplift's definitions (checked against
sklift.metrics on the same scores to 1e-9, for 1-3 ranks and with ties).
The metrics are computed distributed (targeting/uplift_metrics.c, no rank
gathers the rows): the JSON is the same bytes for any rank count, ranks
without rows included, and rank 0 needs no more memory than the others."""
import json
import os
import re
import shutil

import h5py
import numpy as np
import pytest

from pstest import error_line, gen, run

sklift = pytest.importorskip("sklift.metrics")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return gen(str(tmp_path_factory.mktemp("uplift") / "u.h5"), rows=20000, features=10, targets="y:0.1",
               extra=("--uplift",))


def load(path):
    with h5py.File(path) as f:
        # int64: sklift's perfect Qini curve computes y*t - y*(1-t), which wraps in uint8
        return (f["customer_id"][...], f["labels/y"][...].astype(np.int64), f["labels/treated"][...].astype(np.int64),
                f["truth/y/uplift"][...], f["truth/y/prob"][...])


def scores_file(path, ids, u, **attrs):
    with h5py.File(path, "w") as g:
        g.attrs["kind"] = "scores"
        for k, v in attrs.items():
            g.attrs[k] = v
        g["customer_id"] = ids
        g["uplift/y"] = u.astype(np.float32)
    return path


def eval_uplift(np_, data, scores, *extra, raw=False):
    r = run(np_, "eval", "--data", data, "--scores", scores, "--uplift", "--treatment", "treated", "--json", *extra)
    return r.stdout if raw else json.loads(r.stdout)["targets"]["y"]


def test_gen_uplift_plants_an_effect(data, tmp_path):
    ids, y, t, u, p = load(data)
    assert abs(t.mean() - 0.5) < 0.02
    assert u.min() < 0 < u.max() and u.std() > 0.02  # heterogeneous, negative for some
    # the observed difference of rates matches the planted mean effect
    diff, se = y[t == 1].mean() - y[t == 0].mean(), np.sqrt(y.var() * (1 / (t == 1).sum() + 1 / (t == 0).sum()))
    assert abs(diff - u.mean()) < 3 * se
    # the same values for 2 ranks
    other = gen(str(tmp_path / "u2.h5"), rows=20000, features=10, targets="y:0.1", np_=2, extra=("--uplift",))
    with h5py.File(data) as f, h5py.File(other) as g:
        for k in ("labels/treated", "labels/y", "truth/y/uplift", "truth/y/prob", "customer_id"):
            np.testing.assert_array_equal(f[k][...], g[k][...])


@pytest.mark.parametrize("kind", ["truth", "noisy", "ties", "coarse"])
def test_metrics_equal_scikit_uplift(data, tmp_path, kind):
    ids, y, t, u, _ = load(data)
    rng = np.random.default_rng(5)
    s = {"truth": u, "noisy": np.clip(u + rng.normal(0, 0.1, len(u)), -1, 1), "ties": np.round(u, 1),
         "coarse": np.round(u / 0.05) * 0.05}[kind]
    s = s.astype(np.float32)
    sc = scores_file(str(tmp_path / "s.h5"), ids, s)
    s64 = s.astype(np.float64)
    q, a = sklift.qini_auc_score(y, s64, t), sklift.uplift_auc_score(y, s64, t)
    df = sklift.uplift_by_percentile(y, s64, t, bins=10, std=True)
    x_q, y_q = sklift.qini_curve(y, s64, t)
    x_u, y_u = sklift.uplift_curve(y, s64, t)
    raw = {p: eval_uplift(p, data, sc, raw=True) for p in (1, 2, 3)}
    for p in (1, 2, 3):
        assert raw[p] == raw[1], f"{p} ranks: JSON differs from 1 rank's"
        m = json.loads(raw[p])["targets"]["y"]
        assert abs(m["qini_coefficient"] - q) < 1e-9 and abs(m["auuc"] - a) < 1e-9
        dc = m["deciles"]
        np.testing.assert_array_equal(dc["n_treatment"], df["n_treatment"].values)
        np.testing.assert_array_equal(dc["n_control"], df["n_control"].values)
        np.testing.assert_allclose(dc["rate_treatment"], df["response_rate_treatment"].values, atol=1e-12)
        np.testing.assert_allclose(dc["rate_control"], df["response_rate_control"].values, atol=1e-12)
        np.testing.assert_allclose(dc["uplift"], df["uplift"].values, atol=1e-12)
        np.testing.assert_allclose(dc["uplift_se"], df["std_uplift"].values, atol=1e-12)
        # the curves at each decile's depth, where that depth ends a group of equal scores
        depth = np.array(dc["depth_rows"]).astype(int)
        at = np.searchsorted(x_q, depth)
        ok = (at < len(x_q)) & (x_q[np.minimum(at, len(x_q) - 1)] == depth)
        assert ok.sum() >= (8 if kind in ("truth", "noisy") else 1)
        np.testing.assert_allclose(np.array(dc["incremental_conversions"])[ok], y_q[at[ok]], atol=1e-9)
        np.testing.assert_allclose(np.array(dc["uplift_curve"])[ok], y_u[at[ok]], atol=1e-9)
        assert m["rows"] == len(y) and m["treated"] == t.sum()


def sklift_all(y, s, t):
    """Every number eval --uplift reports, by scikit-uplift (None: NaN)."""
    q, a = sklift.qini_auc_score(y, s, t), sklift.uplift_auc_score(y, s, t)
    with np.errstate(all="ignore"):
        df = sklift.uplift_by_percentile(y, s, t, bins=10, std=True) if len(y) >= 10 else None
    return q, a, df


@pytest.mark.parametrize("kind", ["coarse", "one_score", "two_scores", "float64"])
def test_ranks_without_rows_and_ties(tmp_path, kind):
    """300 rows are two grid blocks (core/partition.h): with 5 ranks, three
    read no rows; after the sample sort every rank holds a slice, and groups
    of equal scores span several of them (one score: a single group over
    every rank). The JSON is the same bytes for 1, 2, 3 and 5 ranks and
    equals scikit-uplift's numbers. float64 scores (not float32 values) take
    the 16-byte keys."""
    data = gen(str(tmp_path / "small.h5"), rows=300, features=8, targets="y:0.3", extra=("--uplift",))
    ids, y, t, u, _ = load(data)
    rng = np.random.default_rng(11)
    s = {"coarse": np.round(u / 0.05) * 0.05, "one_score": np.full(len(u), 0.25),
         "two_scores": np.where(rng.random(len(u)) < 0.3, 0.5, -0.25),
         "float64": u.astype(np.float64) + 1e-12 * rng.random(len(u))}[kind]
    with h5py.File(str(tmp_path / "s.h5"), "w") as g:
        g.attrs["kind"] = "scores"
        g["customer_id"] = ids
        g["uplift/y"] = s if kind == "float64" else s.astype(np.float32)
    sc = str(tmp_path / "s.h5")
    s64 = s.astype(np.float32).astype(np.float64) if kind != "float64" else s
    raw = {p: eval_uplift(p, data, sc, raw=True) for p in (1, 2, 3, 5)}
    for p in raw:
        assert raw[p] == raw[1], f"{p} ranks: JSON differs from 1 rank's"
    m = json.loads(raw[1])["targets"]["y"]
    q, a, df = sklift_all(y, s64, t)
    assert abs(m["qini_coefficient"] - q) < 1e-9 and abs(m["auuc"] - a) < 1e-9
    dc = m["deciles"]
    np.testing.assert_array_equal(dc["n_treatment"], df["n_treatment"].values)
    np.testing.assert_array_equal(dc["n_control"], df["n_control"].values)
    np.testing.assert_allclose(dc["uplift"], df["uplift"].values, atol=1e-12)
    # 4 kept rows on 5 ranks (the validation split): a rank holds no key at all
    sc2 = scores_file(str(tmp_path / "s2.h5"), ids, s, holdout=0.015, split_salt=0x5EED)
    raw = {p: eval_uplift(p, data, sc2, raw=True) for p in (1, 5)}
    assert raw[5] == raw[1]
    from pstest import validation_mask
    va = validation_mask(ids, 0.015)
    m = json.loads(raw[5])["targets"]["y"]
    assert va.sum() == 4 and m["rows"] == 4 and m["treated"] == t[va].sum()
    assert m["deciles"]["depth_rows"] == [1, 2, 3, 4, 4, 4, 4, 4, 4, 4]  # numpy.array_split of 4 rows


def test_rank_0_needs_no_more_memory(tmp_path):
    """Before: every rank sent 24 bytes a kept row to rank 0, which sorted
    them all. Now each rank holds its share; the peak is the uplift metrics'
    own (eval --uplift restarts it before each target's metrics)."""
    data = gen(str(tmp_path / "big.h5"), rows=1500000, features=8, np_=3, targets="y:0.1", extra=("--uplift",))
    with h5py.File(data) as f:
        ids, u = f["customer_id"][...], f["truth/y/uplift"][...]
    sc = scores_file(str(tmp_path / "s.h5"), ids, u)
    r = run(3, "eval", "--data", data, "--scores", sc, "--uplift", "--treatment", "treated", "--json",
            env={"PROPSCORE_REPORT_RSS": "1"})
    rss = {int(a): int(b) for a, b in re.findall(r"rank (\d+) uplift metrics peak RSS (\d+) KiB", r.stderr)}
    assert len(rss) == 3, r.stderr
    others = max(v for k, v in rss.items() if k)
    print("uplift metrics peak RSS per rank (KiB):", rss)
    assert rss[0] <= 1.2 * others


def test_split_and_table(data, tmp_path):
    ids, y, t, u, _ = load(data)
    sc = scores_file(str(tmp_path / "s.h5"), ids, u, holdout=0.3, split_salt=0x5EED)
    from pstest import validation_mask
    va = validation_mask(ids, 0.3)
    m = eval_uplift(2, data, sc)
    assert m["rows"] == va.sum()
    q = sklift.qini_auc_score(y[va], u[va].astype(np.float64), t[va])
    assert abs(m["qini_coefficient"] - q) < 1e-9
    r = run(2, "eval", "--data", data, "--scores", sc, "--uplift", "--treatment", "treated")
    assert "Qini coefficient" in r.stdout and "incremental" in r.stdout


def test_errors(data, tmp_path):
    ids, y, t, u, _ = load(data)
    sc = scores_file(str(tmp_path / "s.h5"), ids, u)
    r = run(2, "eval", "--data", data, "--scores", sc, "--uplift", check=False)
    assert r.returncode == 2 and "--treatment" in error_line(r)
    r = run(2, "eval", "--data", data, "--scores", sc, "--uplift", "--treatment", "nope", check=False)
    assert r.returncode == 1 and "/labels/nope" in error_line(r)
    bad = u.copy()
    bad[777] = 3.0
    sc2 = scores_file(str(tmp_path / "s2.h5"), ids, bad)
    r = run(3, "eval", "--data", data, "--scores", sc2, "--uplift", "--treatment", "treated", check=False)
    assert r.returncode == 1 and "row 777" in error_line(r) and "/uplift/y" in error_line(r)


@pytest.mark.parametrize("group", ["control", "treated"])
def test_one_group_only_is_refused(data, tmp_path, group):
    """Issue 32: eval --uplift on rows without control rows printed a Qini coefficient (0.4066) and NaN
    deciles. scikit-uplift refuses a treatment flag that is not both 0 and 1; so does eval, before the
    metrics: one line naming the data, the split and the counts. The same for no treated rows."""
    ids, y, t, u, _ = load(data)
    one = str(tmp_path / "one.h5")
    shutil.copy(data, one)
    flag = np.full(len(ids), 1 if group == "control" else 0)
    with h5py.File(one, "r+") as h:
        h["labels/treated"][...] = flag.astype(h["labels/treated"].dtype)
    with pytest.raises(ValueError):
        sklift.qini_auc_score(y, u.astype(np.float64), flag)
    sc = scores_file(str(tmp_path / "s.h5"), ids, u)
    for extra in ([], ["--json"]):
        r = run(2, "eval", "--data", one, "--scores", sc, "--uplift", "--treatment", "treated", *extra, check=False)
        assert r.returncode == 1 and r.stdout == ""
        n = len(ids)
        counts = f"has {n} treated and 0 control rows" if group == "control" else f"has 0 treated and {n} control"
        line = error_line(r)
        assert one in line and "the all split " + counts in line and "need both" in line, line


def test_split_salt_without_holdout_is_refused(data, tmp_path):
    """Issue 32: --split-salt was ignored when the split is all (the scores file records no holdout)."""
    ids, y, t, u, _ = load(data)
    sc = scores_file(str(tmp_path / "s.h5"), ids, u)
    r = run(1, "eval", "--data", data, "--scores", sc, "--uplift", "--treatment", "treated", "--split-salt", "7",
            check=False)
    assert r.returncode == 2 and "--split-salt chooses validation rows, but the split is all" in error_line(r)


def test_gate_uplift_model(tmp_path):
    """Issue 32: gate could not read an uplift model (no /targets: it is the set MODEL.h5 + its treated and
    control parts). Now it gates the two parts: heads '<target> (treated)' and '<target> (control)' with
    the parts' validation metrics, each against the same head of an uplift baseline; the PSI compares
    /scores/<target> (P(y | treated)) on the treated head. A baseline of another kind is an error."""
    data = gen(str(tmp_path / "d.h5"), rows=6000, features=8, targets="y:0.1", extra=("--uplift",))
    um, us, plain = str(tmp_path / "um.h5"), str(tmp_path / "us.h5"), str(tmp_path / "m.h5")
    run(2, "train", "--data", data, "--model", um, "--uplift", "--treatment", "treated", "--targets", "y",
        "--quiet")
    run(2, "score", "--data", data, "--model", um, "--out", us, "--quiet")
    run(1, "train", "--data", data, "--model", plain, "--targets", "y", "--quiet")
    r = run(2, "gate", "--model", um, "--baseline", um, "--scores", us, "--baseline-scores", us, "--json",
            "--min-auc", "0")
    g = json.loads(r.stdout)
    assert g["publish"] is True and sorted(g["heads"]) == ["y (control)", "y (treated)"]
    for part in ("treated", "control"):
        with h5py.File(str(tmp_path / f"um.{part}.h5")) as m:
            a = m["metrics/y"].attrs
            h = g["heads"][f"y ({part})"]
            assert h["valid_auc"] == a["valid_auc"] and h["valid_log_loss"] == a["valid_loss"]
            assert h["auc_drop"] == 0 and h["log_loss_rise"] == 0
    assert g["heads"]["y (treated)"]["psi"] == 0 and "psi" not in g["heads"]["y (control)"]
    r = run(1, "gate", "--model", um, "--min-auc", "0")
    assert "gate: pass (no baseline: first model)" in r.stdout and "y (control)" in r.stdout
    for new, old in ((um, plain), (plain, um)):
        r = run(1, "gate", "--model", new, "--baseline", old, "--min-auc", "0", check=False)
        assert r.returncode == 1 and "the gate compares models of one kind" in error_line(r)


def test_train_score_eval_two_model(tmp_path):
    data = gen(str(tmp_path / "d.h5"), rows=40000, features=12, targets="y:0.1", extra=("--uplift",))
    model, scores = str(tmp_path / "m.h5"), str(tmp_path / "s.h5")
    r = run(2, "train", "--data", data, "--model", model, "--uplift", "--treatment", "treated", "--targets", "y",
            "--quiet")
    assert "train --uplift: wrote" in r.stdout
    with h5py.File(model) as m:
        assert m.attrs["model_type"] in (b"uplift", "uplift")
    for g in ("treated", "control"):
        assert (tmp_path / f"m.{g}.h5").exists()
    run(3, "score", "--data", data, "--model", model, "--out", scores, "--quiet")
    # /uplift = P(y|treated) - P(y|control): the two sub-models scored alone
    sub = {}
    for g in ("treated", "control"):
        out = str(tmp_path / f"s_{g}.h5")
        run(1, "score", "--data", data, "--model", str(tmp_path / f"m.{g}.h5"), "--out", out, "--quiet")
        with h5py.File(out) as f:
            sub[g] = f["scores/y"][...]
    with h5py.File(scores) as f:
        up, sc = f["uplift/y"][...], f["scores/y"][...]
    np.testing.assert_array_equal(sc, sub["treated"])
    np.testing.assert_array_equal(up, (sub["treated"].astype(np.float64) - sub["control"]).astype(np.float32))
    # each sub-model saw only its group's training rows: refit one with sklearn-free check of the row count
    with h5py.File(str(tmp_path / "m.treated.h5")) as m:
        n_train = m.attrs["n_train"]
    ids, y, t, u, _ = load(data)
    from pstest import validation_mask
    va = validation_mask(ids, 0.2)
    assert n_train == ((t == 1) & ~va).sum()
    # ... and is validated on its group's validation rows only (the other group's rows are in neither split)
    from sklearn.metrics import log_loss, roc_auc_score
    for g, flag in (("treated", 1), ("control", 0)):
        with h5py.File(str(tmp_path / f"m.{g}.h5")) as m:
            auc, loss = m["metrics/y"].attrs["valid_auc"], m["metrics/y"].attrs["valid_loss"]
        mine = va & (t == flag)
        assert abs(auc - roc_auc_score(y[mine], sub[g][mine])) < 1e-9, (g, auc)
        assert abs(loss - log_loss(y[mine], sub[g][mine].astype(np.float64))) < 1e-6, (g, loss)
    # Qini on the validation split: the model's >= 90% of the planted truth's
    m = eval_uplift(2, data, scores)
    truth = scores_file(str(tmp_path / "truth.h5"), ids, u, holdout=0.2, split_salt=0x5EED)
    q_truth = eval_uplift(1, data, truth)["qini_coefficient"]
    assert m["rows"] == va.sum()
    assert m["qini_coefficient"] >= 0.9 * q_truth, (m["qini_coefficient"], q_truth)
    print(f"Qini valid: model {m['qini_coefficient']:.4f}, truth {q_truth:.4f}")
    # and it equals scikit-uplift's on the same scores
    q = sklift.qini_auc_score(y[va], up[va].astype(np.float64), t[va])
    assert abs(m["qini_coefficient"] - q) < 1e-9


def test_train_uplift_gbdt_sub_models(tmp_path):
    """train --uplift --model-type gbdt: each sub-model trains and early-stops on its own group's rows, and its
    validation metrics are its group's validation rows' (scikit-learn on its own scores)."""
    from sklearn.metrics import roc_auc_score
    from pstest import validation_mask
    data = gen(str(tmp_path / "d.h5"), rows=20000, features=8, targets="y:0.15", extra=("--uplift",))
    model = str(tmp_path / "m.h5")
    run(3, "train", "--data", data, "--model", model, "--uplift", "--treatment", "treated", "--targets", "y",
        "--model-type", "gbdt", "--trees", "30", "--early-stopping", "5", "--quiet")
    ids, y, t, u, _ = load(data)
    va = validation_mask(ids, 0.2)
    for g, flag in (("treated", 1), ("control", 0)):
        sub, out = str(tmp_path / f"m.{g}.h5"), str(tmp_path / f"s_{g}.h5")
        run(2, "score", "--data", data, "--model", sub, "--out", out, "--quiet")
        with h5py.File(out) as f:
            p = f["scores/y"][...]
        with h5py.File(sub) as m:
            auc = m["metrics/y"].attrs["valid_auc"]
            assert m.attrs["n_train"] == ((t == flag) & ~va).sum()
        mine = va & (t == flag)
        assert abs(auc - roc_auc_score(y[mine], p[mine])) < 1e-9, (g, auc)


def test_train_uplift_errors(data, tmp_path):
    model = str(tmp_path / "m.h5")
    r = run(1, "train", "--data", data, "--model", model, "--uplift", "--targets", "y", check=False)
    assert r.returncode == 2 and "--treatment" in error_line(r)
    r = run(1, "train", "--data", data, "--model", model, "--uplift", "--treatment", "treated", check=False)
    assert r.returncode == 2 and "--targets" in error_line(r)
    r = run(1, "train", "--data", data, "--model", model, "--uplift", "--treatment", "treated", "--targets",
            "y,treated", check=False)
    assert r.returncode == 2 and "cannot also be a target" in error_line(r)
    r = run(1, "train", "--data", data, "--model", model, "--treatment", "treated", check=False)
    assert r.returncode == 2 and "--uplift" in error_line(r)
    assert not (tmp_path / "m.h5").exists()


def test_failed_uplift_train_replaces_nothing_and_score_refuses_mixed_parts(data, tmp_path):
    """Issue 32: a failed train --uplift left a new MODEL.treated.h5 beside the
    old control and uplift models, and score then exited 0 with wrong uplifts.
    Now the three files are replaced together or not at all, and score refuses
    parts of different runs (a shared run id)."""
    import shutil
    from pstest import digest
    model = str(tmp_path / "m.h5")
    parts = [model, str(tmp_path / "m.treated.h5"), str(tmp_path / "m.control.h5")]
    args = ("--uplift", "--treatment", "treated", "--targets", "y", "--quiet")
    run(2, "train", "--data", data, "--model", model, *args)
    before = [digest(p) for p in parts]
    # the control group has no positive: its fit fails after the treated one succeeded
    bad = str(tmp_path / "bad.h5")
    shutil.copy(data, bad)
    with h5py.File(bad, "r+") as h:
        y, t = h["labels/y"][...], h["labels/treated"][...]
        y[t == 0] = 0
        h["labels/y"][...] = y
    r = run(2, "train", "--data", bad, "--model", model, *args, check=False)
    assert r.returncode == 1 and "every training label is 0" in error_line(r)
    assert [digest(p) for p in parts] == before
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p or p.endswith(".lock")]
    # a part of another run: refused with one line naming it
    other = str(tmp_path / "o.h5")
    run(2, "train", "--data", data, "--model", other, *args, "--l2", "1e-2")
    shutil.copy(str(tmp_path / "o.control.h5"), parts[2])
    r = run(2, "score", "--data", data, "--model", model, "--out", str(tmp_path / "s.h5"), check=False)
    assert r.returncode == 1 and "m.control.h5" in error_line(r) and "another train --uplift run" in error_line(r)
