"""Exact metrics without gathering rows on one rank: a distributed sample
sort. The same numbers as scikit-learn for any rank count (ranks with no
rows and heavy ties included), and rank 0 needs no more memory than the
others."""
import json
import re

import h5py
import numpy as np
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from pstest import gen, run


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    d = tmp_path_factory.mktemp("metrics")
    data = gen(str(d / "d.h5"), rows=30000, features=8, np_=2)
    model, scores = str(d / "m.h5"), str(d / "s.h5")
    run(2, "train", "--data", data, "--model", model, "--quiet")
    run(2, "score", "--data", data, "--model", model, "--out", scores, "--quiet")
    tied = str(d / "tied.h5")  # heavy ties: scores rounded to 2 decimals
    import shutil
    shutil.copy(scores, tied)
    with h5py.File(tied, "r+") as h:
        for t in h["scores"]:
            h["scores"][t][...] = np.round(h["scores"][t][...], 2)
    return data, scores, tied


def evaluate(p, data, scores):
    return json.loads(run(p, "eval", "--data", data, "--scores", scores, "--split", "all", "--json").stdout)


@pytest.mark.parametrize("which", ["scores", "tied"])
def test_equal_sklearn_for_any_rank_count(scored, which):
    data, scores, tied = scored
    path = scores if which == "scores" else tied
    with h5py.File(data) as d, h5py.File(path) as s:
        truth = {t: (d["labels"][t][...], s["scores"][t][...].astype(np.float64)) for t in s["scores"]}
    ref = evaluate(1, data, path)
    for p in (1, 2, 3, 5):
        got = evaluate(p, data, path)
        for t, (y, s) in truth.items():
            g = got["targets"][t]
            assert abs(g["roc_auc"] - roc_auc_score(y, s)) < 1e-12
            assert abs(g["pr_auc"] - average_precision_score(y, s)) < 1e-12
            assert abs(g["log_loss"] - log_loss(y, np.clip(s, 2.2e-16, 1 - 2.2e-16))) < 1e-9
            assert abs(g["brier"] - brier_score_loss(y, s)) < 1e-12
            for table in ("lift", "calibration"):
                for key, want in ref["targets"][t][table].items():
                    have = g[table][key]
                    assert np.allclose(np.array(have, dtype=float), np.array(want, dtype=float), rtol=1e-12,
                                       atol=1e-12, equal_nan=True), (p, t, table, key)


def test_ranks_with_no_rows(tmp_path):
    data = gen(str(tmp_path / "tiny.h5"), rows=6, features=4, np_=1)
    model, scores = str(tmp_path / "m.h5"), str(tmp_path / "s.h5")
    with h5py.File(data, "r+") as h:  # both classes in every head
        for t in h["labels"]:
            h["labels"][t][...] = np.array([0, 1, 0, 1, 1, 0], np.uint8)
    run(1, "train", "--data", data, "--model", model, "--holdout", "0", "--quiet")
    run(1, "score", "--data", data, "--model", model, "--out", scores, "--quiet")
    ref = evaluate(1, data, scores)
    got = evaluate(7, data, scores)  # ranks 6 has no row
    for t in ref["targets"]:
        for key in ("roc_auc", "pr_auc", "log_loss", "brier"):
            assert abs(got["targets"][t][key] - ref["targets"][t][key]) < 1e-12


def test_rank_0_needs_no_more_memory(tmp_path):
    """Before: every rank sent 12 bytes a row to rank 0. Now each holds its share.
    The peak is the metrics' own (eval restarts the peak before each head's
    metrics): rank 0's MPI-IO collective-read buffers, before them, are not
    the metrics'."""
    data = gen(str(tmp_path / "big.h5"), rows=3000000, features=2, np_=3, targets="y")
    model, scores = str(tmp_path / "m.h5"), str(tmp_path / "s.h5")
    run(3, "train", "--data", data, "--model", model, "--quiet", "--max-iter", "3")
    run(3, "score", "--data", data, "--model", model, "--out", scores, "--quiet")
    r = run(3, "eval", "--data", data, "--scores", scores, "--split", "all", env={"PROPSCORE_REPORT_RSS": "1"})
    rss = {int(a): int(b) for a, b in re.findall(r"rank (\d+) metrics peak RSS (\d+) KiB", r.stderr)}
    assert len(rss) == 3, r.stderr
    others = max(v for k, v in rss.items() if k)
    print("peak RSS per rank (KiB):", rss)
    assert rss[0] <= 1.2 * others


def test_ranks_with_no_rows_spread(tmp_path):
    """600 rows are three grid blocks (core/partition.h): with 5 ranks, two
    have no rows. Metrics equal scikit-learn's; train on 5 ranks writes the
    same model file as on 1 (its own metrics included)."""
    data = gen(str(tmp_path / "small.h5"), rows=600, features=6, np_=1)
    models = {}
    for p in (1, 5):
        models[p] = str(tmp_path / f"m{p}.h5")
        run(p, "train", "--data", data, "--model", models[p], "--quiet", env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert open(models[1], "rb").read() == open(models[5], "rb").read()
    scores = str(tmp_path / "s.h5")
    run(5, "score", "--data", data, "--model", models[5], "--out", scores, "--quiet")
    with h5py.File(data) as d, h5py.File(scores) as s:
        truth = {t: (d["labels"][t][...], s["scores"][t][...].astype(np.float64)) for t in s["scores"]}
    for p in (1, 5):
        got = evaluate(p, data, scores)
        for t, (y, s) in truth.items():
            g = got["targets"][t]
            assert abs(g["roc_auc"] - roc_auc_score(y, s)) < 1e-12
            assert abs(g["pr_auc"] - average_precision_score(y, s)) < 1e-12
            assert abs(g["brier"] - brier_score_loss(y, s)) < 1e-12
