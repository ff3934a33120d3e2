"""``chainrule.cli``: the entry points (console script target, ``python -m chainrule``) and the command list.
The commands themselves are tested in tests/commands/."""
import subprocess
import sys

import chainrule.__main__  # noqa: F401  (importing it must not run anything)
from chainrule import cli


def test_module_entry_point_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "chainrule", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for command in ("train", "eval", "predict", "demo", "download"):
        assert command in out.stdout
    assert "Without a command" in out.stdout


def test_commands_are_modules_with_register():
    import importlib
    for name in cli.COMMANDS:
        assert callable(importlib.import_module(name).register), name


def test_pyproject_script_points_at_cli_main():
    import os
    import tomllib
    root = os.path.join(os.path.dirname(__file__), "..")
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        meta = tomllib.load(f)
    assert meta["project"]["scripts"]["chainrule"] == "chainrule.cli:main"
    assert "data/digits.csv.gz" in meta["tool"]["setuptools"]["package-data"]["chainrule.datasets"]
