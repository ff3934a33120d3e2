"""A few torchvision-style transforms for image datasets (no PIL: images are NumPy arrays).

    MNIST(transform=Compose([ToTensor(), Normalize((0.1307,), (0.3081,))]))
"""
import numpy as np

from ..tensor import Tensor, _make

__all__ = ["Compose", "ToTensor", "Normalize", "Lambda"]


class Compose:
    """Apply the transforms in order."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        return "Compose(" + ", ".join(repr(t) for t in self.transforms) + ")"


class ToTensor:
    """An image array (H, W) or (H, W, C) -> a tensor (C, H, W): uint8 becomes float32 scaled to [0, 1];
    other dtypes are kept as they are (as torchvision's ToTensor does for NumPy arrays)."""

    def __call__(self, img):
        arr = img._data if isinstance(img, Tensor) else np.asarray(img)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.ndim != 3:
            raise ValueError(f"ToTensor: expected an image of shape (H, W) or (H, W, C), got shape {arr.shape}")
        out = np.ascontiguousarray(arr.transpose(2, 0, 1))
        if arr.dtype == np.uint8:
            return _make(out.astype(np.float32) / np.float32(255))
        return _make(out)

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """``(x - mean[c]) / std[c]`` per channel of a (..., C, H, W) float tensor."""

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = tuple(mean), tuple(std), inplace
        if any(s == 0 for s in self.std):
            raise ValueError(f"Normalize: std evaluated to zero after conversion ({self.std}), leading to "
                             f"division by zero")

    def __call__(self, x):
        if not isinstance(x, Tensor) or x._data.dtype.kind != "f":
            raise TypeError(f"Normalize: expected a float tensor (apply ToTensor first), got "
                            f"{type(x).__name__}{'' if not isinstance(x, Tensor) else ' of ' + str(x.dtype)}")
        arr = x._data
        if arr.ndim < 3 or arr.shape[-3] != len(self.mean) and len(self.mean) != 1:
            raise ValueError(f"Normalize: {len(self.mean)} channel means for a tensor of shape {arr.shape} "
                             f"(channels are dim -3)")
        m = np.asarray(self.mean, dtype=arr.dtype)[:, None, None]
        s = np.asarray(self.std, dtype=arr.dtype)[:, None, None]
        if self.inplace:
            arr -= m
            arr /= s
            x._vc[0] += 1
            return x
        return _make((arr - m) / s)

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


class Lambda:
    """Wrap a function as a transform."""

    def __init__(self, fn):
        if not callable(fn):
            raise TypeError(f"Lambda: argument should be callable, got {type(fn).__name__}")
        self.fn = fn

    def __call__(self, x):
        return self.fn(x)

    def __repr__(self):
        return "Lambda()"
