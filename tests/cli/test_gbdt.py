"""Gradient-boosted trees: LightGBM's accuracy with the same settings (on
generated data and a real public table), the planted truth recovered, the
same model bytes for any rank count, stop/resume bitwise, scoring streamed
= resident, hand-checked splits and sums, degenerate inputs."""
import filecmp
import json
import os
import sys

import h5py
import numpy as np
import pytest

from pstest import error_line, gen, run, validation_mask

ENV = {"SOURCE_DATE_EPOCH": "1700000000"}
LGB = dict(n_estimators=100, num_leaves=31, learning_rate=0.1, max_bin=255, min_child_samples=20,
           min_child_weight=1e-3, reg_lambda=0.0, subsample=1.0, colsample_bytree=1.0, verbose=-1, n_jobs=2)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return gen(str(tmp_path_factory.mktemp("gbdt") / "d.h5"), rows=60000, features=24, np_=2)


def load(path):
    with h5py.File(path) as h:
        return h["features"][...], h["customer_id"][...], {t: h["labels"][t][...] for t in h["labels"]}


def valid_auc_of(path, scores, target):
    from sklearn.metrics import roc_auc_score
    X, ids, labels = load(path)
    va = validation_mask(ids)
    with h5py.File(scores) as s:
        return roc_auc_score(labels[target][va], s["scores"][target][...][va])


def lightgbm_auc(X, y, va):
    lgb = pytest.importorskip("lightgbm")
    from sklearn.metrics import roc_auc_score
    m = lgb.LGBMClassifier(**LGB).fit(X[~va], y[~va])
    return roc_auc_score(y[va], m.predict_proba(X[va])[:, 1])


def test_matches_lightgbm_on_generated_data(tmp_path):
    data = gen(str(tmp_path / "d.h5"), rows=200000, features=24, np_=2)
    model, scores = str(tmp_path / "g.h5"), str(tmp_path / "s.h5")
    run(2, "train", "--data", data, "--model", model, "--model-type", "gbdt", "--early-stopping", "0", "--quiet")
    run(2, "score", "--data", data, "--model", model, "--out", scores, "--quiet")
    X, ids, labels = load(data)
    va = validation_mask(ids)
    for t, y in labels.items():
        ours, theirs = valid_auc_of(data, scores, t), lightgbm_auc(X, y, va)
        print(f"{t}: propscore {ours:.4f}  lightgbm {theirs:.4f}")
        assert abs(ours - theirs) <= 0.003, (t, ours, theirs)


def test_matches_lightgbm_on_a_real_table(tmp_path):
    """statsmodels ships the 'fair' survey (6,366 women): did she have an affair?"""
    sm = pytest.importorskip("statsmodels.api")
    df = sm.datasets.fair.load_pandas().data
    X = df.drop(columns=["affairs"]).to_numpy(np.float32)
    y = (df["affairs"] > 0).to_numpy(np.uint8)
    ids = np.arange(len(df), dtype=np.int64) * 7919 + 13
    path = str(tmp_path / "fair.h5")
    with h5py.File(path, "w") as h:
        h["features"] = X
        h["customer_id"] = ids
        h["feature_names"] = np.array([c.encode() for c in df.columns if c != "affairs"])
        h["labels/affair"] = y
    model, scores = str(tmp_path / "g.h5"), str(tmp_path / "s.h5")
    run(2, "train", "--data", path, "--model", model, "--model-type", "gbdt", "--early-stopping", "0", "--quiet")
    run(2, "score", "--data", path, "--model", model, "--out", scores, "--quiet")
    ours, theirs = valid_auc_of(path, scores, "affair"), lightgbm_auc(X, y, validation_mask(ids))
    print(f"fair: propscore {ours:.4f}  lightgbm {theirs:.4f}")
    assert abs(ours - theirs) <= 0.003


