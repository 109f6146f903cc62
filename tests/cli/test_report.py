"""eval --report DIR (issue 14): one HTML page per run with its charts. The
curves' points in eval --json are exact (a numpy oracle, scikit-learn's ROC
curve) and the same for any rank count; the PSI equals the gate's; the page
renders in headless Chromium with every expected chart loaded and not blank,
its header numbers equal eval --json and the charts' data points equal the
JSON they were drawn from; a missing Python/matplotlib is a clear error after
the metrics were printed; the directory is replaced whole, never a stranger's."""
import json
import os
import re
import shutil
import subprocess

import h5py
import numpy as np
import pytest
from sklearn.metrics import roc_curve

from pstest import BIN, MPIEXEC, SRC, error_line, gen, run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def curve_oracle(y, s, rows):
    """Positives among the top `rows` by score; a tie run cut by the depth gives its share."""
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order].astype(np.float64)
    u, start = np.unique(-s, return_index=True)
    ends = np.append(start[1:], len(s))
    out = []
    for e in rows:
        tot = 0.0
        for a, b in zip(start, ends):
            if b <= e:
                tot += y[a:b].sum()
            elif a < e:
                tot += y[a:b].sum() * (e - a) / (b - a)
        out.append(tot)
    return np.array(out)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    data = gen(str(d / "d.h5"), rows=12000, features=10, np_=2)
    base, new = str(d / "base.h5"), str(d / "new.h5")
    bs, ns = str(d / "base_scores.h5"), str(d / "new_scores.h5")
    run(2, "train", "--data", data, "--model", base, "--quiet")
    run(2, "train", "--data", data, "--model", new, "--model-type", "gbdt", "--trees", "25", "--quiet")
    run(2, "score", "--data", data, "--model", base, "--out", bs, "--quiet")
    run(2, "score", "--data", data, "--model", new, "--out", ns, "--quiet")
    tied = str(d / "tied.h5")
    shutil.copy(ns, tied)
    with h5py.File(tied, "r+") as h:
        for t in h["scores"]:
            h["scores"][t][...] = np.round(h["scores"][t][...], 2)
    return {"dir": d, "data": data, "base": base, "new": new, "base_scores": bs, "scores": ns, "tied": tied}


def eval_json(np_, data, scores, *extra):
    return json.loads(run(np_, "eval", "--data", data, "--scores", scores, "--json", *extra).stdout)


