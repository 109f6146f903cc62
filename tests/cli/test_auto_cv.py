"""train --model-type auto by cross-validation (issue 27): folds by a hash
of customer id (the same for any rank count and row order), the per-head
choice among logreg, gbdt and their blend on planted truths (linear: logreg;
XOR: gbdt), the trees' learning rate chosen by the folds (auto_grid.h), the
refit on every row, the blend model file and its scores, the same bytes for
P = 1, 2, 3, and stop/resume between and within folds."""
import filecmp
import json
import os
import shutil

import h5py
import numpy as np
import pytest

from pstest import _mix64, error_line, gen, run

ENV = {"SOURCE_DATE_EPOCH": "1700000000"}
ROWS = 2000
# purchase_3m: a linear truth (logreg's), churn: an XOR of two features (the trees')
HEADS = ("purchase_3m", "churn")


def plant(path, seed=5):
    """Six N(0,1) features; purchase_3m ~ logistic of a linear score, churn ~
    an XOR of the signs of features 0 and 1 (no linear signal at all)."""
    rng = np.random.default_rng(seed)
    with h5py.File(path, "r+") as f:
        n, nf = f["features"].shape
        X = rng.standard_normal((n, nf)).astype(np.float32)
        f["features"][...] = X
        z_lin = 1.2 * X[:, 2] - 0.8 * X[:, 3] + 0.5 * X[:, 4] - 1.0
        z_xor = np.where((X[:, 0] > 0) ^ (X[:, 1] > 0), 1.5, -1.5)
        f["labels"]["purchase_3m"][...] = (rng.random(n) < 1 / (1 + np.exp(-z_lin))).astype(np.uint8)
        f["labels"]["churn"][...] = (rng.random(n) < 1 / (1 + np.exp(-z_xor))).astype(np.uint8)
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("autocv")
    return plant(gen(str(d / "d.h5"), rows=ROWS, features=6))


def fold_of(ids, k, salt=0x5EED):
    """auto_cv_fold_of in numpy: floor(ps_id_unit(id) * k)."""
    u = (_mix64(_mix64(ids.astype(np.int64).view(np.uint64)) ^ np.uint64(salt)) >> np.uint64(11)).astype(np.float64)
    return np.minimum((u * 2.0 ** -53 * k).astype(np.int64), k - 1)


def train_auto(p, data, model, *extra, env=ENV, check=True):
    return run(p, "train", "--data", data, "--model", model, "--model-type", "auto", "--trees", "40", "--quiet", *extra,
               env=env, check=check)


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    """auto with the default folds on P = 1, 2, 3."""
    d = tmp_path_factory.mktemp("autocv_models")
    out = {}
    for p in (1, 2, 3):
        model = str(d / f"m{p}.h5")
        r = train_auto(p, data, model)
        out[p] = (model, r, json.load(open(model + ".manifest.json")))
    return out


def test_small_data_gets_five_folds_of_the_id_hash(data, trained):
    model, r, man = trained[1]
    auto = man["metrics"]["auto"]
    assert auto["folds"] == 5 and man["parameters"]["cv_folds"] == 5
    with h5py.File(data) as f:
        ids = f["customer_id"][...]
    want = np.bincount(fold_of(ids, 5), minlength=5)
    assert auto["fold_rows"] == [float(c) for c in want]