def test_recovers_the_planted_truth(tmp_path):
    """Churn: the trees' validation AUC within 0.002 of the true probabilities' AUC."""
    from sklearn.metrics import roc_auc_score
    path = gen(str(tmp_path / "big.h5"), rows=1000000, features=24, np_=2)
    model, scores = str(tmp_path / "g.h5"), str(tmp_path / "s.h5")
    run(2, "train", "--data", path, "--model", model, "--model-type", "gbdt", "--targets", "churn", "--quiet",
        "--learning-rate", "0.05", "--trees", "500", "--early-stopping", "30", "--min-data-in-leaf", "100",
        "--num-leaves", "15")
    run(2, "score", "--data", path, "--model", model, "--out", scores, "--quiet")
    with h5py.File(path) as h:
        va = validation_mask(h["customer_id"][...])
        y, truth = h["labels/churn"][...][va], h["truth/churn/prob"][...][va]
    ours, best = valid_auc_of(path, scores, "churn"), roc_auc_score(y, truth)
    print(f"churn: propscore {ours:.4f}  planted truth {best:.4f}")
    assert ours >= best - 0.002


@pytest.mark.parametrize("extra", [[], ["--feature-fraction", "0.7", "--bagging-fraction", "0.8", "--bagging-freq",
                                        "3", "--max-depth", "4", "--lambda-l2", "1", "--pos-weight", "balanced"]])
def test_same_bytes_for_any_rank_count(data, tmp_path, extra):
    models = []
    for p in (1, 2, 3):
        m = str(tmp_path / f"g{p}.h5")
        run(p, "train", "--data", data, "--model", m, "--model-type", "gbdt", "--trees", "30", "--quiet", *extra,
            env=ENV)
        models.append(m)
    assert filecmp.cmp(models[0], models[1], shallow=False) and filecmp.cmp(models[0], models[2], shallow=False)


def test_quantized_gradients_same_bytes_and_auc(data, tmp_path):
    """--grad-bits 8 (issue 26): the same model bytes for P = 1, 2, 3 (rounding drawn by customer id) and a
    validation AUC within 0.002 of the exact path's with the same trees."""
    models = []
    for p in (1, 2, 3):
        m = str(tmp_path / f"q{p}.h5")
        run(p, "train", "--data", data, "--model", m, "--model-type", "gbdt", "--trees", "30", "--grad-bits", "8",
            "--quiet", env=ENV)
        models.append(m)
    assert filecmp.cmp(models[0], models[1], shallow=False) and filecmp.cmp(models[0], models[2], shallow=False)
    exact, se, sq = str(tmp_path / "e.h5"), str(tmp_path / "se.h5"), str(tmp_path / "sq.h5")
    run(2, "train", "--data", data, "--model", exact, "--model-type", "gbdt", "--trees", "30", "--quiet", env=ENV)
    run(2, "score", "--data", data, "--model", exact, "--out", se, "--quiet")
    run(2, "score", "--data", data, "--model", models[0], "--out", sq, "--quiet")
    assert not filecmp.cmp(exact, models[0], shallow=False)  # the option does something
    for t in ("purchase_3m", "churn"):
        e, q = valid_auc_of(data, se, t), valid_auc_of(data, sq, t)
        print(f"{t}: exact {e:.4f}  8 bits {q:.4f}")
        assert abs(e - q) <= 0.002, (t, e, q)


@pytest.mark.parametrize("p,at,extra", [(2, 7, []), (3, 45, []), (2, 40, ["--grad-bits", "4"])])
def test_stop_and_resume_is_bitwise(data, tmp_path, p, at, extra):
    args = ["train", "--data", data, "--model-type", "gbdt", "--trees", "30", *extra, "--quiet"]
    ref, model = str(tmp_path / "ref.h5"), str(tmp_path / "m.h5")
    run(p, *args, "--model", ref, env=ENV)
    r = run(p, *args, "--model", model, check=False, env=dict(ENV, PROPSCORE_FAULT_STOP=f"tree:{at}"))
    assert r.returncode == 75, r.stderr
    assert os.path.exists(model + ".ckpt") and not os.path.exists(model)
    r = run(p, *args[:-1], "--model", model, env=ENV)
    assert "resumed at head" in r.stderr
    assert filecmp.cmp(ref, model, shallow=False)
    assert not os.path.exists(model + ".ckpt")


