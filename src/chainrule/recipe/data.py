"""Datasets a run config can name, loaded whole as tensors: ``load(data_cfg)`` -> ``Data``.

    mnist, fashion-mnist   the official IDX files: looked up in data.root (--data), then $CHAINRULE_DATA, then
                           ~/.cache/chainrule; downloaded there (md5-checked, atomic) when absent
    digits                 the UCI 8x8 handwritten digits shipped inside the package (no download)
    spirals, moons         generated 2-D two-class problems (data.n_samples, data.noise)

``data.positive_classes = [1, 3, 5, 7, 9]`` turns a classification dataset into a binary one: targets
become float (N, 1), 1.0 for the listed classes (for a BCE loss and a 1-unit output).

The download mirrors can be replaced with ``$CHAINRULE_MIRRORS`` (comma-separated base URLs): a local copy
of the files, or a test's 127.0.0.1 server.
"""
import os
from dataclasses import dataclass, field

import numpy as np

from .. import datasets
from ..tensor import _make
from .errors import ConfigError, unknown

__all__ = ["DATASETS", "Data", "load", "image_dataset_class", "DatasetUnavailable"]

_IMAGE_DATASETS = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST}
_GENERATED = {"spirals": datasets.two_spirals, "moons": datasets.moons}
DATASETS = [*_IMAGE_DATASETS, "digits", *_GENERATED]
_DATA_KEYS = {"dataset", "root", "download", "positive_classes", "n_samples", "noise"}


class DatasetUnavailable(RuntimeError):
    """An image dataset's files are absent and could not be downloaded (the message says which, and where)."""


@dataclass
class Data:
    """A dataset split into train and test tensors, with what predict/eval need to treat new inputs alike."""
    name: str
    x_train: object
    y_train: object
    x_test: object
    y_test: object
    classes: list
    binary: bool = False
    pixel_max: float = 255.0          # raw pixel scale of images (None: not images)
    mean: float = 0.0                 # normalisation applied after scaling to [0, 1]
    std: float = 1.0
    notes: list = field(default_factory=list)

    @property
    def input_shape(self):
        return tuple(self.x_train.shape[1:])

    @property
    def outputs(self):
        return 1 if self.binary else len(self.classes)


def mirrors_from_env():
    """The base URLs in $CHAINRULE_MIRRORS (comma-separated), or None."""
    value = os.environ.get("CHAINRULE_MIRRORS", "").strip()
    return [m if m.endswith("/") else m + "/" for m in value.split(",") if m.strip()] or None


def image_dataset_class(name, mirrors=None):
    """MNIST or FashionMNIST, with its download mirrors replaced when ``mirrors`` (or $CHAINRULE_MIRRORS) is
    given. The subclass keeps the class name, so the files go to the same ``<root>/MNIST/raw`` folder."""
    cls = _IMAGE_DATASETS[name]
    mirrors = mirrors or mirrors_from_env()
    return type(cls.__name__, (cls,), {"mirrors": list(mirrors)}) if mirrors else cls


def _load_image(name, root, download):
    cls = image_dataset_class(name)
    try:
        train, test = cls(root, train=True, download=download), cls(root, train=False, download=download)
    except (FileNotFoundError, RuntimeError) as e:
        raise DatasetUnavailable(str(e)) from None
    (xtr, ytr), (xte, yte) = train.arrays(), test.arrays()
    return Data(name, xtr, ytr, xte, yte, list(cls.classes), pixel_max=255.0, mean=cls.mean, std=cls.std,
                notes=[f"{name}: {len(xtr)} training / {len(xte)} test images from {train.root}"])


def _load_digits():
    train, test = datasets.Digits(train=True), datasets.Digits(train=False)
    (xtr, ytr), (xte, yte) = train.arrays(), test.arrays()
    return Data("digits", xtr, ytr, xte, yte, list(datasets.Digits.classes), pixel_max=16.0,
                mean=datasets.Digits.mean, std=datasets.Digits.std,
                notes=[f"digits: {len(xtr)} training / {len(xte)} test 8x8 images (UCI, CC BY 4.0, bundled)"])


