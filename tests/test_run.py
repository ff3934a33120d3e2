"""`chainrule run`: unchanged PyTorch programs run with chainrule standing in for torch, and finish with
PyTorch's numbers; unsupported API is named."""
import os
import re
import subprocess
import sys

import pytest

import chainrule as cr
from chainrule import run

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "run_programs")

# (program and arguments, {result: relative tolerance}). Deterministic programs (weights from NumPy, no
# random ops in training) must match PyTorch to float rounding; programs whose training draws random numbers
# (dropout masks, the VAE's noise) differ from PyTorch by their seed-to-seed spread, hence the wider bands.
CASES = [
    ("lbfgs_sine.py", {"loss": 0.05}),                  # 5 L-BFGS steps equal to 7 digits; last one near 1e-5
    ("char_gpt.py", {"loss": 1e-3, "sample_len": 0}),
    ("word_lm.py LSTM", {"ppl": 1e-4}),
    ("word_lm.py Transformer", {"ppl": 1e-4}),
    ("vae.py", {"loss": 0.03}),
    ("mnist_cnn_adadelta.py --epochs 2", {"loss": 0.15, "accuracy": 0.35}),   # dropout: 2 epochs of 4 batches
]


def _env():
    env = dict(os.environ)
    # one BLAS thread each: on a loaded two-core machine multi-threaded BLAS makes tiny GEMMs ~1000x slower
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(HERE, "..", "src"), env.get("PYTHONPATH", "")])
    return env


def _results(text):
    return {k: float(v) for k, v in re.findall(r"^RESULT (\w+) (\S+)$", text, re.M)}


@pytest.fixture(scope="module")
def torch_results():
    pytest.importorskip("torch")
    proc = subprocess.run([sys.executable, os.path.join(PROGRAMS, "run_all_with_torch.py")] + [c for c, _ in CASES],
                          capture_output=True, text=True, env=_env(), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    blocks = re.split(r"^=== (.*)$", proc.stdout, flags=re.M)[1:]
    return {spec: _results(out) for spec, out in zip(blocks[::2], blocks[1::2])}


@pytest.mark.slow
@pytest.mark.parametrize("spec,tolerances", CASES, ids=[c for c, _ in CASES])
def test_program_runs_under_chainrule_with_pytorchs_numbers(spec, tolerances, torch_results):
    name, *args = spec.split()
    proc = subprocess.run([sys.executable, "-m", "chainrule.run", os.path.join(PROGRAMS, name), *args],
                          capture_output=True, text=True, env=_env(), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resolve to chainrule" in proc.stderr.splitlines()[0]
    got, want = _results(proc.stdout), torch_results[spec]
    assert set(got) == set(tolerances) == set(want)
    for key, rel in tolerances.items():
        assert got[key] == pytest.approx(want[key], rel=rel, abs=1e-12), (key, got[key], want[key])


def _run_snippet(tmp_path, code):
    script = tmp_path / "prog.py"
    script.write_text(code)
    return subprocess.run([sys.executable, "-m", "chainrule.run", str(script), "x", "--flag"], capture_output=True,
                          text=True, env=_env(), timeout=120)


def test_hook_maps_torch_paths_and_names_missing_api(tmp_path):
    proc = _run_snippet(tmp_path, """
import sys
import torch, torch.nn as nn, torch.nn.functional as F
from torch.nn.modules.rnn import LSTM
import torch.backends.cudnn as cudnn
from torch.cuda.amp import GradScaler
from torchvision import datasets, transforms
from torchvision.utils import save_image
import chainrule
assert torch is chainrule and LSTM is chainrule.nn.LSTM and nn.Linear is chainrule.nn.Linear
assert datasets.MNIST is chainrule.datasets.MNIST and transforms.ToTensor is chainrule.datasets.transforms.ToTensor
cudnn.benchmark = True
assert not GradScaler().is_enabled()
print("argv", sys.argv[1:])
assert not hasattr(torch, "fft_magic")
try:
    import torch.fft
except ModuleNotFoundError as e:
    print("MOD", e)
torch.ones(2).frobnicate()
""")
    assert proc.returncode == 1
    assert "argv ['x', '--flag']" in proc.stdout
    assert "MOD module torch.fft is not supported by chainrule" in proc.stdout
    assert "Tensor.frobnicate is not supported by chainrule" in proc.stderr


def test_register_adds_the_run_subcommand(tmp_path):
    import argparse
    ap = argparse.ArgumentParser(prog="chainrule")
    run.register(ap.add_subparsers(dest="cmd"))
    ns = ap.parse_args(["run", "train.py", "--epochs", "3"])
    assert (ns.script, ns.args) == ("train.py", ["--epochs", "3"]) and callable(ns.func)


def test_install_and_uninstall_in_process():
    run.install()
    try:
        import torch
        assert torch is cr
        with pytest.raises(AttributeError, match="torch.no_such_api is not supported by chainrule"):
            torch.no_such_api
    finally:
        run.uninstall()
    assert "torch" not in sys.modules or sys.modules["torch"] is not cr
    with pytest.raises(AttributeError):
        cr.ones(1).frobnicate


def test_uninstall_gives_back_a_real_torch_imported_before():
    real = pytest.importorskip("torch")
    run.install()
    try:
        import torch
        assert torch is cr
    finally:
        run.uninstall()
    import torch
    assert torch is real and sys.modules["torch"] is real     # not re-imported (its C extension can't be)