def test_streamed_scores_equal_resident_for_any_ranks(data, tmp_path):
    model = str(tmp_path / "g.h5")
    run(2, "train", "--data", data, "--model", model, "--model-type", "gbdt", "--trees", "20", "--quiet")
    outs = []
    for p, block in ((1, None), (3, "777")):
        out = str(tmp_path / f"s{p}.h5")
        run(p, "score", "--data", data, "--model", model, "--out", out, "--quiet", *(["--block-rows", block] if block else []),
            env=ENV)
        outs.append(out)
    with h5py.File(outs[0]) as a, h5py.File(outs[1]) as b:
        for t in a["scores"]:
            assert a["scores"][t][...].tobytes() == b["scores"][t][...].tobytes()


@pytest.mark.parametrize("grid", [True, False])
def test_a_single_split_recovers_a_planted_threshold(tmp_path, grid):
    """Few distinct values: a bin each, the cut exactly between the two around
    3.7; continuous values: the cut within a bin width (10/255) of it."""
    rng = np.random.default_rng(3)
    n = 4000
    X = rng.uniform(0, 10, size=(n, 3)).astype(np.float32)
    if grid:
        X = np.round(X * 2) / 2
    y = (X[:, 1] > 3.7).astype(np.uint8)
    path = str(tmp_path / "t.h5")
    with h5py.File(path, "w") as h:
        h["features"], h["customer_id"] = X, np.arange(n, dtype=np.int64)
        h["feature_names"] = np.array([b"a", b"b", b"c"])
        h["labels/y"] = y
    model = str(tmp_path / "g.h5")
    run(2, "train", "--data", path, "--model", model, "--model-type", "gbdt", "--trees", "1", "--num-leaves", "2",
        "--holdout", "0", "--quiet")
    with h5py.File(model) as m:
        t = m["trees/y"]
        assert t["feature"][0] == 1
        if grid:
            below, above = X[:, 1][X[:, 1] <= 3.7].max(), X[:, 1][X[:, 1] > 3.7].min()
            assert below <= t["threshold"][0] < above
        else:
            assert abs(t["threshold"][0] - 3.7) < 10 / 255


def test_sums_equal_a_numpy_recount(data, tmp_path):
    """The first tree's split gains, leaf rows and leaf values from NumPy sums
    of the gradients at the initial score: what the histograms must hold."""
    model = str(tmp_path / "g.h5")
    lam, lr = 2.0, 0.3
    run(1, "train", "--data", data, "--model", model, "--model-type", "gbdt", "--targets", "churn", "--trees", "1",
        "--num-leaves", "4", "--lambda-l2", str(lam), "--learning-rate", str(lr), "--quiet")
    X, ids, labels = load(data)
    tr = ~validation_mask(ids)
    X, y = X[tr].astype(np.float64), labels["churn"][tr].astype(np.float64)
    with h5py.File(model) as m:
        t = m["trees/churn"]
        z0 = t.attrs["init_score"]
        feat, thr, dl = t["feature"][...], t["threshold"][...], t["default_left"][...]
        left, right, gain = t["left"][...], t["right"][...], t["gain"][...]
        value, count = t["leaf_value"][...], t["leaf_count"][...]
    p = 1 / (1 + np.exp(-z0))
    g, h = p - y, np.full_like(y, p * (1 - p))

    def goes_left(node, rows):
        v = X[rows, feat[node]]
        return np.where(np.isnan(v), dl[node] == 1, v <= thr[node])

    def walk(node, rows):  # leaf -> rows
        out = {}
        for child, mask in ((left[node], goes_left(node, rows)), (right[node], ~goes_left(node, rows))):
            sub = rows[mask]
            out.update(walk(child, sub) if child >= 0 else {~child: sub})
        return out

    def score(rows):
        return g[rows].sum() ** 2 / (h[rows].sum() + lam)

    rows = np.arange(len(y))
    leaves = walk(0, rows)
    for leaf, r in leaves.items():
        assert count[leaf] == len(r)
        assert abs(value[leaf] - lr * -g[r].sum() / (h[r].sum() + lam)) < 1e-9
    def node_rows(node, rows):
        if node == 0:
            return rows
        for parent in range(len(feat)):
            for child, side in ((left[parent], True), (right[parent], False)):
                if child == node:
                    pr = node_rows(parent, rows)
                    return pr[goes_left(parent, pr) == side]
    for node in range(len(feat)):
        r = node_rows(node, rows)
        m = goes_left(node, r)
        want = score(r[m]) + score(r[~m]) - score(r)
        assert abs(gain[node] - want) < 1e-9 * max(1, abs(want)), (node, gain[node], want)


