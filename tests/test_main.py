"""The README's main job: ``python -m chainrule``."""
import subprocess
import sys

from chainrule.__main__ import main


def test_demo_trains_and_loss_goes_down(capsys):
    assert main(["demo", "--epochs", "100"]) == 0
    out = capsys.readouterr().out
    first, last = out.strip().splitlines()[-1].split("loss ")[1].split(" -> ")
    assert float(last) < 0.2 * float(first)


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "chainrule", "demo", "--epochs", "20"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "done: loss" in out.stdout
