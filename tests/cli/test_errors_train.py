"""Bad input to train/score/eval: one clear line, non-zero exit, no partial
output, inputs untouched."""
import os
import shutil

import h5py
import numpy as np
import pytest

from pstest import digest, error_line, gen, leftovers, run


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    d = tmp_path_factory.mktemp("terr")
    data = gen(str(d / "d.h5"), rows=3000, features=10, np_=2)
    model = str(d / "m.h5")
    run(2, "train", "--data", data, "--model", model, "--quiet")
    return data, model


def copy_with(base_data, tmp_path, edit):
    path = str(tmp_path / "edited.h5")
    shutil.copy(base_data, path)
    with h5py.File(path, "r+") as h:
        edit(h)
    return path


def check_failed(r, tmp_path, out, inputs, code=1):
    assert r.returncode == code, r.stderr
    line = error_line(r)
    assert not os.path.exists(out) and not leftovers(os.path.dirname(out))
    for path, before in inputs.items():
        assert digest(path) == before, f"{path} was modified"
    return line


def set_label(h, target, row, value, dtype=None):
    y = h["labels"][target][...].astype(dtype or h["labels"][target].dtype)
    y[row] = value
    del h["labels"][target]
    h["labels"][target] = y


@pytest.mark.parametrize("value,dtype,shown", [(2, None, "value 2 is not 0 or 1"),
                                                (np.nan, np.float32, "value nan is not 0 or 1"),
                                                (np.inf, np.float64, "value inf is not 0 or 1"),
                                                (-1, np.int16, "value -1 is not 0 or 1")])
def test_bad_label_values(base, tmp_path, value, dtype, shown):
    data = copy_with(base[0], tmp_path, lambda h: set_label(h, "churn", 2222, value, dtype))
    out = str(tmp_path / "m.h5")
    before = {data: digest(data)}
    r = run(3, "train", "--data", data, "--model", out, check=False)
    line = check_failed(r, tmp_path, out, before)
    assert line == f"propscore: error: {data}: /labels/churn row 2222: {shown}"


def test_all_one_class(base, tmp_path):
    def edit(h):
        del h["labels"]["purchase_3m"]
        h["labels"]["purchase_3m"] = np.zeros(3000, np.uint8)
    data = copy_with(base[0], tmp_path, edit)
    out = str(tmp_path / "m.h5")
    r = run(2, "train", "--data", data, "--model", out, check=False)
    line = check_failed(r, tmp_path, out, {data: digest(data)})
    assert "/labels/purchase_3m: every training label is 0; a model needs both classes" in line


def test_missing_target(base, tmp_path):
    out = str(tmp_path / "m.h5")
    r = run(2, "train", "--data", base[0], "--model", out, "--targets", "churn,upsell", check=False)
    line = check_failed(r, tmp_path, out, {base[0]: digest(base[0])})
    assert line == f"propscore: error: {base[0]}: dataset /labels/upsell not found"


def test_no_labels_at_all(base, tmp_path):
    data = copy_with(base[0], tmp_path, lambda h: h.__delitem__("labels"))
    out = str(tmp_path / "m.h5")
    r = run(1, "train", "--data", data, "--model", out, check=False)
    assert "no /labels/<target> datasets: nothing to train" in check_failed(r, tmp_path, out, {})


def test_label_length_mismatch(base, tmp_path):
    def edit(h):
        del h["labels"]["churn"]
        h["labels"]["churn"] = np.zeros(2999, np.uint8)
    data = copy_with(base[0], tmp_path, edit)
    out = str(tmp_path / "m.h5")
    r = run(2, "train", "--data", data, "--model", out, check=False)
    assert "/labels/churn has 2999 rows but /features has 3000" in check_failed(r, tmp_path, out, {})


def test_feature_mismatch_on_score(base, tmp_path):
    def edit(h):
        names = h["feature_names"][...]
        names[4] = b"tenure_days"
        del h["feature_names"]
        h["feature_names"] = names
    data = copy_with(base[0], tmp_path, edit)
    out = str(tmp_path / "s.h5")
    before = {data: digest(data), base[1]: digest(base[1])}
    r = run(2, "score", "--data", data, "--model", base[1], "--out", out, check=False)
    line = check_failed(r, tmp_path, out, before)
    assert line == (f"propscore: error: {data}: feature 4 is 'tenure_days' but model {base[1]} expects "
                    "'tenure_months'")


