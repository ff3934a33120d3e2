"""Datasets by name: lookup order for MNIST, binary targets, generated splits, offline errors."""
import os

import pytest

from chainrule.recipe import data
from chainrule.recipe.errors import ConfigError


def test_find_mnist_order(tmp_path, monkeypatch):
    a, b, home = tmp_path / "a", tmp_path / "b", tmp_path / "home"
    (b / "MNIST" / "raw").mkdir(parents=True)
    (b / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").write_bytes(b"")
    (home / ".cache" / "chainrule").mkdir(parents=True)
    (home / ".cache" / "chainrule" / "train-images-idx3-ubyte").write_bytes(b"")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CHAINRULE_DATA", str(b))
    assert data.find_mnist(str(a)) == str(b)                     # explicit lacks it: $CHAINRULE_DATA
    monkeypatch.delenv("CHAINRULE_DATA")
    assert os.path.expanduser(data.find_mnist(str(a))) == str(home / ".cache" / "chainrule")
    (a / "train-images-idx3-ubyte.gz").parent.mkdir()
    (a / "train-images-idx3-ubyte.gz").write_bytes(b"")
    assert data.find_mnist(str(a)) == str(a)


def test_binary_targets_and_generated_split():
    d = data.load({"dataset": "spirals", "n_samples": 100}, seed=1)
    assert (len(d.x_train), len(d.x_test), d.outputs) == (80, 20, 2)
    b = data.load({"dataset": "digits", "positive_classes": [0]})
    assert b.binary and b.outputs == 1 and b.y_train.shape == (1438, 1)
    assert 0.05 < float(b.y_train.mean()) < 0.15                  # one class in ten
    assert data.describe({"dataset": "digits", "positive_classes": [0]}).classes == ["other", "class 0"]
    with pytest.raises(ConfigError, match="data.n_samples must be an integer >= 10"):
        data.load({"dataset": "moons", "n_samples": 3})
    with pytest.raises(ConfigError, match="data: unknown key 'rot'"):
        data.load({"dataset": "digits", "rot": "x"})


def test_absent_mnist_without_download_says_where_to_put_files(tmp_path):
    with pytest.raises(data.DatasetUnavailable, match="Put these files"):
        data.load({"dataset": "fashion-mnist", "root": str(tmp_path), "download": False})
