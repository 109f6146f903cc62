"""Degenerate inputs, every subcommand, under the ASan + UBSan build (issue 32):
one row, as many rows as ranks and fewer rows than ranks, one feature, an odd
column count with a constant and an all-NaN column, one-class labels, a target
without positives in the validation split, k above the row count, one tree, a
tree that cannot split, empty --targets, a zero budget, --top 0, uplift with an
empty control group; on 1 and 3 ranks. Every run ends in exit 0 or one clean
`propscore: error:` line (exit 1 or 2), prints no sanitizer report, leaves no
temporary, lock, partial or checkpoint, and changes none of its inputs.
Without $PROPSCORE_ASAN_BIN the plain build runs the same cases (no sanitizer)."""
import glob
import json
import os
import re
import subprocess

import h5py
import numpy as np
import pytest

from pstest import BIN, MPIEXEC, digest, validation_mask

EXE = os.environ.get("PROPSCORE_ASAN_BIN") or BIN
SAN_ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:exitcode=99",  # leaks: Open MPI's own
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=98")
REPORTS = ("runtime error:", "AddressSanitizer", "LeakSanitizer")
DEBRIS = ("*.tmp-*", "*.lock", "*.partial-*", "*.ckpt")
KEY = "00112233445566778899aabbccddeeff"


def files(*dirs):
    return {p: digest(p) for d in dirs for p in glob.glob(os.path.join(str(d), "*")) if os.path.isfile(p)}


def ps(np_, dirs, *args, outs=(), expect=None):
    """One run in the directories `dirs` (where its inputs and outputs lie):
    exit 0, or 1/2 with one `propscore: error:` line (containing `expect` if
    given; expect="ok" requires exit 0); no sanitizer report, no debris, every
    file that is not one of `outs` (or beside one: manifest, uplift sub-models)
    unchanged, and on failure no new file but manifests. Returns the CompletedProcess."""
    args = [str(a) for a in args]
    before = files(*dirs)
    stems = [os.path.splitext(str(o))[0] + "." for o in outs]  # o, o.manifest.json, o-stem.treated.h5, ...
    r = subprocess.run([MPIEXEC, "-n", str(np_), EXE, *args], capture_output=True, text=True,
                       errors="backslashreplace", env=SAN_ENV, timeout=300)
    what = f"{np_} rank(s): propscore {' '.join(args)}: exit {r.returncode}\n{r.stderr[-4000:]}"
    assert not any(s in r.stderr for s in REPORTS), what
    assert r.returncode in (0, 1, 2), what
    if r.returncode:
        errs = [l for l in r.stderr.splitlines() if "propscore: error" in l]
        assert len(errs) == 1 and re.match(r"propscore: error( \(rank \d+\))?: ", errs[0]), what
        assert expect != "ok" and (expect is None or expect in errs[0]), what
        made = [f for f in files(*dirs) if f not in before and not f.endswith(".manifest.json")]
        assert not made, f"{what}\nthe failed run left: {made}"
    else:
        assert expect in (None, "ok"), what
        assert all(os.path.exists(str(o)) for o in outs), what
        if "--json" in args:  # one strict JSON document (null, never NaN)
            json.loads(r.stdout, parse_constant=lambda c: pytest.fail(f"{what}\n{c} in the JSON"))
    debris = [p for d in dirs for pat in DEBRIS for p in glob.glob(os.path.join(str(d), pat))]
    assert not debris, f"{what}\nleft behind: {debris}"
    after = files(*dirs)
    changed = [p for p, h in before.items() if after.get(p) != h and not any(p.startswith(s) for s in stems)]
    assert not changed, f"{what}\ninputs changed or removed: {changed}"
    return r


@pytest.fixture(scope="module")
def S(tmp_path_factory):
    """Shared inputs: a small normal file (8 features, as the tiny files
    below) with its models and personas, and an export key."""
    d = tmp_path_factory.mktemp("degenerate")
    p = lambda name: str(d / name)
    ps(1, [d], "gen", "--out", p("base.h5"), "--rows", 300, "--features", 8, "--seed", 3, "--quiet",
       outs=[p("base.h5")], expect="ok")
    ps(1, [d], "train", "--data", p("base.h5"), "--model", p("m.h5"), "--quiet", outs=[p("m.h5")], expect="ok")
    ps(1, [d], "train", "--data", p("base.h5"), "--model", p("g.h5"), "--model-type", "gbdt", "--trees", 3,
       "--min-data-in-leaf", 5, "--quiet", outs=[p("g.h5")], expect="ok")
    ps(1, [d], "segment", "--data", p("base.h5"), "--k", 2, "--out", p("personas.h5"), "--quiet",
       outs=[p("personas.h5")], expect="ok")
    with open(p("k.key"), "w") as f:
        f.write(KEY)
    os.chmod(p("k.key"), 0o600)
    return d


