"""chainrule.datasets: MNIST / Fashion-MNIST from the official IDX files, the UCI 8x8 digits shipped with
the package (``Digits``), and small generated datasets.

    train = chainrule.datasets.MNIST(download=True)           # root: arg, $CHAINRULE_DATA, ~/.cache/chainrule
    X, y = train.arrays()                                    # (60000, 1, 28, 28) float32 normalised, int64
    xs, ys = chainrule.datasets.linear_noise(100, seed=0).tensors
"""
from . import transforms
from ._download import DownloadError, download_file, md5sum
from ._idx import IDXError, read_idx, write_idx
from .digits import Digits
from .mnist import MNIST, FashionMNIST, default_root
from .synthetic import blobs, linear_1d, linear_noise, moons, two_spirals, xor

__all__ = ["MNIST", "FashionMNIST", "Digits", "default_root", "read_idx", "write_idx", "IDXError", "download_file",
           "md5sum", "DownloadError", "transforms", "linear_1d", "linear_noise", "xor", "moons", "blobs",
           "two_spirals"]
