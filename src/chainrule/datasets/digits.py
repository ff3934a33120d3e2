"""The UCI 8x8 handwritten digits, shipped inside the package (57 KB; CC BY 4.0, see data/README.md).

    train = cr.datasets.Digits(train=True)     # 1,438 images
    test = cr.datasets.Digits(train=False)     # 359 images
    X, y = train.arrays()                      # float32 (N, 1, 8, 8) normalised, int64 (N,)

A small *real* dataset that needs no download: what the ``chainrule train`` main job falls back to when
MNIST is absent and cannot be fetched. Pixels are integers 0..16. The split is fixed: the file's first 1,438
rows (80 %) are the training set, the last 359 the test set; every class has 33-37 test images.
"""
import gzip
import os

import numpy as np

from ..tensor import _make
from ..utils.data.dataset import Dataset

__all__ = ["Digits"]

_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "digits.csv.gz")
_N_TRAIN = 1438


class Digits(Dataset):
    """UCI handwritten digits: 8x8 grayscale images with pixel values 0..16, labels 0-9.

    ``ds[i]`` is ``(image, label)``: the image a float32 tensor (1, 8, 8) in [0, 1] (``transform`` receives the
    raw (8, 8) uint8 array instead), the label an int. ``data`` (uint8 N x 8 x 8) and ``targets`` (int64 N)
    hold the split; ``arrays()`` gives it as training-ready tensors."""

    classes = [str(d) for d in range(10)]
    pixel_max = 16
    mean, std = 0.3054, 0.3755           # of the training images scaled to [0, 1]

    def __init__(self, train=True, transform=None, target_transform=None):
        self.train = bool(train)
        self.transform, self.target_transform = transform, target_transform
        with gzip.open(_FILE, "rt") as f:
            rows = np.loadtxt(f, delimiter=",", dtype=np.int64)
        rows = rows[:_N_TRAIN] if self.train else rows[_N_TRAIN:]
        self.data = _make(rows[:, :64].astype(np.uint8).reshape(-1, 8, 8))
        self.targets = _make(rows[:, 64].copy())

    def __len__(self):
        return self.data._data.shape[0]

    def __getitem__(self, index):
        index = int(index)
        img = self.data._data[index]
        target = int(self.targets._data[index])
        img = _make((img[None] / np.float32(self.pixel_max)).astype(np.float32)) if self.transform is None \
            else self.transform(img.copy())
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def arrays(self, normalize=True):
        """The whole split: images float32 (N, 1, 8, 8) - in [0, 1], then ``(x - mean) / std`` when
        ``normalize`` - and labels int64 (N,)."""
        x = self.data._data.astype(np.float32) / np.float32(self.pixel_max)
        if normalize:
            x = (x - np.float32(self.mean)) / np.float32(self.std)
        return _make(x[:, None]), _make(self.targets._data.copy())

    def __repr__(self):
        return (f"Dataset Digits\n    Number of datapoints: {len(self)}\n"
                f"    Split: {'Train' if self.train else 'Test'}\n    Source: {_FILE}")