def test_feature_count_mismatch_on_score(base, tmp_path):
    other = gen(str(tmp_path / "o.h5"), rows=100, features=12)
    out = str(tmp_path / "s.h5")
    r = run(1, "score", "--data", other, "--model", base[1], "--out", out, check=False)
    assert "has 12 features but model" in check_failed(r, tmp_path, out, {})


@pytest.mark.parametrize("cmd", ["train", "score"])
def test_unwritable_output(base, tmp_path, cmd):
    locked = tmp_path / "ro"
    locked.mkdir()
    os.chmod(locked, 0o500)
    out = str(locked / "x.h5")
    try:
        args = ["--data", base[0], "--model", out] if cmd == "train" else ["--data", base[0], "--model", base[1], "--out", out]
        if os.geteuid() == 0:  # root ignores directory permissions: use a path under a regular file instead
            out = str(tmp_path / "file" / "x.h5")
            (tmp_path / "file").write_text("")
            args[args.index(str(locked / "x.h5"))] = out
        r = run(2, cmd, *args, check=False)
        assert r.returncode == 1 and "cannot write output" in error_line(r)
        assert not os.path.exists(out)
    finally:
        os.chmod(locked, 0o700)


def test_not_a_model(base, tmp_path):
    out = str(tmp_path / "s.h5")
    r = run(1, "score", "--data", base[0], "--model", base[0], "--out", out, check=False)
    assert "not a propscore model file (kind = features)" in check_failed(r, tmp_path, out, {})


def test_eval_scores_from_other_data(base, tmp_path):
    other = gen(str(tmp_path / "o.h5"), rows=3000, features=10, seed=99)
    with h5py.File(other, "r+") as h:
        ids = h["customer_id"][...]
        ids[10] = -98765431
        h["customer_id"][...] = ids
    scores = str(tmp_path / "s.h5")
    run(1, "score", "--data", other, "--model", base[1], "--out", scores, "--quiet")
    r = run(2, "eval", "--data", base[0], "--scores", scores, check=False)
    assert r.returncode == 1 and "/customer_id row 10 differs from data" in error_line(r)
    assert "98765431" not in r.stderr  # no customer ids in messages


@pytest.mark.parametrize("args,msg", [
    (["train", "--data", "d.h5"], "train: --model is required"),
    (["train", "--data", "d.h5", "--model", "m.h5", "--solver", "sgd"], "--solver: 'sgd' is not one of"),
    (["train", "--data", "d.h5", "--model", "m.h5", "--l2", "1,2,3"], ""),
    (["score", "--data", "d.h5"], "score: --model and --out are required"),  # names only the missing ones
    (["eval", "--data", "d.h5", "--scores", "s.h5", "--split", "test"], "--split: 'test' is not one of"),
    # issue 32: options that choose validation rows were ignored with --split all
    (["eval", "--data", "d.h5", "--scores", "s.h5", "--split", "all", "--holdout", "0.2"],
     "eval: --holdout 0.2 chooses validation rows, but the split is all (every row)"),
    (["eval", "--data", "d.h5", "--scores", "s.h5", "--split", "all", "--split-salt", "5", "--uplift"],
     "eval: --split-salt chooses validation rows, but the split is all (every row)"),
    (["gate", "--baseline", "b.h5"], "gate: --model is required"),
])
def test_usage(args, msg):
    r = run(1, *args, check=False)
    assert r.returncode in (1, 2) and msg in error_line(r)


@pytest.mark.parametrize("value,shown", [(np.nan, "score nan"), (np.inf, "score inf"), (1.5, "score 1.5")])
def test_bad_baseline_scores(base, tmp_path, value, shown):
    """Issue 32: gate and eval --baseline-scores took NaN, Inf and 1.5 in the published model's scores
    (the PSI from the other rows) and published. Now one line naming file, dataset and row."""
    data, model = base
    s, b = str(tmp_path / "s.h5"), str(tmp_path / "b.h5")
    run(2, "score", "--data", data, "--model", model, "--out", s, "--quiet")
    shutil.copy(s, b)
    with h5py.File(b, "r+") as h:
        v = h["scores/churn"][...]
        v[1234] = value
        h["scores/churn"][...] = v
    before = {s: digest(s), b: digest(b)}
    want = f"{b}: /scores/churn row 1234: {shown} is not a probability"
    for args in (["gate", "--model", model, "--baseline", model, "--scores", s, "--baseline-scores", b, "--json"],
                 ["eval", "--data", data, "--scores", s, "--baseline-scores", b, "--json"]):
        r = run(2, *args, check=False)
        assert r.returncode == 1 and r.stdout == "", (args[0], r.stdout)
        assert want in error_line(r), args[0]
    assert {p: digest(p) for p in before} == before
