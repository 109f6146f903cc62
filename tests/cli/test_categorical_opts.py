"""The categorical splits' constants as train options with LightGBM's names
(issue 27; models/gbdt/categorical.h): each changes the split the planted
set case makes, LightGBM with the same settings picks the same root set,
the defaults keep the model bytes, a bad value is refused in one line, the
options are in the fingerprint (a checkpoint of other values is refused)
and in the manifest of data with categories."""
import filecmp
import json

import h5py
import numpy as np
import pytest

from pstest import error_line, run
from test_categorical import ENV, HOT, codes, make, train


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make(str(tmp_path_factory.mktemp("catopts") / "d.h5"))


def root(model):
    """The first tree's root: feature, category set (None: a threshold), gain."""
    with h5py.File(model) as m:
        t = m["trees/buy"]
        ci = int(t["cat_index"][0]) if "cat_index" in t else -1
        return int(t["feature"][0]), codes(t["cat_set"][ci]) if ci >= 0 else None, float(t["gain"][0])


def cat_sets(model):
    with h5py.File(model) as m:
        t = m["trees/buy"]
        return [codes(s) for s in t["cat_set"][...]] if "cat_set" in t else []


def fit(data, tmp_path, name, *extra):
    model = str(tmp_path / f"{name}.h5")
    train(1, data, model, *extra)
    return model


def test_defaults_are_lightgbms_and_keep_the_bytes(data, tmp_path):
    a = fit(data, tmp_path, "a")
    b = fit(data, tmp_path, "b", "--cat-smooth", "10", "--cat-l2", "10", "--max-cat-to-onehot", "4",
            "--min-data-per-group", "100", "--max-cat-threshold", "32")
    assert filecmp.cmp(a, b, shallow=False)
    assert root(a)[:2] == (1, HOT)
    par = json.load(open(a + ".manifest.json"))["parameters"]
    assert {k: par[k] for k in ("cat_smooth", "cat_l2", "max_cat_to_onehot", "min_data_per_group",
                                "max_cat_threshold")} == {"cat_smooth": 10, "cat_l2": 10, "max_cat_to_onehot": 4,
                                                          "min_data_per_group": 100, "max_cat_threshold": 32}


def test_numeric_data_has_no_categorical_parameters(tmp_path):
    d = make(str(tmp_path / "n.h5"), categorical=False)
    m = str(tmp_path / "n_m.h5")
    train(1, d, m)
    assert "cat_smooth" not in json.load(open(m + ".manifest.json"))["parameters"]


def test_each_option_changes_the_planted_split(data, tmp_path):
    # one-vs-rest up to 12 categories: the root takes one category of the set
    f, s, _ = root(fit(data, tmp_path, "onehot", "--max-cat-to-onehot", "12"))
    assert f == 1 and len(s) == 1 and s[0] in HOT
    # sets of at most 2: two of the planted four
    f, s, _ = root(fit(data, tmp_path, "thr", "--max-cat-threshold", "2"))
    assert f == 1 and len(s) == 2 and set(s) < set(HOT)
    assert all(len(s) <= 2 for s in cat_sets(str(tmp_path / "thr.h5")))
    # no category holds 1,000 rows (~330 each): no set search at all
    assert cat_sets(fit(data, tmp_path, "smooth", "--cat-smooth", "1000")) == []
    # a set and its other side both need 2,500 of the 4,000 rows: impossible
    assert cat_sets(fit(data, tmp_path, "group", "--min-data-per-group", "2500")) == []
    # cat_l2 only lowers a set split's gain: the same set, a larger gain without it
    _, s10, g10 = root(fit(data, tmp_path, "l2_10"))
    _, s0, g0 = root(fit(data, tmp_path, "l2_0", "--cat-l2", "0"))
    assert s0 == s10 == HOT and g0 > g10


@pytest.mark.parametrize("extra", [(), ("--max-cat-threshold", "2"), ("--cat-smooth", "300"),
                                   ("--max-cat-to-onehot", "13")])
def test_lightgbm_with_the_same_settings_splits_the_root_alike(data, tmp_path, extra):
    """One tree of LightGBM on the training rows with the same categorical
    settings: the same root set (its own cuts of the numerical columns do
    not matter here: the set carries the signal). LightGBM counts the
    missing-value bin among a feature's bins for max_cat_to_onehot (12 codes
    and NaN: 13 bins), propscore the categories: 13 makes both one-vs-rest
    here, 12 only propscore."""
    lgb = pytest.importorskip("lightgbm")
    from pstest import validation_mask
    model = fit(data, tmp_path, "m", *extra)
    with h5py.File(data) as d:
        X, y, ids = d["features"][...].astype(np.float64), d["labels/buy"][...], d["customer_id"][...]
    tr = ~validation_mask(ids)
    opts = dict(zip([e.lstrip("-").replace("-", "_") for e in extra[::2]], [float(v) for v in extra[1::2]]))
    params = dict(objective="binary", num_leaves=31, learning_rate=0.1, min_data_in_leaf=20, verbose=-1,
                  max_bin=255, cat_smooth=10.0, cat_l2=10.0, max_cat_to_onehot=4, min_data_per_group=100,
                  max_cat_threshold=32, min_data_in_bin=1)
    params.update({k: (int(v) if k != "cat_smooth" else v) for k, v in opts.items()})
    ds = lgb.Dataset(X[tr], y[tr], categorical_feature=[1], params=params)
    b = lgb.train(params, ds, num_boost_round=1)
    t = b.dump_model()["tree_info"][0]["tree_structure"]
    f, s, _ = root(model)
    assert t["split_feature"] == f == 1
    want = sorted(int(c) for c in str(t["threshold"]).split("||"))
    assert s == want


@pytest.mark.parametrize("opt,value,text", [("--cat-smooth", "-1", "[0, 1e+09]"), ("--cat-l2", "1e13", "[0, 1e+12]"),
                                            ("--max-cat-to-onehot", "0", "[1, 255]"),
                                            ("--min-data-per-group", "0", "[1, "),
                                            ("--max-cat-threshold", "256", "[1, 255]")])
def test_a_bad_value_is_refused_in_one_line(data, tmp_path, opt, value, text):
    model = tmp_path / "bad.h5"
    r = train(1, data, str(model), opt, value, check=False)
    assert r.returncode == 2 and error_line(r).startswith(f"propscore: error: {opt}: {value} ") and text in error_line(r)
    assert not model.exists()


def test_a_checkpoint_of_other_values_is_refused(data, tmp_path):
    model = str(tmp_path / "m.h5")
    r = train(2, data, model, check=False, env=dict(ENV, PROPSCORE_FAULT_STOP="tree:7"))
    assert r.returncode == 75, r.stderr
    r = train(2, data, model, "--cat-l2", "5", check=False)
    assert r.returncode != 0 and "checkpoint of a different run" in error_line(r) and "cat_l2=5" in error_line(r)
