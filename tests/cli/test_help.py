"""Every command's --help: printed as written (no printf escapes left),
defaults that are the ones the code uses, and the exit codes."""
import h5py
import pytest

from pstest import gen, run

COMMANDS = ["gen", "inspect", "train", "score", "eval", "gate", "segment"]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_is_clean(cmd):
    r = run(1, cmd, "--help")
    assert r.returncode == 0 and r.stdout.startswith(f"usage: propscore {cmd}")
    assert "%%" not in r.stdout and "%s" not in r.stdout


def test_main_help_lists_every_command():
    out = run(1, "--help").stdout
    for cmd in COMMANDS:
        assert f"\n  {cmd} " in out


def test_split_salt_default_is_the_one_used(tmp_path):
    help_text = run(1, "train", "--help").stdout
    line = [l for l in help_text.splitlines() if "--split-salt" in l][0]
    default = int(line.split("default")[1].strip(" )"))
    data = gen(str(tmp_path / "d.h5"), rows=2000, features=4)
    model = str(tmp_path / "m.h5")
    run(1, "train", "--data", data, "--model", model, "--quiet")
    with h5py.File(model) as m:
        assert m.attrs["split_salt"] == default
    assert "60% of available" in help_text and "(default 80% of the free memory)" in help_text