def test_degenerate_inputs(tmp_path):
    n = 300
    rng = np.random.default_rng(1)
    X = np.ones((n, 4), np.float32)
    X[:, 1] = np.nan                      # all missing
    X[:, 2] = rng.normal(size=n)          # informative
    y = (X[:, 2] > 0).astype(np.uint8)
    path = str(tmp_path / "x.h5")
    with h5py.File(path, "w") as h:
        h["features"], h["customer_id"] = X, np.arange(n, dtype=np.int64)
        h["feature_names"] = np.array([b"const", b"missing", b"signal", b"const2"])
        h["labels/y"] = y
        h["labels/one"] = np.zeros(n, np.uint8)
    model = str(tmp_path / "g.h5")
    run(2, "train", "--data", path, "--model", model, "--model-type", "gbdt", "--targets", "y", "--quiet")
    with h5py.File(model) as m:  # every split is on the one column that varies
        assert set(m["trees/y/feature"][...]) == {2}
    r = run(2, "train", "--data", path, "--model", model, "--model-type", "gbdt", "--targets", "one", check=False)
    assert r.returncode == 1 and "every training label is 0" in error_line(r)
    # no split can keep 200 rows a side: a base-rate model, said so, and it scores
    r = run(2, "train", "--data", path, "--model", model, "--model-type", "gbdt", "--targets", "y",
            "--min-data-in-leaf", "200")
    assert "the model is the base rate" in r.stderr
    out = str(tmp_path / "s.h5")
    run(2, "score", "--data", path, "--model", model, "--out", out, "--quiet")
    with h5py.File(out) as s:
        assert np.ptp(s["scores/y"][...]) == 0
    # more bins than rows: fine
    run(1, "train", "--data", path, "--model", model, "--model-type", "gbdt", "--targets", "y", "--max-bin", "255",
        "--holdout", "0", "--quiet")


@pytest.mark.parametrize("args,named", [
    (("--min-data-in-leaf", "200"), "--min-data-in-leaf 200"),
    (("--min-sum-hessian", "1000"), "--min-sum-hessian 1000"),
    (("--min-gain-to-split", "1e9"), "--min-gain-to-split 1e+09"),
])
def test_no_split_warning_names_the_constraint(tmp_path, args, named):
    """Issue 32: the "no split" warning named --min-data-in-leaf whatever stopped the split."""
    n = 300
    rng = np.random.default_rng(2)
    path = str(tmp_path / "x.h5")
    with h5py.File(path, "w") as h:
        h["features"], h["customer_id"] = rng.normal(size=(n, 3)).astype(np.float32), np.arange(n, dtype=np.int64)
        h["feature_names"] = np.array([b"a", b"b", b"c"])
        h["labels/y"] = (h["features"][:, 0] > 0).astype(np.uint8)
    r = run(1, "train", "--data", path, "--model", str(tmp_path / "g.h5"), "--model-type", "gbdt", *args)
    warn = [l for l in r.stderr.splitlines() if "no split of the first tree" in l]
    assert len(warn) == 1 and named in warn[0] and "the model is the base rate" in warn[0], r.stderr


def test_eval_gate_and_importance(data, tmp_path):
    model, scores = str(tmp_path / "g.h5"), str(tmp_path / "s.h5")
    r = run(2, "train", "--data", data, "--model", model, "--model-type", "gbdt", "--trees", "20")
    assert "top features by gain" in r.stderr
    run(2, "score", "--data", data, "--model", model, "--out", scores, "--quiet")
    ev = json.loads(run(2, "eval", "--data", data, "--scores", scores, "--json").stdout)
    with h5py.File(model) as m:
        assert m.attrs["model_type"] == "gbdt"
        for t in ev["targets"]:
            assert abs(m["metrics"][t].attrs["valid_auc"] - ev["targets"][t]["roc_auc"]) < 1e-6
            gain = m["importance"][t]["gain"][...]
            assert gain.shape == (24,) and gain.max() > 0 and m["importance"][t]["splits"][...].sum() > 0
    assert run(1, "gate", "--model", model).returncode == 0
    man = json.load(open(model + ".manifest.json"))
    assert man["parameters"]["model_type"] == "gbdt" and "fit_histograms" in man["phases_s"]