def test_gen_degenerate(S, tmp_path):
    p = lambda name: str(tmp_path / name)
    ps(3, [S, tmp_path], "gen", "--out", p("x.h5"), "--rows", 2, "--features", 8, outs=[p("x.h5")],
       expect="less than the number of ranks")
    ps(1, [S, tmp_path], "gen", "--out", p("u.h5"), "--rows", 1, "--features", 7, "--uplift", "--quiet",
       outs=[p("u.h5")], expect="ok")
    ps(3, [S, tmp_path], "gen", "--out", p("c.h5"), "--rows", 3, "--features", 2, "--clusters", 1, "--quiet",
       outs=[p("c.h5")], expect="ok")


def two_class(path, labels):
    """Set every /labels/<t> of a tiny gen file to `labels` (both classes)."""
    with h5py.File(path, "r+") as f:
        for t in f["labels"]:
            f["labels"][t][...] = np.array(labels, dtype=np.uint8)


# the tiny files: (rows, ranks, labels set to both classes or None); train
# with --holdout 0 so that every row is a training row
TINY = {"one-row@1": (1, 1, None), "fewer-rows-than-ranks@3": (2, 3, [0, 1]), "rows=ranks@3": (3, 3, [1, 0, 1])}


@pytest.mark.parametrize("case", list(TINY))
def test_tiny_file_through_every_subcommand(S, tmp_path, case):
    rows, np_, labels = TINY[case]
    m, g, personas, key = (str(S / n) for n in ("m.h5", "g.h5", "personas.h5", "k.key"))
    p = lambda n: str(tmp_path / n)
    D = [S, tmp_path]
    data = p("d.h5")
    ps(1 if rows < np_ else np_, D, "gen", "--out", data, "--rows", rows, "--features", 8, "--quiet", outs=[data],
       expect="ok")
    if labels:
        two_class(data, labels)
    ps(np_, D, "inspect", data, "--json", "--quiet", expect="ok")
    one_class = None if labels else "only 1 training rows"
    ps(np_, D, "train", "--data", data, "--model", p("tm.h5"), "--holdout", 0, "--quiet", outs=[p("tm.h5")],
       expect=one_class or "ok")
    # rows < --min-data-in-leaf (20): the tree cannot split
    ps(np_, D, "train", "--data", data, "--model", p("tg.h5"), "--holdout", 0, "--model-type", "gbdt", "--trees", 1,
       "--quiet", outs=[p("tg.h5")], expect=one_class or "ok")
    ps(np_, D, "score", "--data", data, "--model", m, "--out", p("s.h5"), "--quiet", outs=[p("s.h5")], expect="ok")
    ps(np_, D, "score", "--data", data, "--model", g, "--out", p("sg.h5"), "--quiet", outs=[p("sg.h5")], expect="ok")
    ps(np_, D, "eval", "--data", data, "--scores", p("s.h5"), "--split", "all", "--json", expect="ok")
    if rows == 1:  # the report's charts of one row (scripts/report.py)
        ps(np_, D, "eval", "--data", data, "--scores", p("s.h5"), "--split", "all", "--report", p("report"),
           outs=[p("report")], expect="ok")
    ps(np_, D, "gate", "--model", m, "--baseline", g, "--scores", p("s.h5"), "--baseline-scores", p("sg.h5"),
       "--max-auc-drop", 1, "--max-logloss-rise", 100, "--min-auc", 0, "--max-psi", 100, expect="ok")
    ps(np_, D, "segment", "--data", data, "--k", rows + 1, "--out", p("seg.h5"), "--quiet", outs=[p("seg.h5")],
       expect=f"--k {rows + 1} is more than the {rows} rows")
    ps(np_, D, "segment", "--data", data, "--k", rows, "--quiet", expect="ok")
    ps(np_, D, "segment", "--data", data, "--model", personas, "--out", p("seg.h5"), "--quiet", outs=[p("seg.h5")],
       expect="ok")
    ps(np_, D, "holdout", "--data", data, "--campaign", "c", "--fraction", 0.5, "--out", p("h.h5"), "--quiet",
       outs=[p("h.h5")], expect="ok")
    ps(np_, D, "offers", "--scores", p("s.h5"), "--budget", 0, "--out", p("o.h5"), "--quiet", outs=[p("o.h5")],
       expect="ok")
    with h5py.File(p("o.h5")) as f:
        assert (f["offers/rank_0"][...] == -1).all() and (f["offers/value_0"][...] == 0).all()
    ps(np_, D, "export", "--scores", p("s.h5"), "--by", "churn", "--top", 0, "--holdout", p("h.h5"), "--group",
       "control", "--id-key-file", key, "--out", p("a.csv"), "--quiet", outs=[p("a.csv")], expect="ok")
    assert open(p("a.csv")).read() == "pseudo_id,score\n"


