"""``chainrule train`` in a subprocess: the run folder's files, the resolved config reproducing the run,
non-terminal output, refusals (exit 2, nothing written), the tiny-IDX MNIST path and the offline fallback."""
import csv
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import chainrule as cr
from cli_helpers import chainrule, run_main, write_tiny_mnist


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """One small real run (bundled digits, 2 epochs, Adam) shared by the checks below."""
    out = tmp_path_factory.mktemp("runs") / "digits"
    res = chainrule("train", "--dataset", "digits", "--model", "mlp", "--set", "model.hidden=[32]",
                    "--optimizer", "adam", "--lr", "0.01", "--epochs", "2", "--batch-size", "32", "--out", out)
    return res, out


def test_run_folder_has_every_file(digits_run):
    res, out = digits_run
    assert res.returncode == 0, res.stderr
    names = set(os.listdir(out))
    assert {"config.toml", "metrics.csv", "model.safetensors", "checkpoint.safetensors"} <= names
    rows = read_csv(out / "metrics.csv")
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    assert float(rows[1]["loss"]) < float(rows[0]["loss"])
    assert float(rows[-1]["val_accuracy"]) > 0.8               # 64-32-10 MLP on real digits, 2 epochs
    state = cr.load(str(out / "model.safetensors"))
    assert state["1.weight"].shape == (32, 64) and state["3.weight"].shape == (10, 32)
    try:
        import matplotlib  # noqa: F401
        with open(out / "curves.png", "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    except ImportError:           # a newcomer without the plot extra: one line naming it, no picture
        assert "curves.png" not in names
        assert 'curves.png skipped: plotting needs matplotlib: pip install "chainrule[plot]"' in res.stdout
    try:
        import tensorboardX  # noqa: F401
        assert os.listdir(out / "tensorboard"), "TensorBoard events expected when tensorboardX is installed"
    except ImportError:
        assert "TensorBoard events skipped" in digits_run[0].stdout


def test_output_is_plain_lines_with_a_summary(digits_run):
    res, out = digits_run
    assert "\r" not in res.stdout and "\r" not in res.stderr      # stdout is a pipe: no redrawn bar
    lines = res.stdout.splitlines()
    assert sum(line.startswith("epoch ") for line in lines) == 2    # one plain line per epoch
    summary = res.stdout[res.stdout.index("chainrule train: digits"):]
    assert "final (test, 359 samples)" in summary and "accuracy" in summary
    assert f"run folder: {out}" in summary and "model.safetensors" in summary
    assert len(summary.splitlines()) <= 24                           # one screen


def test_resolved_config_reproduces_the_run(digits_run, tmp_path):
    _, out = digits_run
    text = (out / "config.toml").read_text()
    assert 'type = "Linear"' in text and "in = 64" in text and 'name = "adam"' in text
    again = tmp_path / "again"
    res = chainrule("train", out / "config.toml", "--out", again, "--quiet")
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("epoch 1/") == 0                           # --quiet: no per-epoch lines
    assert read_csv(again / "metrics.csv") == read_csv(out / "metrics.csv")
    a, b = cr.load(str(out / "model.safetensors")), cr.load(str(again / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy())
    assert (again / "config.toml").read_text().split("\n", 1)[1] == text.split("\n", 1)[1]


@pytest.mark.parametrize("args, message", [
    (["--optimizer", "adma"], "unknown optimizer 'adma'; did you mean 'adam'?"),
    (["--epochs", "0"], "argument --epochs: must be a positive integer, got 0"),
    (["--epochs", "-1"], "argument --epochs: must be a positive integer, got -1"),
    (["--batch-size", "0"], "argument --batch-size: must be a positive integer"),
    (["--lr", "-0.1"], "argument --lr: must be a positive number"),
    (["--set", "train.epochs=0"], "train.epochs must be a positive integer, got 0"),
    (["--set", "optimizer.lr=0"], "optimizer.lr must be a positive number, got 0"),
    (["--set", "optimizer.momentun=0.5"], "optimizer.momentun: SGD has no argument 'momentun'"),
    (["--model", "lenet"], "unknown model 'lenet'; did you mean 'lenet5'?"),
    (["--dataset", "mnsit"], "unknown dataset 'mnsit'; did you mean 'mnist'?"),
    (["--scheduler", "cosin"], "unknown scheduler 'cosin'; did you mean 'cosine'?"),
    (["--set", 'train.metrics=["acuracy"]'], "unknown metric 'acuracy'; did you mean 'accuracy'?"),
    (["--set", "trian.epochs=2"], "unknown config section 'trian'; did you mean 'train'?"),
    (["--model", "lenet5", "--dataset", "digits"], "model 'lenet5' needs 28x28 images"),
    (["--set", "model.hidden=[0]"], "model.hidden must be a list of positive integers"),
])
def test_bad_flags_are_one_line_exit_2_and_write_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "run"
    dataset = [] if "--dataset" in args else ["--dataset", "digits"]
    assert run_main("train", *dataset, *args, "--out", out) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_bad_flag_in_a_subprocess_is_one_line_exit_2(tmp_path):
    res = chainrule("train", "--optimizer", "adma", "--out", tmp_path / "run")
    assert res.returncode == 2
    assert res.stderr.strip() == ("chainrule train: error: unknown optimizer 'adma'; did you mean 'adam'? "
                                  "(allowed: adagrad, adam, adamax, adamw, nadam, rmsprop, sgd)")
    assert res.stdout == "" and not (tmp_path / "run").exists()


@pytest.mark.parametrize("text, message", [
    ('[data]\ndataset = "digits"\n\n[[model.layers]]\ntype = "Linear"\nin = 64\noutt = 10\n',
     "model.layers[0]: Linear has no argument 'outt'"),
    ('[data]\ndataset = "digits"\n\n[[model.layers]]\ntype = "Linaer"\n', "did you mean 'Linear'?"),
    ('[data]\ndataset = "digits"\n\n[[model.layers]]\ntype = "Flatten"\n[[model.layers]]\ntype = "Linear"\n'
     'in = 784\nout = 10\n', "model: does not fit dataset 'digits' (inputs (1, 8, 8), 10 outputs)"),
    ("[train\nepochs = 1\n", "invalid TOML"),
    ('[train]\nepoch = 1\n', "train: unknown key 'epoch'"),
    ('[data]\ndataset = "digits"\n[model]\nname = "mlp"\nfactory = "x:y"\n', "give exactly one of name"),
])
def test_bad_config_file_is_refused_naming_the_key(tmp_path, capsys, text, message):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    assert run_main("train", cfg, "--out", tmp_path / "run") == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "run").exists()


def test_existing_out_folder_is_never_overwritten(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("mine")
    assert run_main("train", "--dataset", "digits", "--out", tmp_path / "run") == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert os.listdir(tmp_path / "run") == ["keep.txt"]


def test_bare_options_mean_train_and_epochs_1_works(tmp_path):
    """`chainrule --epochs 1 ...` (no command) is `chainrule train --epochs 1 ...`; default folder name."""
    res = chainrule("--epochs", "1", "--dataset", "spirals", "--quiet", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    runs = os.listdir(tmp_path / "runs")
    assert len(runs) == 1 and runs[0].startswith("spirals-mlp-")
    assert len(read_csv(tmp_path / "runs" / runs[0] / "metrics.csv")) == 1


def test_tiny_idx_mnist_trains_with_lenet5(tmp_path):
    """The MNIST code path on IDX files the test wrote (uncompressed: no official md5 to match)."""
    write_tiny_mnist(tmp_path / "data")
    res = chainrule("train", "--model", "lenet5", "--epochs", "2", "--optimizer", "adam", "--lr", "0.003",
                    "--batch-size", "20", "--data", tmp_path / "data", "--out", tmp_path / "run")
    assert res.returncode == 0, res.stderr
    assert "mnist: 200 training / 50 test images" in res.stdout
    rows = read_csv(tmp_path / "run" / "metrics.csv")
    assert float(rows[-1]["val_accuracy"]) >= 0.6, rows          # the bright band is easy to find
    assert 'type = "Conv2d"' in (tmp_path / "run" / "config.toml").read_text()


def test_offline_main_job_falls_back_to_digits_with_one_message(tmp_path):
    """No MNIST anywhere and the mirror refuses: say what failed and where the files go, then train on the
    bundled real digits (not a toy)."""
    res = chainrule("train", "--epochs", "1", "--out", tmp_path / "run",
                    env={"CHAINRULE_DATA": str(tmp_path / "empty"), "HOME": str(tmp_path)})
    assert res.returncode == 0, res.stderr
    err = res.stderr
    assert "MNIST is not in" in err and "could not be downloaded" in err
    assert "train-images-idx3-ubyte.gz" in err and os.path.join(str(tmp_path / "empty"), "MNIST", "raw") in err
    assert "bundled UCI 8x8 handwritten digits" in err
    assert "digits" in res.stdout and 'dataset = "digits"' in (tmp_path / "run" / "config.toml").read_text()


def test_explicit_mnist_offline_is_an_error_not_a_fallback(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CHAINRULE_MIRRORS", "http://127.0.0.1:9/")
    assert run_main("train", "--dataset", "mnist", "--data", tmp_path / "empty", "--out", tmp_path / "run") == 2
    err = capsys.readouterr().err
    assert "data.dataset 'mnist'" in err and "Put these files" in err
    assert not (tmp_path / "run").exists()


def test_binary_config_trains_with_bce(tmp_path):
    """examples/configs/binary.toml's model and loss on the tiny IDX data (odd digit or not)."""
    write_tiny_mnist(tmp_path / "data")
    res = chainrule("train", os.path.join("examples", "configs", "binary.toml"), "--epochs", "2", "--data",
                    tmp_path / "data", "--out", tmp_path / "run", "--quiet",
                    cwd=os.path.join(os.path.dirname(__file__), "..", ".."))
    assert res.returncode == 0, res.stderr
    rows = read_csv(tmp_path / "run" / "metrics.csv")
    assert {"accuracy", "f1", "val_accuracy"} <= set(rows[0])
    assert float(rows[-1]["val_accuracy"]) > 0.6


def test_ctrl_c_leaves_a_resumable_run(tmp_path):
    """SIGINT mid-run: exit 130, the run folder complete (weights, checkpoint, metrics so far), resumable."""
    out = tmp_path / "run"
    env = dict(os.environ, CHAINRULE_MIRRORS="http://127.0.0.1:9/")
    paths = [os.path.abspath(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths or [os.path.join(os.path.dirname(__file__), "..", "..", "src")])
    proc = subprocess.Popen([sys.executable, "-m", "chainrule", "train", "--dataset", "digits", "--epochs", "1000",
                             "--out", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(1200):                    # wait (up to 2 min) until an epoch has been logged
            if (out / "metrics.csv").exists() and len(read_csv(out / "metrics.csv")) >= 1:
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert {"config.toml", "model.safetensors", "checkpoint.safetensors", "interrupted.safetensors"} <= set(os.listdir(out))
    assert "stopped: interrupted" in stdout
    done = len(read_csv(out / "metrics.csv"))
    assert run_main("train", "--resume", out, "--epochs", done + 1, "--quiet") == 0
    assert len(read_csv(out / "metrics.csv")) == done + 1