def test_planted_truths_choose_logreg_and_gbdt_per_head(trained):
    model, r, man = trained[1]
    heads = man["metrics"]["auto"]["heads"]
    for t in HEADS:
        means = {c: heads[t][c]["mean_valid_log_loss"] for c in ("logreg", "gbdt", "blend")}
        assert heads[t]["chosen"] == min(means, key=means.get)
        for c in means:
            assert len(heads[t][c]["fold_log_loss"]) == 5 and len(heads[t][c]["fold_auc"]) == 5
            assert abs(np.mean(heads[t][c]["fold_log_loss"]) - means[c]) < 1e-12
    assert heads["purchase_3m"]["chosen"] == "logreg"
    assert heads["churn"]["chosen"] == "gbdt"
    assert heads["churn"]["gbdt"]["mean_valid_log_loss"] < heads["churn"]["logreg"]["mean_valid_log_loss"] - 0.05
    assert man["parameters"]["chosen"] == "blend"  # two kinds in one model file
    assert "kept blend in" in r.stdout and r.stdout.count("<- chosen") == 2
    with h5py.File(model) as m:
        assert m.attrs["model_type"] == "blend" and m.attrs["holdout"] == 0.0  # refitted on every row
        w = dict(zip([t.decode() for t in m["targets"][...]], m["blend"]["logreg_weight"][...]))
        assert w == {"purchase_3m": 1.0, "churn": 0.0}
        for t in HEADS:  # what gate compares: the chosen candidate's means over the folds
            g = m["metrics"][t].attrs
            c = heads[t]["chosen"]
            assert abs(g["valid_loss"] - heads[t][c]["mean_valid_log_loss"]) < 1e-12 and g["auto_chosen"] == c
            assert abs(g["valid_auc"] - np.mean(heads[t][c]["fold_auc"])) < 1e-12
    assert run(1, "gate", "--model", model).returncode == 0


def test_model_bytes_identical_for_one_two_three_ranks(trained):
    models = [trained[p][0] for p in (1, 2, 3)]
    for other in models[1:]:
        assert filecmp.cmp(models[0], other, shallow=False), other
    assert trained[1][2]["metrics"]["auto"] == trained[3][2]["metrics"]["auto"]


def test_blend_scores_are_the_refitted_kinds(data, trained, tmp_path):
    """The blend file's head with weight 1 scores as logreg refitted on
    every row, the head with weight 0 as gbdt with the refit's trees: the
    same float32 bits."""
    model, r, man = trained[2]
    trees = man["metrics"]["auto"]["heads"]["churn"]["refit_trees"]
    lr, gb = str(tmp_path / "lr.h5"), str(tmp_path / "gb.h5")
    run(2, "train", "--data", data, "--model", lr, "--holdout", "0", "--quiet")
    lr_kept = man["metrics"]["auto"]["learning_rate"]
    run(2, "train", "--data", data, "--model", gb, "--model-type", "gbdt", "--holdout", "0", "--trees", trees,
        "--learning-rate", lr_kept, "--quiet")
    got = {}
    for name, m in (("auto", model), ("lr", lr), ("gb", gb)):
        out = str(tmp_path / f"s_{name}.h5")
        run(3, "score", "--data", data, "--model", m, "--out", out, "--quiet")
        with h5py.File(out) as s:
            got[name] = {t: s["scores"][t][...] for t in HEADS}
    assert np.array_equal(got["auto"]["purchase_3m"], got["lr"]["purchase_3m"])
    assert np.array_equal(got["auto"]["churn"], got["gb"]["churn"])


def test_learning_rate_grid_follows_the_fold_log_losses(data, trained, tmp_path):
    """The folds run at --learning-rate and at half of it (trees and patience
    doubled); the rate kept is the one whose per-head winners have the least
    summed mean fold log-loss, and its round's scores are the ones reported.
    A rate given on the command line, or the single split: no grid."""
    model, r, man = trained[1]
    auto = man["metrics"]["auto"]
    assert auto["grid_learning_rates"] == [0.1, 0.05]
    g = int(np.argmin(auto["grid_log_loss"]))
    assert auto["learning_rate"] == auto["grid_learning_rates"][g]
    kept = sum(h[h["chosen"]]["mean_valid_log_loss"] for h in auto["heads"].values())
    assert abs(auto["grid_log_loss"][g] - kept) < 1e-12
    assert f"kept {auto['learning_rate']:g}" in r.stdout
    for extra in (["--learning-rate", "0.1"], ["--cv-folds", "1"]):
        out = str(tmp_path / (extra[0].strip("-") + ".h5"))
        train_auto(1, data, out, *extra)
        one = json.load(open(out + ".manifest.json"))["metrics"]["auto"]
        assert one["grid_learning_rates"] == [0.1] and one["learning_rate"] == 0.1
    # the round at the given rate is the old auto: its choice and fold scores
    heads = json.load(open(str(tmp_path / "learning-rate.h5.manifest.json")))["metrics"]["auto"]["heads"]
    assert heads["churn"]["chosen"] == "gbdt" and heads["purchase_3m"]["chosen"] == "logreg"