def test_one_feature(S, tmp_path):
    p = lambda n: str(tmp_path / n)
    D = [S, tmp_path]
    ps(3, D, "gen", "--out", p("d.h5"), "--rows", 40, "--features", 1, "--quiet", outs=[p("d.h5")], expect="ok")
    ps(1, D, "train", "--data", p("d.h5"), "--model", p("m.h5"), "--quiet", outs=[p("m.h5")], expect="ok")
    ps(3, D, "train", "--data", p("d.h5"), "--model", p("g.h5"), "--model-type", "gbdt", "--trees", 1,
       "--min-data-in-leaf", 2, "--quiet", outs=[p("g.h5")], expect="ok")
    ps(3, D, "score", "--data", p("d.h5"), "--model", p("g.h5"), "--out", p("s.h5"), "--quiet", outs=[p("s.h5")],
       expect="ok")
    ps(1, D, "segment", "--data", p("d.h5"), "--k", 3, "--out", p("seg.h5"), "--quiet", outs=[p("seg.h5")],
       expect="ok")


def test_odd_columns_constant_and_all_nan(S, tmp_path):
    """7 features; column 2 constant, column 4 NaN in every row."""
    p = lambda n: str(tmp_path / n)
    D = [S, tmp_path]
    ps(1, D, "gen", "--out", p("d.h5"), "--rows", 60, "--features", 7, "--quiet", outs=[p("d.h5")], expect="ok")
    with h5py.File(p("d.h5"), "r+") as f:
        X = f["features"][...]
        X[:, 2], X[:, 4] = 5.0, np.nan
        f["features"][...] = X
    ps(3, D, "inspect", p("d.h5"), "--quiet", expect="ok")
    ps(3, D, "train", "--data", p("d.h5"), "--model", p("m.h5"), "--missing-indicators", "--quiet",
       outs=[p("m.h5")], expect="ok")
    ps(1, D, "train", "--data", p("d.h5"), "--model", p("a.h5"), "--model-type", "auto", "--trees", 2,
       "--min-data-in-leaf", 3, "--quiet", outs=[p("a.h5")], expect="ok")
    ps(3, D, "score", "--data", p("d.h5"), "--model", p("m.h5"), "--out", p("s.h5"), "--quiet", outs=[p("s.h5")],
       expect="ok")
    ps(1, D, "score", "--data", p("d.h5"), "--model", p("a.h5"), "--out", p("sa.h5"), "--quiet", outs=[p("sa.h5")],
       expect="ok")
    ps(3, D, "segment", "--data", p("d.h5"), "--k", 3, "--out", p("seg.h5"), "--quiet", outs=[p("seg.h5")],
       expect="/features column 4 (tenure_months) has no finite value")
    ps(1, D, "segment", "--data", p("d.h5"), "--k", 3, "--columns", "recency_days,frequency_12m", "--quiet",
       expect="ok")


def test_one_class_labels_and_no_validation_positives(S, tmp_path):
    """Target a: every label 0; b: every label 1; c: positives only among the training rows."""
    p = lambda n: str(tmp_path / n)
    D = [S, tmp_path]
    ps(1, D, "gen", "--out", p("d.h5"), "--rows", 80, "--features", 4, "--targets", "a,b,c:0.3", "--quiet",
       outs=[p("d.h5")], expect="ok")
    with h5py.File(p("d.h5"), "r+") as f:
        valid = validation_mask(f["customer_id"][...])
        assert valid.any() and not valid.all()
        f["labels/a"][...] = 0
        f["labels/b"][...] = 1
        c = f["labels/c"][...]
        c[valid] = 0
        c[np.flatnonzero(~valid)[:3]] = 1
        f["labels/c"][...] = c
    ps(1, D, "train", "--data", p("d.h5"), "--model", p("x.h5"), "--targets", "a", "--quiet", outs=[p("x.h5")],
       expect="/labels/a: every training label is 0")
    ps(3, D, "train", "--data", p("d.h5"), "--model", p("x.h5"), "--targets", "b", "--model-type", "gbdt",
       "--quiet", outs=[p("x.h5")], expect="/labels/b: every training label is 1")
    ps(3, D, "train", "--data", p("d.h5"), "--model", p("m.h5"), "--targets", "c", "--quiet", outs=[p("m.h5")],
       expect="ok")
    ps(1, D, "train", "--data", p("d.h5"), "--model", p("g.h5"), "--targets", "c", "--model-type", "gbdt",
       "--trees", 3, "--min-data-in-leaf", 2, "--early-stopping", 1, "--quiet", outs=[p("g.h5")], expect="ok")
    ps(3, D, "score", "--data", p("d.h5"), "--model", p("m.h5"), "--out", p("s.h5"), "--quiet", outs=[p("s.h5")],
       expect="ok")
    r = ps(1, D, "eval", "--data", p("d.h5"), "--scores", p("s.h5"), "--json", expect="ok")
    assert json.loads(r.stdout)["targets"]["c"]["roc_auc"] is None
    ps(3, D, "gate", "--model", p("g.h5"), "--baseline", p("m.h5"),
       expect="/metrics/c validation metrics are not finite")