@pytest.mark.parametrize("which", ["scores", "tied"])
def test_curve_points_exact_for_any_rank_count(scored, which):
    path = scored[which]
    with h5py.File(scored["data"]) as d, h5py.File(path) as s:
        truth = {t: (d["labels"][t][...], s["scores"][t][...].astype(np.float64)) for t in s["scores"]}
    ref = eval_json(1, scored["data"], path, "--split", "all")
    for p in (1, 2, 3):
        got = ref if p == 1 else eval_json(p, scored["data"], path, "--split", "all")
        for t, (y, s) in truth.items():
            c = got["targets"][t]["curves"]
            assert c == ref["targets"][t]["curves"], (p, t)  # the same numbers for any rank count
            n, P = len(y), y.sum()
            rows = np.array(c["rows"])
            assert len(rows) == 110 and rows[0] == 0 and rows[-1] == n
            assert np.all(np.diff(rows) >= 0)
            np.testing.assert_allclose(c["positives"], curve_oracle(y, s, rows), rtol=0, atol=1e-9)
            # every point lies on scikit-learn's ROC curve (ties: on its diagonal segment)
            fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
            depth = np.round(fpr * (n - P) + tpr * P)  # the curve's vertices by rows above the threshold
            np.testing.assert_allclose(c["tpr"], np.interp(rows, depth, tpr), atol=1e-12)
            np.testing.assert_allclose(c["fpr"], np.interp(rows, depth, fpr), atol=1e-12)
            np.testing.assert_allclose(np.array(c["tpr"]), np.array(c["positives"]) / P, rtol=1e-15)
            # the lowest score among the top rows
            srt = np.sort(s)[::-1]
            assert c["min_score"][0] is None
            np.testing.assert_array_equal(np.float32(c["min_score"][1:]), srt[rows[1:] - 1].astype(np.float32))
            # the gains deciles are points of the same curve
            dec = [c["tpr"][c["rows"].index(k * n // 10)] for k in range(1, 11)]
            np.testing.assert_allclose(dec, got["targets"][t]["lift"]["cumulative_gain"], atol=1e-12)


def test_psi_equals_the_gates(scored):
    ev = eval_json(2, scored["data"], scored["scores"], "--baseline-scores", scored["base_scores"])
    g = run(2, "gate", "--model", scored["new"], "--baseline", scored["base"], "--scores", scored["scores"],
            "--baseline-scores", scored["base_scores"], "--json", "--max-psi", "100", "--min-auc", "0",
            "--max-auc-drop", "1", "--max-logloss-rise", "100")
    gate = json.loads(g.stdout)
    with h5py.File(scored["scores"]) as s, h5py.File(scored["base_scores"]) as b:
        counts = {t: (len(s["scores"][t]), len(b["scores"][t])) for t in s["scores"]}
    for t, m in ev["targets"].items():
        assert m["psi"]["value"] == gate["heads"][t]["psi"], t
        assert sum(m["score_histogram"]["rows"]) == counts[t][0]
        assert sum(m["score_histogram"]["baseline_rows"]) == counts[t][1]
        assert abs(sum(m["psi"]["share"]) - 1) < 1e-12 and abs(sum(m["psi"]["baseline_share"]) - 1) < 1e-12
        sh, bs = np.maximum(m["psi"]["share"], 1e-6), np.maximum(m["psi"]["baseline_share"], 1e-6)
        assert abs(np.sum((sh - bs) * np.log(sh / bs)) - m["psi"]["value"]) < 1e-9
    assert ev["model"]["kind"] == "gbdt"
    with h5py.File(scored["new"]) as f:
        names = [x.decode() for x in f["feature_names"][...]]
        for t, imp in ev["model"]["importance"].items():
            gain = f["importance"][t]["gain"][...]
            order = sorted(range(len(gain)), key=lambda j: (-gain[j], j))[:20]
            assert imp["features"] == [names[j] for j in order]
            np.testing.assert_allclose(imp["gain"], [gain[j] for j in order], rtol=1e-15)  # cJSON: 15-17 digits


@pytest.fixture(scope="module")
def extras(scored):
    """gate, segment, uplift and offers outputs for the report's optional sections."""
    d = scored["dir"]
    g = run(2, "gate", "--model", scored["new"], "--baseline", scored["base"], "--scores", scored["scores"],
            "--baseline-scores", scored["base_scores"], "--json", check=False)
    assert g.returncode in (0, 3), g.stderr
    gate = d / "gate.json"
    gate.write_text(g.stdout)
    seg = d / "segment.json"
    seg.write_text(run(2, "segment", "--data", scored["data"], "--k", "4", "--out", str(d / "personas.h5"),
                       "--scores", scored["scores"], "--json").stdout)
    offers = str(d / "offers.h5")
    run(2, "offers", "--scores", scored["scores"], "--value", "churn=10,purchase_3m=40", "--max-offers", "2",
        "--budget", "9000", "--out", offers)
    ud = gen(str(d / "u.h5"), rows=8000, features=8, np_=2, targets="y:0.1", extra=("--uplift",))
    um, us = str(d / "um.h5"), str(d / "us.h5")
    run(2, "train", "--data", ud, "--model", um, "--uplift", "--treatment", "treated", "--targets", "y", "--quiet")
    run(2, "score", "--data", ud, "--model", um, "--out", us, "--quiet")
    up = d / "uplift.json"
    up.write_text(run(2, "eval", "--data", ud, "--scores", us, "--uplift", "--treatment", "treated", "--json").stdout)
    return {"gate": str(gate), "personas": str(seg), "offers": offers, "uplift": str(up)}


def make_report(scored, extras, out, np_=2, env=None, check=True):
    return run(np_, "eval", "--data", scored["data"], "--scores", scored["scores"], "--baseline-scores",
               scored["base_scores"], "--report", out, "--report-gate", extras["gate"], "--report-personas",
               extras["personas"], "--report-uplift", extras["uplift"], "--report-offers", extras["offers"],
               env=env, check=check)


HARNESS = """<!DOCTYPE html><html><body><pre id="out">waiting</pre>
<iframe id="f" src="%s" width="1300" height="900"></iframe>
<script>
document.getElementById('f').onload = function () {
  var doc = document.getElementById('f').contentDocument, imgs = doc.images, n = imgs.length, done = 0, res = [];
  function fin() {
    for (var i = 0; i < n; i++) res.push([imgs[i].getAttribute('src'), imgs[i].complete, imgs[i].naturalWidth,
                                          imgs[i].naturalHeight, imgs[i].closest('figure').id]);
    document.getElementById('out').textContent = 'RESULT' + JSON.stringify({scripts: doc.scripts.length,
      links: Array.from(doc.querySelectorAll('link,[src^="http"],[href^="http"]')).length, images: res}) + 'END';
  }
  setTimeout(fin, 500);
};
</script></body></html>"""


def chromium(*args):
    assert CHROMIUM, "chromium is not installed (scripts/install-deps.sh installs Debian's chromium)"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", "--user-data-dir=" + os.environ.get("TMPDIR", "/tmp") + f"/ps-chromium-{os.getpid()}",
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def expected_charts(ev):
    ids = ["personas-sizes", "personas-profile", "qini-y", "offers-value"]
    for t in ev["targets"]:
        ids += [f"{k}-{t}" for k in ("roc", "pr", "gains", "lift", "calibration", "histogram", "importance")]
    return ids


def test_report_renders_in_chromium(scored, extras, tmp_path):
    out = str(tmp_path / "report")
    r = make_report(scored, extras, out)
    ev = eval_json(2, scored["data"], scored["scores"], "--baseline-scores", scored["base_scores"])
    assert "ROC-AUC" in r.stdout  # eval's own results are printed as without --report
    assert json.load(open(os.path.join(out, "eval.json"))) == ev
    assert sorted(p for p in os.listdir(tmp_path) if p.startswith("report")) == ["report"]  # no temporaries left

    # the page, loaded by Chromium: every expected chart, each image loaded with its size, no script, no network
    harness = tmp_path / "harness.html"
    harness.write_text(HARNESS % ("file://" + os.path.join(out, "index.html")))
    dom = chromium("--allow-file-access-from-files", "--virtual-time-budget=15000", "--dump-dom",
                   "file://" + str(harness))
    m = re.search(r"RESULT(.*)END", dom.stdout)
    assert m, dom.stdout[-2000:] + dom.stderr[-2000:]
    page = json.loads(m.group(1).replace("&quot;", '"'))
    assert page["scripts"] == 0 and page["links"] == 0
    figs = {fig: (src, ok, w, h) for src, ok, w, h, fig in page["images"]}
    assert sorted(figs) == sorted(expected_charts(ev))
    for fig, (src, ok, w, h) in figs.items():
        assert ok and w > 0 and h > 0, (fig, src, ok, w, h)
    # non-blank: every PNG has ink (not one colour), and so has the screenshot of the page
    import matplotlib.image as mpimg
    for fig, (src, *_rest) in figs.items():
        img = mpimg.imread(os.path.join(out, src))[..., :3]
        ink = np.mean(np.any(img < 0.85, axis=2))
        assert ink > 0.01, (fig, ink)
    shot = str(tmp_path / "page.png")
    s = chromium("--screenshot=" + shot, "--window-size=1300,3000", "file://" + os.path.join(out, "index.html"))
    assert os.path.exists(shot), s.stderr[-2000:]
    img = mpimg.imread(shot)[..., :3]
    assert np.mean(np.any(img < 0.85, axis=2)) > 0.05

    # the header's numbers are eval --json's (data-value carries the exact number)
    html = open(os.path.join(out, "index.html")).read()
    for t, mt in ev["targets"].items():
        for k in ("rows", "positives", "roc_auc", "pr_auc", "log_loss", "brier"):
            v = re.search(rf'id="m-{t}-{k}" data-value="([^"]+)"', html).group(1)
            assert float(v) == mt[k], (t, k)
        v = re.search(rf'id="m-{t}-psi" data-value="([^"]+)"', html).group(1)
        assert float(v) == mt["psi"]["value"]
    gate = json.load(open(extras["gate"]))
    verdict = re.search(r'id="gate-verdict" data-value="(\w+)"', html).group(1)
    assert verdict == ("publish" if gate["publish"] else "refused")
    for t, hd in gate["heads"].items():
        for k, want in hd.items():
            assert float(re.search(rf'id="gate-{t}-{k}" data-value="([^"]+)"', html).group(1)) == want
    assert re.search(r'id="model-kind">gbdt<', html)
    man = json.load(open(scored["scores"] + ".manifest.json"))
    assert re.fullmatch(r"[0-9a-f]{16}", man["run_id"])
    assert f'<code class="run-id">{man["run_id"]}</code>' in html
    assert man["started"] in html and "propscore score --data" in html

    # the charts' data points are the JSON they were drawn from
    rj = json.load(open(os.path.join(out, "report.json")))
    charts = {c["id"]: c["data"] for c in rj["charts"]}
    assert sorted(charts) == sorted(expected_charts(ev))
    assert rj["header"]["targets"]["churn"]["roc_auc"] == ev["targets"]["churn"]["roc_auc"]
    for t, mt in ev["targets"].items():
        assert charts[f"gains-{t}"]["cumulative_gain"] == [0.0] + mt["lift"]["cumulative_gain"]
        assert charts[f"gains-{t}"]["depth"] == [k / 10 for k in range(11)]
        assert charts[f"roc-{t}"]["fpr"] == mt["curves"]["fpr"] and charts[f"roc-{t}"]["tpr"] == mt["curves"]["tpr"]
        assert charts[f"pr-{t}"]["precision"] == mt["curves"]["precision"]
        assert charts[f"lift-{t}"]["lift"] == mt["lift"]["lift"]
        assert charts[f"calibration-{t}"]["observed_rate"] == mt["calibration"]["observed_rate"]
        assert charts[f"calibration-{t}"]["brier"] == mt["brier"]
        assert charts[f"histogram-{t}"]["rows"] == mt["score_histogram"]["rows"]
        assert charts[f"histogram-{t}"]["psi"] == gate["heads"][t]["psi"]
        assert charts[f"importance-{t}"]["features"] == ev["model"]["importance"][t]["features"]
    seg = json.load(open(extras["personas"]))
    assert charts["personas-sizes"]["size"] == [p["size"] for p in seg["personas"]]
    up = json.load(open(extras["uplift"]))["targets"]["y"]
    assert charts["qini-y"]["incremental_conversions"] == [0.0] + up["deciles"]["incremental_conversions"]
    assert charts["qini-y"]["rows"] == [0.0] + up["deciles"]["depth_rows"]
    with h5py.File(extras["offers"]) as f:
        v = np.concatenate([f["offers"][f"value_{i}"][...][f["offers"][f"rank_{i}"][...] >= 0] for i in range(2)])
    assert len(v) == 9000
    cum = np.concatenate([[0], np.cumsum(np.sort(v)[::-1])])
    np.testing.assert_allclose(charts["offers-value"]["value"], cum[charts["offers-value"]["offers"]], rtol=1e-12)
    assert charts["offers-value"]["offers"][-1] == 9000


def test_report_replaces_its_own_directory_only(scored, extras, tmp_path):
    out = tmp_path / "r"
    make_report(scored, extras, str(out))
    first = (out / "report.json").read_text()
    (out / "stale.png").write_text("from an older report")
    make_report(scored, extras, str(out), np_=3)
    assert not (out / "stale.png").exists() and (out / "report.json").read_text() == first
    other = tmp_path / "mine"
    other.mkdir()
    (other / "thesis.tex").write_text("keep me")
    r = run(2, "eval", "--data", scored["data"], "--scores", scored["scores"], "--report", str(other), check=False)
    assert r.returncode == 1 and "ROC-AUC" not in r.stdout
    assert "holds other files" in error_line(r)
    assert (other / "thesis.tex").read_text() == "keep me" and os.listdir(other) == ["thesis.tex"]
    r = run(2, "eval", "--data", scored["data"], "--scores", scored["scores"], "--report", str(tmp_path),
            check=False)  # the directory that holds the inputs
    assert r.returncode == 1
    r = run(1, "eval", "--data", scored["data"], "--scores", scored["scores"], "--report-gate", extras["gate"],
            check=False)
    assert r.returncode == 2 and "--report-gate needs --report DIR" in error_line(r)


def test_missing_python_or_matplotlib_is_a_clear_error(scored, tmp_path):
    out = tmp_path / "r"
    r = run(2, "eval", "--data", scored["data"], "--scores", scored["scores"], "--report", str(out),
            env={"PROPSCORE_PYTHON": str(tmp_path / "no-python")}, check=False)
    assert r.returncode == 1
    assert "ROC-AUC" in r.stdout  # the metrics are still written
    line = error_line(r)
    assert "cannot run" in line and "matplotlib" in line and "the metrics above are complete" in line
    assert not out.exists()
    fake = tmp_path / "mods" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'matplotlib'\", name='matplotlib')\n")
    r = run(2, "eval", "--data", scored["data"], "--scores", scored["scores"], "--report", str(out), "--json",
            env={"PYTHONPATH": str(tmp_path / "mods")}, check=False)
    assert r.returncode == 1
    assert json.loads(r.stdout)["targets"]["churn"]["roc_auc"] > 0.5
    assert "install matplotlib" in error_line(r) and "matplotlib is not installed" in r.stderr
    assert not out.exists() and not list(tmp_path.glob("r.tmp-*"))
    r = run(1, "eval", "--data", scored["data"], "--scores", scored["scores"], "--report", str(out),
            env={"PROPSCORE_REPORT_SCRIPT": str(tmp_path / "nope.py")}, check=False)
    assert r.returncode == 1 and "PROPSCORE_REPORT_SCRIPT" in error_line(r)


def test_report_script_help_and_check():
    script = os.path.join(SRC, "scripts", "report.py")
    assert subprocess.run(["python3", script, "--check"]).returncode == 0
    h = subprocess.run(["python3", script, "--help"], capture_output=True, text=True)
    assert h.returncode == 0 and "--personas" in h.stdout


# A stand-in for report.py (fast, no matplotlib): parses the same options (as --opt=VALUE),
# writes index.html; PLANT=<python statement> runs at the phase named by PLANT_AT
# (check: eval_report_check's --check, before the lock; write: while the report is written).
FAKE = r'''import argparse, os, sys
ap = argparse.ArgumentParser()
for o in ("--eval", "--out", "--gate", "--personas", "--uplift", "--offers"):
    ap.add_argument(o)
ap.add_argument("--manifest", action="append", default=[])
ap.add_argument("--check", action="store_true")
a = ap.parse_args()
if os.environ.get("PLANT_AT") == ("check" if a.check else "write"):
    exec(os.environ["PLANT"])
if not a.check:
    open(os.path.join(a.out, "index.html"), "w").write(os.environ.get("REPORT_TEXT", "report"))
'''


@pytest.fixture
def fake(tmp_path):
    p = tmp_path / "fake_report.py"
    p.write_text(FAKE)
    return str(p)


def fake_report(scored, fake, out, env=None):
    return run(1, "eval", "--data", scored["data"], "--scores", scored["scores"], "--report", str(out),
               env={"PROPSCORE_REPORT_SCRIPT": fake, **(env or {})}, check=False)


def leftovers(d, name):
    return sorted(p for p in os.listdir(d) if p.startswith(name + "."))


def test_lock_name_taken_during_the_run_is_not_removed(scored, fake, tmp_path):
    """A file that takes DIR.lock's name while the report is written (another run's output, a user's
    file) is not ours: releasing the lock leaves it."""
    out, lock = tmp_path / "r", tmp_path / "r.lock"
    plant = f"open({str(tmp_path / 'x')!r}, 'w').write('keep me'); os.replace({str(tmp_path / 'x')!r}, {str(lock)!r})"
    r = fake_report(scored, fake, out, env={"PLANT_AT": "write", "PLANT": plant})
    assert r.returncode == 0, r.stderr
    assert (out / "index.html").exists() and lock.read_text() == "keep me"


@pytest.mark.parametrize("at", ["check", "write"])
@pytest.mark.parametrize("what", ["tree", "file", "symlink"])
def test_directory_that_appears_during_the_run_is_left_untouched(scored, fake, tmp_path, at, what):
    """DIR is checked before the metrics; a user's tree, file or link made there later (before
    the lock: at check; or while the report is written) is never swapped out nor removed."""
    out, mine = tmp_path / "r", tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("keep me")
    plant = {"tree": f"os.mkdir({str(out)!r}); open({str(out / 'thesis.tex')!r}, 'w').write('keep me')",
             "file": f"open({str(out)!r}, 'w').write('keep me')",
             "symlink": f"os.symlink({str(mine)!r}, {str(out)!r})"}[what]
    r = fake_report(scored, fake, out, env={"PLANT_AT": at, "PLANT": plant})
    assert r.returncode == 1, r.stderr
    line = error_line(r)
    assert str(out) in line and ("changed during this run" in line or "not a directory" in line), line
    assert "left untouched" in line
    assert (mine / "thesis.tex").read_text() == "keep me" and os.listdir(mine) == ["thesis.tex"]
    if what == "tree":
        assert os.listdir(out) == ["thesis.tex"] and (out / "thesis.tex").read_text() == "keep me"
    elif what == "file":
        assert out.read_text() == "keep me"
    else:
        assert os.readlink(out) == str(mine)
    assert leftovers(tmp_path, "r") == []  # no temporary, no lock


@pytest.mark.parametrize("fault", ["plant", "no-exchange,plant"])
def test_directory_replaced_at_the_swap_is_put_back(scored, fake, tmp_path, fault):
    """An earlier report replaced by a user's tree between the last check and the swap
    (PROPSCORE_FAULT_DIR=plant does that at that moment): the swapped-out tree is not ours,
    so it is swapped back, not removed; with and without renameat2."""
    out = tmp_path / "r"
    assert fake_report(scored, fake, out).returncode == 0
    r = fake_report(scored, fake, out, env={"PROPSCORE_FAULT_DIR": fault, "REPORT_TEXT": "new"})
    assert r.returncode == 1, r.stderr
    line = error_line(r)
    assert "changed during this run" in line and "left untouched" in line, line
    assert os.listdir(out) == ["planted-by-PROPSCORE_FAULT_DIR"]
    assert (tmp_path / "r.fault-moved" / "index.html").read_text() == "report"  # the earlier report, moved by the hook
    assert leftovers(tmp_path, "r") == ["r.fault-moved"]


def test_two_rename_swap_restores_the_earlier_report(scored, fake, tmp_path):
    """Without renameat2: a report replaces the earlier one; when the second rename fails, the
    earlier one is put back in place and nothing is left."""
    out = tmp_path / "r"
    assert fake_report(scored, fake, out).returncode == 0
    r = fake_report(scored, fake, out, env={"PROPSCORE_FAULT_DIR": "no-exchange", "REPORT_TEXT": "second"})
    assert r.returncode == 0, r.stderr
    assert (out / "index.html").read_text() == "second" and leftovers(tmp_path, "r") == []
    r = fake_report(scored, fake, out, env={"PROPSCORE_FAULT_DIR": "no-exchange,fail-swap", "REPORT_TEXT": "third"})
    assert r.returncode == 1
    assert "the earlier" in error_line(r) and "back in place" in error_line(r)
    assert (out / "index.html").read_text() == "second" and leftovers(tmp_path, "r") == []


def test_leftovers_of_dead_runs_only_by_their_exact_names(scored, fake, tmp_path):
    """Only <DIR>.tmp-<pid>-<8 hex> of a dead pid is removed; a user's DIR.tmp-backup, a live
    pid's temporary and near-miss names stay; DIR.tmp-old-<dead pid> is put back when DIR is missing."""
    out = tmp_path / "r"
    keep = ["r.tmp-backup", "r.tmp-999999-deadbeefX", "r.tmp-999999-DEADBEEF", f"r.tmp-{os.getpid()}-0badc0de",
            "r.tmp-old-", "r.tmp-old-999999x", "r.tmp-1-deadbee"]
    for k in keep:
        (tmp_path / k).mkdir()
        (tmp_path / k / "data.csv").write_text("mine")
    stale = tmp_path / "r.tmp-999999-deadbeef"
    stale.mkdir()
    (stale / "index.html").write_text("half written")
    old = tmp_path / "r.tmp-old-999998"
    old.mkdir()
    (old / ".propscore-report").write_text("")
    (old / "index.html").write_text("the earlier report")
    r = fake_report(scored, fake, out, env={"PLANT_AT": "write",
                                            "PLANT": f"assert open({str(out / 'index.html')!r}).read() == "
                                                     "'the earlier report'"})
    assert r.returncode == 0, r.stderr
    assert "restored" in r.stderr and "removed" in r.stderr
    assert not stale.exists() and not old.exists() and (out / "index.html").read_text() == "report"
    for k in keep:
        assert (tmp_path / k / "data.csv").read_text() == "mine", k
    assert leftovers(tmp_path, "r") == sorted(keep)


def test_paths_that_begin_with_a_dash(scored, extras, tmp_path):
    """--report -r and --report-gate -g.json (relative names that begin with '-') reach report.py
    as values, not options."""
    shutil.copy(extras["gate"], tmp_path / "-g.json")
    cmd = [MPIEXEC, "-n", "1", BIN, "eval", "--data", scored["data"], "--scores", scored["scores"],
           "--report", "-r", "--report-gate", "-g.json"]
    p = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    html = (tmp_path / "-r" / "index.html").read_text()
    assert 'id="gate-verdict"' in html and leftovers(tmp_path, "-r") == []


def test_targets_with_one_slug_get_their_own_charts(scored, tmp_path):
    """Targets "a b" and "a_b" (one slug): each has its own PNGs and HTML ids."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("report", os.path.join(SRC, "scripts", "report.py"))
    rp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rp)
    assert rp.unique_slugs(["churn", "a b", "a_b", "a_b-1", "a.b"]) == \
        {"churn": "churn", "a b": "a_b-2", "a_b": "a_b-3", "a_b-1": "a_b-1", "a.b": "a_b-4"}
    ev = eval_json(1, scored["data"], scored["scores"])
    m = ev["targets"]["churn"]
    m2 = json.loads(json.dumps(ev["targets"]["purchase_3m"]))
    ev["targets"] = {"a b": m, "a_b": m2}
    ev["model"] = None
    (tmp_path / "eval.json").write_text(json.dumps(ev))
    out = tmp_path / "rep"
    subprocess.run(["python3", os.path.join(SRC, "scripts", "report.py"), "--eval", str(tmp_path / "eval.json"),
                    "--out", str(out)], check=True, capture_output=True)
    rj = json.load(open(out / "report.json"))
    files = [c["file"] for c in rj["charts"]]
    assert len(files) == len(set(files)) and all((out / f).is_file() for f in files)
    by = {(c["id"].split("-")[0], c["target"]): c["data"] for c in rj["charts"]}
    assert by[("roc", "a b")]["roc_auc"] == m["roc_auc"] and by[("roc", "a_b")]["roc_auc"] == m2["roc_auc"]
    ids = re.findall(r' id="([^"]+)"', (out / "index.html").read_text())
    assert len(ids) == len(set(ids))


def test_names_and_values_from_files_are_safe(scored, tmp_path):
    """Issue 32: a '$...$' in a target or column name is text, not a matplotlib formula (it crashed
    the report); offer values of 1e308 sum beyond float64: report.json keeps finite (clamped)
    numbers and stays JSON; whatever comes from a file (the manifest's ranks, argv, Slurm job id,
    the gate's values) reaches index.html escaped."""
    ev = eval_json(1, scored["data"], scored["scores"])
    t = "$x_$ churn"
    ev["targets"] = {t: ev["targets"]["churn"]}
    ev["model"] = None
    (tmp_path / "eval.json").write_text(json.dumps(ev))
    seg = {"k": 1, "rows": 10, "columns": ["$\\frac$", "b"],
           "personas": [{"persona": 0, "size": 10, "share": 1.0, "mean": {"$\\frac$": 1.0, "b": 2.0}}]}
    (tmp_path / "seg.json").write_text(json.dumps(seg))
    evil = "<script>alert(1)</script>"
    man = {"run_id": evil, "command": "score", "argv": ["score", evil, 3], "started": evil, "ranks": evil,
           "slurm_job_id": 12345, "status": evil}
    (tmp_path / "m.json").write_text(json.dumps(man))
    gate = {"publish": False, "reason": evil, "heads": {t: {"valid_auc": "\"><script>x</script>", "psi": 0.1}}}
    (tmp_path / "gate.json").write_text(json.dumps(gate))
    offers = tmp_path / "offers.h5"
    with h5py.File(offers, "w") as f:
        f.attrs["kind"] = "offers"
        f.attrs["max_offers"] = np.int64(1)
        g = f.create_group("offers")
        g["heads"] = np.array([b"churn"])
        g["rank_0"] = np.zeros(4, np.int32)
        g["value_0"] = np.array([1e308, 1e308, 1e308, 5.0])
    out = tmp_path / "rep"
    r = subprocess.run(["python3", os.path.join(SRC, "scripts", "report.py"), "--eval", str(tmp_path / "eval.json"),
                        "--out", str(out), "--personas", str(tmp_path / "seg.json"), "--manifest",
                        str(tmp_path / "m.json"), "--gate", str(tmp_path / "gate.json"), "--offers", str(offers)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

    def no_constants(c):
        raise AssertionError(f"report.json has {c}")
    rj = json.loads((out / "report.json").read_text(), parse_constant=no_constants)
    o = next(c for c in rj["charts"] if c["id"] == "offers-value")["data"]
    assert all(np.isfinite(o["value"])) and o["clamped"] and o["value"][-1] == np.finfo(np.float64).max
    page = (out / "index.html").read_text()
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; ranks" in page
    assert "$x_$ churn" in page and all((out / c["file"]).is_file() for c in rj["charts"])


def test_inputs_inside_the_report_dir_are_refused(scored, extras, tmp_path):
    """Issue 32: eval --report DIR deleted the --report-* inputs that lay inside DIR, and the model its
    scores came from (DIR is replaced whole), and exited 0. Every input is checked before any work: one
    error line naming it, no metrics, the input and the earlier report untouched."""
    out = tmp_path / "r"
    run(1, "eval", "--data", scored["data"], "--scores", scored["scores"], "--report", str(out))  # earlier report
    before = sorted(os.listdir(out))
    scores = str(tmp_path / "s.h5")  # scores whose model lies in DIR
    shutil.copy(scored["scores"], scores)
    shutil.copy(scored["new"], out / "m.h5")
    with h5py.File(scores, "r+") as h:
        h.attrs["model"] = str(out / "m.h5")
    inputs = {"--report-gate": extras["gate"], "--report-personas": extras["personas"],
              "--report-uplift": extras["uplift"], "--report-offers": extras["offers"],
              "--report-manifest": scored["scores"] + ".manifest.json", "the model of the scores": None}
    for role, src in inputs.items():
        inside = out / ("m.h5" if src is None else "in-" + os.path.basename(src))
        if src is not None:
            shutil.copy(src, inside)
        args = ["--scores", scores] if src is None else ["--scores", scored["scores"], role, str(inside)]
        r = run(1, "eval", "--data", scored["data"], "--report", str(out), *args, check=False)
        assert r.returncode == 1 and "ROC-AUC" not in r.stdout, (role, r.stderr)
        line = error_line(r)
        assert "holds the input" in line and role in line and str(inside) in line, line
        assert inside.exists(), role
        if src is not None:
            assert inside.read_bytes() == open(src, "rb").read()
            inside.unlink()
    os.unlink(out / "m.h5")
    assert sorted(os.listdir(out)) == before
