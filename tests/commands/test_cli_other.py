"""The other subcommands: --help everywhere (with defaults), --version, eval, predict (.npy and PNG),
demo, download from a 127.0.0.1 server (md5-checked), and resume."""
import csv
import hashlib
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import datasets
from chainrule.cli import COMMANDS, build_parser
from cli_helpers import LocalServer, chainrule, run_main, tiny_mnist_arrays, write_tiny_mnist


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "digits"
    assert run_main("train", "--dataset", "digits", "--optimizer", "adam", "--lr", "0.01", "--epochs", "3",
                    "--out", out, "--quiet") == 0
    return out


def test_version():
    res = chainrule("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"chainrule {cr.__version__}"


def test_every_command_has_help_with_defaults():
    _, sub = build_parser()
    assert {"train", "eval", "predict", "demo", "download", "run"} <= set(sub.choices)
    assert len(COMMANDS) == len(sub.choices)
    for name, parser in sub.choices.items():
        text = parser.format_help()
        assert text.startswith(f"usage: chainrule {name}"), name
        for action in parser._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, (name, action.dest)            # every option explained
    train_help = sub.choices["train"].format_help()
    for default in ("else 5", "else 64", "else 0.01", "else sgd", "else mnist", "else mlp"):
        assert default in train_help
    assert "(default: 256)" in sub.choices["eval"].format_help()
    res = chainrule("train", "--help")
    assert res.returncode == 0 and "--batch-size" in res.stdout and "--set KEY=VALUE" in res.stdout


def test_unknown_command_is_refused_with_a_suggestion():
    res = chainrule("tarin")
    assert res.returncode == 2
    assert "unknown command 'tarin'; did you mean 'train'?" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_eval_reports_the_runs_test_metrics(digits_run, capsys):
    rows = list(csv.DictReader(open(digits_run / "metrics.csv")))
    assert run_main("eval", digits_run, "--metrics", "accuracy,confusion_matrix") == 0
    out = capsys.readouterr().out
    acc = float(out.split("accuracy: ")[1].split(" %")[0])
    assert acc == pytest.approx(100 * float(rows[-1]["val_accuracy"]), abs=0.01)   # same model, same data
    assert "confusion_matrix:" in out and "(rows: true class)" in out
    assert run_main("eval", digits_run / "checkpoint.safetensors") == 0            # a checkpoint works too
    assert f"{100 * float(rows[-1]['val_accuracy']):.2f} %" in capsys.readouterr().out


def test_eval_and_predict_refuse_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert run_main("eval", tmp_path) == 2
    assert "no config.toml" in capsys.readouterr().err
    assert run_main("predict", tmp_path / "nope", "x.npy") == 2
    assert "no such run folder" in capsys.readouterr().err


def test_predict_on_npy_matches_the_model(digits_run, tmp_path, capsys):
    test = datasets.Digits(train=False)
    raw = test.data.numpy()[:4]                                   # uint8 pixels 0..16, as in the file
    np.save(tmp_path / "four.npy", raw)
    assert run_main("predict", digits_run, tmp_path / "four.npy") == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "->" in ln]
    assert len(lines) == 4
    model = cr.nn.Sequential(cr.nn.Flatten(), cr.nn.Linear(64, 200), cr.nn.ReLU(), cr.nn.Linear(200, 10))
    model.load_state_dict(cr.load(str(digits_run / "model.safetensors")))
    x, _ = test.arrays()
    with cr.no_grad():
        logits = model(x[:4]).numpy().astype(np.float64)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    for line, row in zip(lines, p):
        cls, prob = line.split("-> ")[1].split("  (")
        assert int(cls) == row.argmax()
        assert float(prob.split(" %")[0]) == pytest.approx(100 * row.max(), abs=0.06)


def test_predict_on_a_png(digits_run, tmp_path, capsys):
    Image = pytest.importorskip("PIL.Image")
    test = datasets.Digits(train=False)
    digit = test.data.numpy()[0].astype(np.float64) / 16
    # dark ink on white paper, 8x larger: predict inverts and shrinks it back
    img = Image.fromarray((255 * (1 - digit)).astype(np.uint8)).resize((64, 64), Image.NEAREST)
    img.save(tmp_path / "digit.png")
    assert run_main("predict", digits_run, tmp_path / "digit.png", "--top", "2") == 0
    out = capsys.readouterr().out
    assert "64x64 -> 8x8 grayscale, inverted (light background)" in out
    assert "digit.png  -> " in out and "next: " in out


