"""The explain and lr-find subcommands, through argparse as the chainrule command calls them."""
import argparse
import os
import subprocess
import sys

import pytest

from chainrule.insight.commands import register


def _parser():
    ap = argparse.ArgumentParser(prog="chainrule")
    register(ap.add_subparsers(dest="command", required=True))
    return ap


def test_explain_linear(capsys):
    args = _parser().parse_args(["explain", "--example", "linear"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "∂L/∂w1 = -385" in out and "∂L/∂w2 = -55" in out and "diverges" in out


def test_explain_markdown_and_graph(capsys):
    args = _parser().parse_args(["explain", "--example", "two-layer", "--markdown", "--graph", "mermaid"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("**Forward pass") and "flowchart TD" in out and "W_h<br/>3×2 float64" in out


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(["lr-find", "--help"])
    out = capsys.readouterr().out
    assert "(default: 1e-07)" in out and "(default: 10.0)" in out and "(default: mlp)" in out
    with pytest.raises(SystemExit):
        _parser().parse_args(["explain", "--help"])
    assert "(default: linear)" in capsys.readouterr().out


def test_lr_find_on_generated_data(tmp_path, capsys):
    args = _parser().parse_args(["lr-find", "--samples", "128", "--steps", "12", "--batch-size", "32",
                                 "--out", str(tmp_path / "lr.png"), "--data", str(tmp_path)])
    assert args.func(args) == 2                                       # a folder without MNIST: clear error
    assert "no MNIST files" in capsys.readouterr().err


def test_lr_find_runs_as_a_module(tmp_path):
    env = dict(os.environ)
    env["CHAINRULE_DATA"] = ""
    env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)
    out = subprocess.run([sys.executable, "-m", "chainrule.insight.commands", "lr-find", "--samples", "128",
                          "--steps", "12", "--batch-size", "32", "--out", ""], env=env, capture_output=True,
                         text=True, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "generated blobs" in out.stdout and "lr_find suggests" in out.stdout and "λ_max" in out.stdout
