"""Image grids and PNG files from tensors, as ``torchvision.utils.make_grid`` / ``save_image``.

``save_image`` writes through Pillow (the ``vision`` extra: ``pip install "chainrule[vision]"``)."""
import math

import numpy as np

from ..tensor import Tensor, _make

__all__ = ["make_grid", "save_image"]


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False, pad_value=0.0):
    """A batch (B, C, H, W) (or a list of (C, H, W) images) laid out ``nrow`` per row with ``padding`` pixels
    of ``pad_value`` between them -> one (3, H', W') tensor (grey images repeated to 3 channels, as torchvision).
    ``normalize``: shift/scale to [0, 1] over ``value_range`` (default: the min and max of the images)."""
    if isinstance(tensor, (list, tuple)):
        arr = np.stack([t.detach()._data if isinstance(t, Tensor) else np.asarray(t) for t in tensor])
    else:
        arr = tensor.detach()._data if isinstance(tensor, Tensor) else np.asarray(tensor)
    arr = arr.astype(np.float32)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim == 3:
        arr = arr[None] if arr.shape[0] in (1, 3) else arr[:, None]
    if arr.ndim != 4:
        raise ValueError(f"make_grid: expected images of shape (B, C, H, W), (C, H, W) or (H, W), got {arr.shape}")
    if arr.shape[1] == 1:
        arr = np.repeat(arr, 3, axis=1)
    if normalize:
        def norm(a):
            lo, hi = value_range if value_range is not None else (a.min(), a.max())
            return np.clip((a - lo) / max(hi - lo, 1e-5), 0, 1)
        arr = np.stack([norm(a) for a in arr]) if scale_each else norm(arr)
    b, c, h, w = arr.shape
    if b == 1:
        return _make(np.ascontiguousarray(arr[0]))
    xmaps = min(nrow, b)
    ymaps = int(math.ceil(b / xmaps))
    H, W = h + padding, w + padding
    grid = np.full((c, ymaps * H + padding, xmaps * W + padding), pad_value, np.float32)
    for k in range(b):
        y, x = divmod(k, xmaps)
        grid[:, y * H + padding:y * H + padding + h, x * W + padding:x * W + padding + w] = arr[k]
    return _make(grid)


def save_image(tensor, fp, format=None, **grid_kwargs):
    """Save images (values in [0, 1]) as one PNG/JPEG grid, as ``torchvision.utils.save_image``."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError('save_image needs Pillow: pip install "chainrule[vision]"') from None
    grid = make_grid(tensor, **grid_kwargs)._data
    img = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    Image.fromarray(img).save(fp, format=format)