def test_predict_refuses_wrong_shapes_and_ranges(digits_run, tmp_path, capsys):
    np.save(tmp_path / "bad.npy", np.zeros((3, 5)))
    assert run_main("predict", digits_run, tmp_path / "bad.npy") == 2
    assert "shape (3, 5) does not hold inputs of shape (1, 8, 8)" in capsys.readouterr().err
    np.save(tmp_path / "big.npy", np.full((8, 8), 16.0))
    assert run_main("predict", digits_run, tmp_path / "big.npy") == 2
    assert "float pixels must be in [0, 1]" in capsys.readouterr().err


def test_demo_runs_the_seed_examples():
    res = chainrule("demo", "--epochs", "100")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "by hand: dL/dw1 = -sum(r x) =  -385.00" in out and "w1.grad          =  -385.00" in out
    assert "w1 = 2.0000" in out and "done: both examples converged" in out
    first, last = out.split("-> loss ")[1].split()[0:3:2]
    assert float(last) < 0.2 * float(first)
    assert run_main("demo", "--epochs", "0") == 2


def _serve_tiny_mnist(folder, monkeypatch):
    """Tiny MNIST .gz files in ``folder`` with MNIST's expected md5s patched to theirs."""
    files = write_tiny_mnist(folder, gz=True)
    monkeypatch.setattr(datasets.MNIST, "resources",
                        [(name, hashlib.md5(data).hexdigest()) for name, data in files.items()])
    return files


def test_download_fetches_checks_and_then_trains(tmp_path, monkeypatch, capsys):
    files = _serve_tiny_mnist(tmp_path / "mirror", monkeypatch)
    with LocalServer(str(tmp_path / "mirror")) as server:
        monkeypatch.setenv("CHAINRULE_MIRRORS", server.url)
        assert run_main("download", "mnist", "--root", tmp_path / "data") == 0
    captured = capsys.readouterr()
    assert "200 training and 50 test images ready" in captured.out
    assert server.url + "train-images-idx3-ubyte.gz" in captured.err            # progress on stderr
    raw = tmp_path / "data" / "MNIST" / "raw"
    assert sorted(os.listdir(raw)) == sorted(files)                             # no .part files left
    for name, data in files.items():
        assert (raw / name).read_bytes() == data
    # the downloaded files are found by train (no network: the mirror is gone)
    monkeypatch.setenv("CHAINRULE_MIRRORS", "http://127.0.0.1:9/")
    assert run_main("train", "--dataset", "mnist", "--data", tmp_path / "data", "--epochs", "1",
                    "--out", tmp_path / "run", "--quiet") == 0


def test_train_downloads_missing_mnist_from_the_mirror(tmp_path, monkeypatch):
    _serve_tiny_mnist(tmp_path / "mirror", monkeypatch)
    with LocalServer(str(tmp_path / "mirror")) as server:
        monkeypatch.setenv("CHAINRULE_MIRRORS", server.url)
        monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path / "cache"))
        assert run_main("train", "--epochs", "1", "--out", tmp_path / "run", "--quiet") == 0
    assert len(os.listdir(tmp_path / "cache" / "MNIST" / "raw")) == 4
    assert 'dataset = "mnist"' in (tmp_path / "run" / "config.toml").read_text()


def test_download_with_a_corrupted_mirror_fails_cleanly(tmp_path, monkeypatch, capsys):
    _serve_tiny_mnist(tmp_path / "mirror", monkeypatch)
    bad = tmp_path / "mirror" / "train-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-10] + b"0123456789")                 # same size, wrong bytes
    with LocalServer(str(tmp_path / "mirror")) as server:
        monkeypatch.setenv("CHAINRULE_MIRRORS", server.url)
        assert run_main("download", "mnist", "--root", tmp_path / "data") == 1
    err = capsys.readouterr().err
    assert "md5 mismatch" in err and "Put these files" in err
    assert not (tmp_path / "data" / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").exists()
    assert not [f for f in os.listdir(tmp_path / "data" / "MNIST" / "raw") if f.endswith(".part")]


def test_resume_continues_a_run_in_its_folder(tmp_path, capsys):
    """--resume with a larger --epochs continues from the checkpoint: the same final weights as one run."""
    args = ["--dataset", "spirals", "--set", "model.hidden=[16]", "--quiet"]
    assert run_main("train", *args, "--epochs", "3", "--out", tmp_path / "whole") == 0
    assert run_main("train", *args, "--epochs", "1", "--out", tmp_path / "part") == 0
    assert run_main("train", "--resume", tmp_path / "part", "--epochs", "3", "--quiet") == 0
    a, b = cr.load(str(tmp_path / "whole" / "model.safetensors")), cr.load(str(tmp_path / "part" / "model.safetensors"))
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy())
    assert "epochs = 3" in (tmp_path / "part" / "config.toml").read_text()
