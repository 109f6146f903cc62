"""eval --report on a scores file with reason codes (score --explain N,
issue 29): per head a chart of each feature's mean |contribution| (equal to
a numpy oracle over the scores file's /explain, features by name, strongest
first) and a beeswarm whose points are (the data file's feature value,
the scores file's contribution) of rows where the feature is a reason; a
scores file without /explain gets neither."""
import json
import os

import h5py
import numpy as np
import pytest

from pstest import gen, run

TOP = 3


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    d = tmp_path_factory.mktemp("report_explain")
    data = gen(str(d / "d.h5"), rows=4000, features=8, np_=2)
    model, scores, plain = str(d / "m.h5"), str(d / "s.h5"), str(d / "p.h5")
    run(2, "train", "--data", data, "--model", model, "--model-type", "gbdt", "--trees", "10", "--quiet")
    run(2, "score", "--data", data, "--model", model, "--out", scores, "--explain", TOP, "--quiet")
    run(2, "score", "--data", data, "--model", model, "--out", plain, "--quiet")
    return d, data, scores, plain


def charts(out):
    return {c["id"]: c["data"] for c in json.load(open(os.path.join(out, "report.json")))["charts"]}


def test_summary_and_beeswarm_are_the_files(scored):
    d, data, scores, _ = scored
    out = str(d / "rep")
    run(2, "eval", "--data", data, "--scores", scores, "--report", out)
    c = charts(out)
    html = open(os.path.join(out, "index.html")).read()
    with h5py.File(scores) as s, h5py.File(data) as x:
        names = [n.decode() for n in x["feature_names"][...]]
        X = x["features"][...]
        for t, g in s["explain"].items():
            if not isinstance(g, h5py.Group):
                continue
            F, V = g["feature"][...], g["value"][...].astype(np.float64)
            mean = np.array([np.abs(V[F == j]).sum() for j in range(len(names))]) / len(F)
            order = sorted(range(len(names)), key=lambda j: (-mean[j], j))
            bars = c[f"explain-{t}"]
            assert bars["features"] == [names[j] for j in order]
            np.testing.assert_allclose(bars["mean_abs"], mean[order], rtol=1e-12)
            assert bars["share_in_top"] == [float((F == j).sum() / len(F)) for j in order]
            sw = c[f"swarm-{t}"]["swarm"]
            assert [p["feature"] for p in sw] == [names[j] for j in order[:6]]
            assert sum(len(p["rows"]) for p in sw) > 1000
            for p in sw:
                j = names.index(p["feature"])
                for r, v, ctb in zip(p["rows"], p["value"], p["contribution"]):
                    assert (v is None and np.isnan(X[r, j])) or v == float(X[r, j])
                    k = list(F[r]).index(j)
                    assert ctb == float(g["value"][r, k])
            assert f'id="explain-{t}"' in html and f'id="swarm-{t}"' in html
            assert os.path.getsize(os.path.join(out, f"swarm-{t}.png")) > 1000


def test_no_reason_codes_no_section(scored):
    d, data, _, plain = scored
    out = str(d / "rep_plain")
    run(1, "eval", "--data", data, "--scores", plain, "--report", out)
    assert not [k for k in charts(out) if k.startswith(("explain-", "swarm-"))]
    assert "Reason codes" not in open(os.path.join(out, "index.html")).read()
