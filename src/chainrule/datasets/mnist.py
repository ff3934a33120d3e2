"""MNIST and Fashion-MNIST, read from the official IDX files (torchvision's API, no PIL, no pickle).

    train = cr.datasets.MNIST(train=True, download=True)
    img, label = train[0]                 # float32 (1, 28, 28) in [0, 1], int
    X, y = train.arrays()                 # the whole split: float32 (60000, 1, 28, 28) normalised, int64
    loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)    # fast: one fancy-index a batch

Where the files are looked for (first hit wins), for each of the split's two files:
``<root>/<MNIST|FashionMNIST>/raw/<name>`` (torchvision's layout), then ``<root>/<name>``; ``<name>`` is the
official ``*.gz`` or the same file uncompressed (without ``.gz``). ``root``: the argument, else
``$CHAINRULE_DATA``, else ``~/.cache/chainrule``.

Checks: a ``.gz`` file must have the official md5 (so the data is exactly the published data); every file
is parsed strictly (magic number, type code, sizes against the file length, see ``_idx.py``), images must be
N x H x W uint8, labels N uint8 in range, and the two counts must agree. Uncompressed files have no
published md5, so they get the structural checks only.

``download=True`` fetches missing files from the mirrors (``_download.py``: temp file, md5, then rename);
when that fails the error lists which files to put in which folder.
"""
import os
import warnings

import numpy as np

from ..tensor import _make
from ..utils.data.dataset import BatchedSamples, Dataset, _as_index_array
from . import _download
from ._idx import IDXError, read_idx

__all__ = ["MNIST", "FashionMNIST", "default_root"]


def default_root(root=None):
    """The data folder: ``root``, else ``$CHAINRULE_DATA``, else ``~/.cache/chainrule``."""
    if root is None:
        root = os.environ.get("CHAINRULE_DATA") or os.path.join("~", ".cache", "chainrule")
    return os.path.abspath(os.path.expanduser(os.fspath(root)))


def _lut(normalize, mean=0.0, std=1.0):
    """The float32 value of each of the 256 pixel values: ``v / 255`` (as ToTensor), then ``(x - mean) / std``
    (as Normalize), each step rounded to float32 exactly as the elementwise ops would. Converting a sample
    or a batch is then one table lookup."""
    x = np.arange(256, dtype=np.float32) / np.float32(255)
    if normalize:
        x = (x - np.float32(mean)) / np.float32(std)
    return x