def test_fold_scores_do_not_depend_on_row_order(data, trained, tmp_path):
    """The rows shuffled: the same folds (by id), the same gbdt fold scores
    (integer histograms, samples by id); logreg's agree to rounding."""
    shuffled = str(tmp_path / "shuffled.h5")
    shutil.copy(data, shuffled)
    with h5py.File(shuffled, "r+") as f:
        perm = np.random.default_rng(3).permutation(f["features"].shape[0])
        for name in ("features", "customer_id", "labels/purchase_3m", "labels/churn"):
            f[name][...] = f[name][...][perm]
        del f["truth"]
    model = str(tmp_path / "m.h5")
    train_auto(2, shuffled, model)
    a, b = trained[1][2]["metrics"]["auto"], json.load(open(model + ".manifest.json"))["metrics"]["auto"]
    assert a["fold_rows"] == b["fold_rows"]
    for t in HEADS:
        assert a["heads"][t]["gbdt"]["fold_log_loss"] == b["heads"][t]["gbdt"]["fold_log_loss"]
        assert a["heads"][t]["chosen"] == b["heads"][t]["chosen"]
        assert np.allclose(a["heads"][t]["logreg"]["fold_log_loss"], b["heads"][t]["logreg"]["fold_log_loss"],
                           rtol=1e-6, atol=0)


def test_one_fold_decides_on_the_holdout_split_without_refit(data, tmp_path):
    model = str(tmp_path / "m.h5")
    r = train_auto(1, data, model, "--cv-folds", "1")
    man = json.load(open(model + ".manifest.json"))
    assert man["metrics"]["auto"]["folds"] == 1 and "mean of 1 fold)" in r.stdout
    with h5py.File(model) as m:
        assert m.attrs["holdout"] == 0.2 and m.attrs["n_valid"] > 0
    p = run(1, "train", "--data", data, "--model", str(tmp_path / "g.h5"), "--cv-folds", "3", check=False)
    assert p.returncode == 2 and "--model-type auto" in error_line(p)


@pytest.mark.parametrize("at", ["tree:150", "pass:20"])
def test_stop_and_resume_between_and_within_folds_is_bitwise(data, trained, tmp_path, at):
    """A stop inside fold 0's trees, inside a later fold's trees, or in a
    later logistic fit: the rerun fits the folds before it again, resumes
    the stopped fit from its checkpoint, and ends with the same bytes."""
    model = str(tmp_path / "m.h5")
    r = train_auto(2, data, model, env=dict(ENV, PROPSCORE_FAULT_STOP=at), check=False)
    assert r.returncode == 75, r.stdout + r.stderr
    assert not os.path.exists(model) and any(".ckpt." in p for p in os.listdir(tmp_path))
    r = train_auto(2, data, model)
    assert filecmp.cmp(trained[1][0], model, shallow=False)
    assert not [p for p in os.listdir(tmp_path) if ".ckpt" in p]


def test_gbdt_stops_early_by_default_where_there_are_validation_rows(data, tmp_path):
    """--early-stopping 30 by default: a head stops 30 trees after its best
    validation log-loss and keeps the best; without validation rows
    (--holdout 0) every tree is grown."""
    model, full = str(tmp_path / "g.h5"), str(tmp_path / "full.h5")
    run(1, "train", "--data", data, "--model", model, "--model-type", "gbdt", "--trees", "300", "--quiet")
    run(1, "train", "--data", data, "--model", full, "--model-type", "gbdt", "--trees", "30", "--holdout", "0",
        "--quiet")
    with h5py.File(model) as m, h5py.File(full) as f:
        assert m.attrs["early_stopping_rounds"] == 30
        for t in HEADS:
            kept, trace = int(m["trees"][t].attrs["trees"]), m["trace"][t][...]
            assert kept < 300 and len(trace) == kept + 30
            assert np.argmin(trace[:, 2]) + 1 == kept
            assert int(f["trees"][t].attrs["trees"]) == 30