def test_auto_keeps_the_better_kind(data, tmp_path):
    model = str(tmp_path / "a.h5")
    r = run(2, "train", "--data", data, "--model", model, "--model-type", "auto", "--trees", "30", "--quiet")
    man = json.load(open(model + ".manifest.json"))
    heads = man["metrics"]["auto"]["heads"]
    for t, h in heads.items():  # per head, the candidate of least mean fold log-loss
        assert h["chosen"] == min(("logreg", "gbdt", "blend"), key=lambda c: h[c]["mean_valid_log_loss"]), t
    chosen = {h["chosen"] for h in heads.values()}
    kept = chosen.pop() if len(chosen) == 1 and "blend" not in chosen else "blend"  # one file: a blend when mixed
    line = [l for l in r.stdout.splitlines() if "--model-type auto" in l][0]
    assert line.split("kept ")[1].split()[0] == kept
    with h5py.File(model) as m:
        assert m.attrs.get("model_type", "logreg") == kept
    assert not [p for p in os.listdir(tmp_path) if "candidate" in p or ".ckpt" in p]
    assert man["parameters"]["chosen"] == kept


def test_log_lines_are_whole(tmp_path):
    """Each line on stderr is one write, newline included: train --model-type gbdt printed
    'top features by gain: ...' and its newline apart, so mpirun, forwarding rank 0's stdout
    between the two, ran lines together in a 2>&1 log. stderr is a SOCK_SEQPACKET socket
    here: each write arrives as one message."""
    import socket
    import subprocess
    import threading
    from pstest import BIN
    path = gen(str(tmp_path / "d.h5"), rows=2000, features=6, np_=1)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    msgs = []
    def reader():
        while m := a.recv(1 << 20):
            msgs.append(m.decode())
    t = threading.Thread(target=reader)
    t.start()
    p = subprocess.run([BIN, "train", "--data", path, "--model", str(tmp_path / "g.h5"), "--model-type", "gbdt",
                        "--trees", "3"], stderr=b.fileno(), stdout=subprocess.PIPE, text=True, timeout=300)
    b.close()
    t.join()
    assert p.returncode == 0
    assert all(m.endswith("\n") and m.count("\n") == 1 for m in msgs), msgs
    top = [m for m in msgs if "top features by gain: " in m]
    assert len(top) == 2 and all(m.startswith("train: ") for m in top)
    assert all(l.startswith("train: ") for l in p.stdout.splitlines())


def test_auto_checks_outputs_and_lock_before_any_work(data, tmp_path):
    """Issue 32: auto checked the output rules only after training both
    candidates (leaving *.candidate-* files) and renamed without MODEL.lock."""
    import fcntl
    before = set(os.listdir(os.path.dirname(data)))
    digest_in = open(data, "rb").read()
    r = run(1, "train", "--data", data, "--model", data, "--model-type", "auto", "--trees", "2", check=False)
    assert r.returncode == 1 and "refusing to overwrite an input" in error_line(r) and "training the" not in r.stderr
    assert set(os.listdir(os.path.dirname(data))) == before and open(data, "rb").read() == digest_in
    folder = tmp_path / "dir.h5"
    folder.mkdir()
    r = run(1, "train", "--data", data, "--model", str(folder), "--model-type", "auto", "--trees", "2", check=False)
    assert r.returncode != 0 and "training the" not in r.stderr
    assert sorted(os.listdir(tmp_path)) == ["dir.h5"] and not os.listdir(folder)
    # another run holds MODEL.lock: auto refuses before training (it used to rename over it and exit 0)
    model = str(tmp_path / "m.h5")
    with open(model + ".lock", "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        r = run(1, "train", "--data", data, "--model", model, "--model-type", "auto", "--trees", "2", check=False)
    assert r.returncode == 1 and "another propscore run is writing" in error_line(r)
    assert "training the" not in r.stderr and not os.path.exists(model)
    assert not [p for p in os.listdir(tmp_path) if "candidate" in p]
