"""Monitor pictures: PNGs are written; without matplotlib a one-line error names the extra."""
import os
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.insight import GradientMonitor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _monitored(steps=6):
    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    x, y = cr.tensor(rng.standard_normal((16, 8)).astype(np.float32)), cr.tensor(rng.integers(0, 3, 16))
    model = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
    mon = GradientMonitor(model, every=2, verbose=False)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        mon.step(loss)
        opt.step()
    return mon


def test_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    mon = _monitored()
    for f in (mon.plot_gradient_flow(tmp_path / "flow.png"), mon.plot_histograms(tmp_path / "hist.png")):
        assert open(f, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_no_record_yet(tmp_path):
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match="no sampled step yet"):
        GradientMonitor(nn.Linear(2, 2)).plot_gradient_flow(tmp_path / "x.png")


def test_missing_matplotlib_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    mon = _monitored(2)
    with pytest.raises(ImportError) as e:
        mon.plot_gradient_flow(tmp_path / "flow.png")
    assert str(e.value) == 'chainrule.insight plots need matplotlib: pip install "chainrule[plot]"'


def test_study_flags_the_bad_networks():
    """examples/gradient_flow_study.py --quick: vanishing alarm for naive-tanh and deep-sigmoid only."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "gradient_flow_study.py"), "--quick",
                          "--out", ""], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "verdicts as expected" in out.stdout


def test_tensorboard_histograms_read_back(tmp_path):
    pytest.importorskip("tensorboardX")
    ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    mon = _monitored()
    mon.write_tensorboard(tmp_path)
    acc = ea.EventAccumulator(str(tmp_path), size_guidance={"histograms": 0, "scalars": 0})
    acc.Reload()
    tags = acc.Tags()
    assert "insight/log10_abs_grad/0" in tags["histograms"] and "insight/activation/1" in tags["histograms"]
    norms = [e.value for e in acc.Scalars("insight/grad_norm/0")]
    assert norms == pytest.approx([r["layers"]["0"]["grad_norm"] for r in mon.records], rel=1e-6)
    h = acc.Histograms("insight/activation/1")
    assert len(h) == 3 and h[0].histogram_value.num == 16 * 8       # 3 samples of a (16, 8) tanh output
