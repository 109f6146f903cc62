"""Run manifests next to outputs; the quality gate; output permissions; no
customer ids in logs."""
import json
import os
import stat

import h5py
import pytest

from pstest import error_line, gen, run


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("gate")
    data = gen(str(d / "d.h5"), rows=40000, features=24, np_=2)
    m1, s1 = str(d / "m1.h5"), str(d / "s1.h5")
    run(2, "train", "--data", data, "--model", m1, "--quiet")
    run(2, "score", "--data", data, "--model", m1, "--out", s1, "--quiet")
    return d, data, m1, s1


def test_manifests(world):
    d, data, m1, s1 = world
    for out, cmd in ((m1, "train"), (s1, "score")):
        man = json.load(open(out + ".manifest.json"))
        assert man["command"] == cmd and man["exit_status"] == 0 and man["status"] == "ok"
        assert man["ranks"] == 2 and man["devices"] == ["cpu"] and man["propscore_version"]
        assert {i["role"] for i in man["inputs"]} >= {"data"}
        assert man["outputs"][0]["path"] == out and man["outputs"][0]["size"] == os.path.getsize(out)
        assert all(v >= 0 for v in man["phases_s"].values()) and man["wall_s"] > 0
    man = json.load(open(s1 + ".manifest.json"))
    model_in = [i for i in man["inputs"] if i["role"] == "model"][0]
    assert len(model_in["crc32"]) == 8                      # checksum of the model
    man = json.load(open(m1 + ".manifest.json"))
    assert 0.5 < man["metrics"]["churn"]["valid_auc"] < 1 and man["parameters"]["solver"] in ("lbfgs", "newton")


def test_manifest_of_a_failed_run(world, tmp_path):
    d, data, m1, s1 = world
    out = str(tmp_path / "m.h5")
    r = run(2, "train", "--data", data, "--model", out, "--targets", "nope", check=False)
    assert r.returncode == 1
    man = json.load(open(out + ".manifest.json"))
    assert man["exit_status"] == 1 and "/labels/nope not found" in man["status"]
    assert not os.path.exists(out)


def test_outputs_are_0640(world):
    d, data, m1, s1 = world
    for p in (m1, s1, m1 + ".manifest.json"):
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o640, p


def test_no_customer_ids_in_logs(world, tmp_path):
    d, data, m1, s1 = world
    with h5py.File(data) as h:
        ids = [str(i) for i in h["customer_id"][:200]]
    logs = ""
    for args in (["train", "--data", data, "--model", str(tmp_path / "m.h5")],
                 ["score", "--data", data, "--model", m1, "--out", str(tmp_path / "s.h5")],
                 ["eval", "--data", data, "--scores", s1], ["inspect", data]):
        r = run(2, *args)
        logs += r.stdout + r.stderr
    logs += open(m1 + ".manifest.json").read()
    assert not [i for i in ids if i in logs]


def test_gate_pass_and_first_model(world):
    d, data, m1, s1 = world
    r = run(2, "gate", "--model", m1, "--baseline", m1, "--scores", s1, "--baseline-scores", s1)
    assert "gate: pass" in r.stdout
    r = run(1, "gate", "--model", m1)
    assert "no baseline: first model" in r.stdout


def test_gate_refuses_worse_model(world, tmp_path):
    d, data, m1, s1 = world
    weak = str(tmp_path / "weak.h5")
    # a heavily regularized model ranks worse and is badly calibrated
    run(2, "train", "--data", data, "--model", weak, "--l2", "30", "--quiet")
    r = run(2, "gate", "--model", weak, "--baseline", m1, check=False)
    assert r.returncode == 3
    assert "propscore: gate: refused:" in r.stderr and "more than --max" in r.stderr
    r = run(2, "gate", "--model", weak, "--baseline", m1, "--max-auc-drop", "1", "--max-logloss-rise", "100",
            "--json")
    assert json.loads(r.stdout)["publish"] is True


def test_gate_refuses_shifted_scores(world, tmp_path):
    d, data, m1, s1 = world
    shifted = str(tmp_path / "shifted.h5")
    import shutil
    shutil.copy(data, shifted)
    with h5py.File(shifted, "r+") as h:   # this month's customers came back much more recently
        names = [n.decode() for n in h["feature_names"][...]]
        X = h["features"][...]
        X[:, names.index("recency_days")] *= 0.2
        h["features"][...] = X
    s2 = str(tmp_path / "s2.h5")
    run(2, "score", "--data", shifted, "--model", m1, "--out", s2, "--quiet")
    r = run(2, "gate", "--model", m1, "--baseline", m1, "--scores", s2, "--baseline-scores", s1, "--json",
            check=False)
    res = json.loads(r.stdout)
    assert r.returncode == 3 and res["publish"] is False
    assert "score distribution shifted: PSI" in res["reason"]
    assert res["heads"]["churn"]["psi"] > 0.1
    # the unchanged scores have PSI 0
    r = run(2, "gate", "--model", m1, "--baseline", m1, "--scores", s1, "--baseline-scores", s1, "--json")
    assert json.loads(r.stdout)["heads"]["churn"]["psi"] == 0


def test_gate_refuses_missing_head(world, tmp_path):
    d, data, m1, s1 = world
    one = str(tmp_path / "one.h5")
    run(2, "train", "--data", data, "--model", one, "--targets", "churn", "--quiet")
    r = run(1, "gate", "--model", one, "--baseline", m1, check=False)
    assert r.returncode == 3 and "head purchase_3m of the baseline is missing" in r.stderr
