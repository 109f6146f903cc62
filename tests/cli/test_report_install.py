"""eval --report finds scripts/report.py wherever the binary is: a binary
copied out of its build folder uses the source tree's script (its path is
compiled in), and an installed one (cmake --install) the script installed
beside it, share/propscore/report.py, before the source tree's."""
import os
import shutil
import subprocess

import pytest

from pstest import BIN, MPIEXEC, SRC, gen, run


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    d = tmp_path_factory.mktemp("where")
    data = gen(str(d / "d.h5"), rows=3000, features=4, targets="churn")
    model, scores = str(d / "m.h5"), str(d / "s.h5")
    run(1, "train", "--data", data, "--model", model, "--quiet")
    run(1, "score", "--data", data, "--model", model, "--out", scores, "--quiet")
    return data, scores


def report(exe, scored, out):
    data, scores = scored
    cmd = [MPIEXEC, "-n", "1", str(exe), "eval", "--data", data, "--scores", scores, "--report", str(out)]
    env = {k: v for k, v in os.environ.items() if k != "PROPSCORE_REPORT_SCRIPT"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)


def test_a_binary_copied_elsewhere_uses_the_source_trees_script(scored, tmp_path):
    exe = tmp_path / "elsewhere" / "propscore"
    exe.parent.mkdir()
    shutil.copy(BIN, exe)
    r = report(exe, scored, tmp_path / "r")
    assert r.returncode == 0, r.stderr
    script = os.path.realpath(os.path.join(SRC, "scripts", "report.py"))
    assert f" {script}" in r.stderr  # eval's log line names the script it runs
    assert (tmp_path / "r" / "index.html").is_file()


def test_an_installed_binary_uses_the_installed_script(scored, tmp_path):
    prefix = tmp_path / "prefix"
    subprocess.run(["cmake", "--install", os.path.dirname(os.path.realpath(BIN)), "--prefix", str(prefix)],
                   check=True, capture_output=True)
    exe, script = prefix / "bin" / "propscore", prefix / "share" / "propscore" / "report.py"
    assert exe.is_file() and script.is_file()
    # the installed script stands in for a fast one: it must be the one run, not the source tree's
    script.write_text("import argparse, os\nap = argparse.ArgumentParser()\nap.add_argument('--eval')\n"
                      "ap.add_argument('--out')\nap.add_argument('--check', action='store_true')\n"
                      "a = ap.parse_known_args()[0]\n"
                      "a.check or open(os.path.join(a.out, 'index.html'), 'w').write('installed')\n")
    r = report(exe, scored, tmp_path / "r")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "r" / "index.html").read_text() == "installed"