def test_gbdt_one_tree_that_cannot_split_and_empty_targets(S, tmp_path):
    p = lambda n: str(tmp_path / n)
    D = [S, tmp_path]
    base = str(S / "base.h5")
    ps(3, D, "train", "--data", base, "--model", p("g.h5"), "--model-type", "gbdt", "--trees", 1,
       "--min-data-in-leaf", 1000, "--quiet", outs=[p("g.h5")], expect="ok")
    ps(1, D, "score", "--data", base, "--model", p("g.h5"), "--out", p("s.h5"), "--quiet", outs=[p("s.h5")],
       expect="ok")
    with h5py.File(p("s.h5")) as f:  # one leaf: the same score for every row
        assert all(np.ptp(f["scores"][t][...]) == 0 for t in f["scores"])
    empty = "propscore: error: --targets: no target names given"  # not "the file has no labels"
    assert ps(1, D, "train", "--data", base, "--model", p("m.h5"), "--targets", "", outs=[p("m.h5")],
              expect=empty).returncode == 2
    assert ps(3, D, "eval", "--data", base, "--scores", p("s.h5"), "--targets", "", expect=empty).returncode == 2
    assert ps(1, D, "gen", "--out", p("t.h5"), "--rows", 5, "--targets", "", outs=[p("t.h5")],
              expect=empty).returncode == 2


UPLIFT = ["--uplift", "--treatment", "treated", "--targets", "y"]


@pytest.fixture()
def uplift(S, tmp_path):
    p = str(tmp_path / "u.h5")
    ps(1, [S, tmp_path], "gen", "--out", p, "--rows", 60, "--features", 7, "--targets", "y:0.3", "--uplift",
       "--quiet", outs=[p], expect="ok")
    return p


def test_uplift_degenerate(S, tmp_path, uplift):
    """A tiny uplift file (no holdout); then eval --uplift where every row is treated."""
    p = lambda n: str(tmp_path / n)
    D = [S, tmp_path]
    ps(3, D, "train", "--data", uplift, "--model", p("up.h5"), *UPLIFT, "--holdout", 0, "--quiet",
       outs=[p("up.h5")], expect="ok")
    ps(1, D, "score", "--data", uplift, "--model", p("up.h5"), "--out", p("s.h5"), "--quiet", outs=[p("s.h5")],
       expect="ok")
    ps(3, D, "eval", "--data", uplift, "--scores", p("s.h5"), "--uplift", "--treatment", "treated", "--json",
       expect="ok")
    ps(1, D, "offers", "--scores", p("s.h5"), "--uplift", "--budget", 0, "--out", p("o.h5"), "--quiet",
       outs=[p("o.h5")], expect="ok")
    with h5py.File(uplift, "r+") as f:
        f["labels/treated"][...] = 1
    ps(3, D, "eval", "--data", uplift, "--scores", p("s.h5"), "--uplift", "--treatment", "treated", "--json")


def test_uplift_without_control_group_leaves_nothing(S, tmp_path, uplift):
    """The control model fails (no control rows): nothing of the set is written or replaced."""
    with h5py.File(uplift, "r+") as f:
        f["labels/treated"][...] = 1
    out = str(tmp_path / "up.h5")
    ps(1, [S, tmp_path], "train", "--data", uplift, "--model", out, *UPLIFT, "--model-type", "gbdt", "--trees", 1,
       "--quiet", outs=[out])


def test_auto_whose_gbdt_candidate_fails_leaves_nothing(S, tmp_path):
    """The logreg candidate is made, then the gbdt one fails (binned rows over --host-mem-limit): the
    logreg candidate goes too (only the failed candidate's manifest stays, with the error)."""
    out = str(tmp_path / "m.h5")
    ps(1, [S, tmp_path], "train", "--data", str(S / "base.h5"), "--model", out, "--model-type", "auto",
       "--host-mem-limit", "1K", "--quiet", outs=[out], expect="--host-mem-limit")