def _load_generated(name, n_samples, noise, seed):
    if not isinstance(n_samples, int) or isinstance(n_samples, bool) or n_samples < 10:
        raise ConfigError(f"data.n_samples must be an integer >= 10, got {n_samples!r}")
    if not isinstance(noise, (int, float)) or isinstance(noise, bool) or noise < 0:
        raise ConfigError(f"data.noise must be a number >= 0, got {noise!r}")
    x, y = _GENERATED[name](n_samples, noise=float(noise), seed=seed).tensors
    n_test = max(1, n_samples // 5)                     # the last 20 % (the generators shuffle) is the test set
    return Data(name, x[:-n_test], y[:-n_test], x[-n_test:], y[-n_test:], ["0", "1"], pixel_max=None,
                notes=[f"{name}: {n_samples - n_test} training / {n_test} test generated points (seed {seed})"])


def _binarise(data, positive):
    if not isinstance(positive, list) or not positive or not all(
            isinstance(c, int) and not isinstance(c, bool) and 0 <= c < len(data.classes) for c in positive):
        raise ConfigError(f"data.positive_classes must be a non-empty list of class indices 0..{len(data.classes) - 1}"
                          f", got {positive!r}")
    pos = np.asarray(positive)
    for split in ("y_train", "y_test"):
        y = getattr(data, split).numpy()
        setattr(data, split, _make(np.isin(y, pos).astype(np.float32)[:, None]))
    data.binary = True
    data.notes.append(f"binary targets: 1 for classes {positive}, 0 for the others")
    return data


def check_keys(data_cfg):
    extra = sorted(set(data_cfg) - _DATA_KEYS)
    if extra:
        raise ConfigError(f"data: unknown key {extra[0]!r} (allowed: {', '.join(sorted(_DATA_KEYS))})")
    name = data_cfg.get("dataset")
    if name not in DATASETS:
        raise unknown("dataset", name, DATASETS)


def load(data_cfg, seed=0):
    """The ``Data`` a resolved data section describes. Raises ConfigError for a bad section and
    DatasetUnavailable when MNIST-like files are absent and the download failed."""
    check_keys(data_cfg)
    name = data_cfg["dataset"]
    if name in _IMAGE_DATASETS:
        data = _load_image(name, data_cfg.get("root") or None, bool(data_cfg.get("download", True)))
    elif name == "digits":
        data = _load_digits()
    else:
        data = _load_generated(name, data_cfg.get("n_samples", 1000), data_cfg.get("noise", 0.1), seed)
    if "positive_classes" in data_cfg:
        data = _binarise(data, data_cfg["positive_classes"])
    return data


def describe(data_cfg):
    """What predicting on new inputs needs to know about a dataset, without loading it: a ``Data`` whose
    tensors are None, with input shape, classes, pixel scale and normalisation."""
    check_keys(data_cfg)
    name = data_cfg["dataset"]
    if name in _IMAGE_DATASETS:
        cls = _IMAGE_DATASETS[name]
        info = Data(name, None, None, None, None, list(cls.classes), pixel_max=255.0, mean=cls.mean, std=cls.std)
        shape = (1, 28, 28)
    elif name == "digits":
        info = Data(name, None, None, None, None, list(datasets.Digits.classes), pixel_max=16.0,
                    mean=datasets.Digits.mean, std=datasets.Digits.std)
        shape = (1, 8, 8)
    else:
        info = Data(name, None, None, None, None, ["0", "1"], pixel_max=None)
        shape = (2,)
    if "positive_classes" in data_cfg:
        positive = data_cfg["positive_classes"]
        info.classes = ["other", "class " + "/".join(info.classes[c].split(" ")[0] for c in positive)]
        info.binary = True
    info.shape = shape
    return info