class MNIST(Dataset):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28 grayscale, labels 0-9.

    ``ds[i]`` is ``(image, label)``: without ``transform`` the image is a float32 tensor (1, 28, 28) in
    [0, 1] (what torchvision's ``ToTensor`` gives); with one, ``transform`` receives the raw image as a
    (28, 28) uint8 NumPy array (where torchvision passes a PIL image - ``datasets.transforms.ToTensor``
    turns it into the tensor). ``label`` is an int (then ``target_transform(label)``).

    ``data`` (uint8 N x 28 x 28) and ``targets`` (int64 N) hold the whole split; ``arrays()`` gives it as
    training-ready tensors."""

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
    resources = [("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                 ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
                 ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
                 ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c")]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]
    mean, std = 0.1307, 0.3081           # of the training images in [0, 1] (the usual Normalize values)

    def __init__(self, root=None, train=True, transform=None, target_transform=None, download=False):
        self.root = default_root(root)
        self.train = bool(train)
        self.transform = transform
        self.target_transform = target_transform
        needed = self._split_resources()
        paths = [self._locate(name) for name, _ in needed]
        if any(p is None for p in paths):
            if download:
                self.download()
                paths = [self._locate(name) for name, _ in needed]
            if any(p is None for p in paths):
                missing = [r for r, p in zip(needed, paths) if p is None]
                raise FileNotFoundError(f"{self._name()}: {self._split()} files not found.\n"
                                        + self._where_to_put(missing)
                                        + ("" if download else "\nOr pass download=True to fetch them."))
        images = self._read(paths[0], needed[0][1])
        labels = self._read(paths[1], needed[1][1])
        self._check(images, labels, paths)
        self.data = _make(images)
        self.targets = _make(labels.astype(np.int64))

    # ------------------------------------------------------------------ files
    @property
    def raw_folder(self):
        return os.path.join(self.root, type(self).__name__, "raw")

    def _name(self):
        return type(self).__name__

    def _split(self):
        return "training" if self.train else "test"

    def _split_resources(self):
        prefix = "train" if self.train else "t10k"
        res = dict(self.resources)
        return [(f"{prefix}-images-idx3-ubyte.gz", res[f"{prefix}-images-idx3-ubyte.gz"]),
                (f"{prefix}-labels-idx1-ubyte.gz", res[f"{prefix}-labels-idx1-ubyte.gz"])]

    def _locate(self, gz_name):
        raw_name = gz_name[:-3]
        for folder in (self.raw_folder, self.root):
            for name in (gz_name, raw_name):
                p = os.path.join(folder, name)
                if os.path.isfile(p):
                    return p
        return None

    def _where_to_put(self, files):
        lines = [f"Put these files (as distributed, gzip-compressed; or uncompressed, without .gz) into "
                 f"{self.raw_folder}{os.sep}  (or directly into {self.root}{os.sep}):"]
        for name, md5 in files:
            lines.append(f"    {name}  (md5 {md5})  from {self.mirrors[0]}{name}")
        lines.append("(root: the root= argument, else $CHAINRULE_DATA, else ~/.cache/chainrule)")
        return "\n".join(lines)

    def _read(self, path, md5):
        with open(path, "rb") as f:
            raw = f.read()
        if path.endswith(".gz") or raw[:2] == b"\x1f\x8b":    # the distributed .gz: byte-identical to the official
            got = _download.md5sum(data=raw)
            if got != md5:
                raise IDXError(f"{path}: md5 mismatch: got {got}, expected the official {md5} ({self._name()} "
                               f"{os.path.basename(path)}). The file is corrupted, truncated or not the "
                               f"{self._name()} file. Fix: delete it and download it again (download=True)")
        return read_idx(path, data=raw)

    def _check(self, images, labels, paths):
        if images.dtype != np.uint8 or images.ndim != 3:
            raise IDXError(f"{paths[0]}: expected N x H x W uint8 images, got {images.ndim}-d {images.dtype} "
                           f"of shape {images.shape}. Fix: check that this is the images file")
        if images.shape[1:] != (28, 28):            # a raw file has no md5 to vouch for it: check what it declares
            raise IDXError(f"{paths[0]}: {self._name()} images are 28 x 28, but this file declares "
                           f"{images.shape[1]} x {images.shape[2]} images (shape {images.shape}). Fix: check that "
                           f"this is the {self._name()} images file, or delete it and download it again")
        if labels.dtype != np.uint8 or labels.ndim != 1:
            raise IDXError(f"{paths[1]}: expected N uint8 labels, got {labels.ndim}-d {labels.dtype} of shape "
                           f"{labels.shape}. Fix: check that this is the labels file")
        if len(images) != len(labels):
            raise IDXError(f"{self._name()}: {len(images)} images ({paths[0]}) but {len(labels)} labels "
                           f"({paths[1]}); the files don't belong together")
        if labels.size and labels.max() >= len(self.classes):
            raise IDXError(f"{paths[1]}: label {int(labels.max())} out of range 0..{len(self.classes) - 1}")

    def _check_exists(self):
        return all(self._locate(name) is not None for name, _ in self._split_resources())

    def download(self):
        """Fetch the missing official files (all four) into ``raw_folder``; a failure for this split's files
        raises an error saying which files to put where."""
        os.makedirs(self.raw_folder, exist_ok=True)
        needed = {name for name, _ in self._split_resources()}
        failed = []
        for name, md5 in self.resources:
            if self._locate(name) is not None:
                continue
            try:
                _download.download_file([m + name for m in self.mirrors], os.path.join(self.raw_folder, name),
                                        md5=md5)
            except _download.DownloadError as e:
                if name in needed:
                    failed.append((name, md5, str(e)))
                else:
                    warnings.warn(f"{self._name()}: {e}", RuntimeWarning, stacklevel=2)
        if failed:
            reasons = "\n".join(f"  {msg}" for _, _, msg in failed)
            raise RuntimeError(f"{self._name()}: download failed (offline, or the mirrors are down):\n{reasons}\n"
                               + self._where_to_put([(n, m) for n, m, _ in failed]))

    # ------------------------------------------------------------------ samples
    def __len__(self):
        return self.data._data.shape[0]

    def __getitem__(self, index):
        index = int(index)
        img = self.data._data[index]
        target = int(self.targets._data[index])
        if self.transform is None:
            img = _make(_lut(False)[img[None]])
        else:
            img = self.transform(img.copy())
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __getitems__(self, indices):
        """A batch at once (no per-sample work) when there are no transforms; else sample by sample."""
        if self.transform is not None or self.target_transform is not None:
            return [self[i] for i in indices]
        idx = _as_index_array(indices)
        imgs = _lut(False)[self.data._data[idx]]
        imgs = imgs.reshape(imgs.shape[0], 1, *imgs.shape[1:])
        return BatchedSamples((_make(imgs), _make(self.targets._data[idx])),
                              item=lambda b, i: (b.columns[0][i], int(b.columns[1]._data[i])))

    def arrays(self, normalize=True):
        """The whole split as tensors for fast training: images float32 (N, 1, H, W) - in [0, 1], then
        ``(x - mean) / std`` when ``normalize`` - and labels int64 (N,). Wrap them in a TensorDataset."""
        x = self.data._data.astype(np.float32)       # the same float32 steps as _lut, in place (faster
        x /= np.float32(255)                          # than a lookup over 47M pixels)
        if normalize:
            x -= np.float32(self.mean)
            x /= np.float32(self.std)
        return _make(x.reshape(x.shape[0], 1, *x.shape[1:])), _make(self.targets._data.copy())

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __repr__(self):
        lines = [f"Dataset {self._name()}", f"    Number of datapoints: {len(self)}",
                 f"    Root location: {self.root}", f"    Split: {'Train' if self.train else 'Test'}"]
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        if self.target_transform is not None:
            lines.append(f"    Target transform: {self.target_transform!r}")
        return "\n".join(lines)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: the MNIST format and sizes with 10 clothing classes."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
               "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"]
    resources = [("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                 ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
                 ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                 ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310")]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
    mean, std = 0.2860, 0.3530
