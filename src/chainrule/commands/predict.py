"""chainrule predict RUN_DIR INPUT...: the trained model's classes and probabilities for new inputs.

    chainrule predict runs/mnist-mlp-20260101-120000 digit.png        a picture (needs Pillow: "chainrule[vision]")
    chainrule predict runs/mnist-mlp-20260101-120000 batch.npy        an array of inputs

Images are turned into what the model was trained on: grayscale, resized to the dataset's size (28x28 for
MNIST, 8x8 for digits), scaled to [0, 1], inverted when the background is light (the datasets have light
strokes on a dark background), then normalised as in training. A .npy file holds one input or a batch:
images as (H, W), (N, H, W), (N, 1, H, W) or flattened (N, H*W); integer pixels are read on the dataset's
raw scale (0..255 for MNIST, 0..16 for digits), floats as already in [0, 1]. For generated 2-D datasets a
.npy holds points (2,) or (N, 2).
"""
import os

import numpy as np

import chainrule as cr

from ..recipe.errors import ConfigError
from ._args import HelpFormatter, positive_int

# recipe's data and run_dir (with datasets, nn, optim) are imported inside the function that uses them:
# importing a command module stays light.

__all__ = ["register", "prepare_inputs"]


def _from_image(path, info):
    try:
        from PIL import Image
    except ImportError:
        raise ConfigError(f'{path}: reading images needs Pillow (pip install "chainrule[vision]"); or pass a '
                          f'.npy array') from None
    if info.pixel_max is None:
        raise ConfigError(f"{path}: the run's dataset {info.name!r} is not images; pass a .npy of points")
    try:
        img = Image.open(path).convert("L")
    except OSError as e:
        raise ConfigError(f"{path}: not a readable image ({e})") from None
    h, w = info.shape[1:]
    x = np.asarray(img.resize((w, h), Image.BILINEAR), dtype=np.float32) / 255.0
    notes = [f"{os.path.basename(path)}: {img.size[0]}x{img.size[1]} -> {w}x{h} grayscale"]
    if x.mean() > 0.5:
        x = 1.0 - x
        notes[0] += ", inverted (light background)"
    return x[None, None], notes


def prepare_inputs(array, info, source="input"):
    """``array`` (NumPy) as a model-ready float32 batch for the dataset ``info`` (see the module doc)."""
    a = np.asarray(array)
    if a.dtype.kind not in "iuf" or a.size == 0:
        raise ConfigError(f"{source}: expected a non-empty numeric array, got dtype {a.dtype}, shape {a.shape}")
    shape = tuple(info.shape)
    n_features = int(np.prod(shape))
    if a.shape == shape or a.size == n_features:
        a = a.reshape(1, *shape)
    elif a.ndim >= 2 and int(np.prod(a.shape[1:])) == n_features:
        a = a.reshape(a.shape[0], *shape)
    else:
        raise ConfigError(f"{source}: shape {a.shape} does not hold inputs of shape {shape} (the run's dataset "
                          f"{info.name!r}); give one input {shape} or a batch (N, {', '.join(map(str, shape))})")
    if info.pixel_max is None:
        return a.astype(np.float32)
    if a.dtype.kind in "iu":
        x = a.astype(np.float32) / np.float32(info.pixel_max)
    else:
        x = a.astype(np.float32)
        if x.min() < -1e-6 or x.max() > 1 + 1e-6:
            raise ConfigError(f"{source}: float pixels must be in [0, 1] (got {x.min():.3g}..{x.max():.3g}); "
                              f"save raw pixels as integers 0..{int(info.pixel_max)} instead")
    return ((x - np.float32(info.mean)) / np.float32(info.std)).astype(np.float32)


def _probabilities(out, cfg, binary):
    loss = cfg["train"]["loss"]
    if binary:
        p = out.reshape(len(out), -1)[:, :1]
        if loss != "bce":                           # logits (bce_with_logits, mse on a score)
            p = 1 / (1 + np.exp(-p))
        return np.concatenate([1 - p, p], axis=1)
    if loss == "nll":                               # the model ends in LogSoftmax
        return np.exp(out)
    z = out - out.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def run(args):
    from ..recipe.data import describe
    from ..recipe.run_dir import load_run
    cfg, model, _ = load_run(args.run)
    info = describe(cfg["data"])
    batches, names = [], []
    for path in args.inputs:
        if not os.path.isfile(path):
            raise ConfigError(f"{path!r}: no such file")
        if path.lower().endswith(".npy"):
            try:
                arr = np.load(path, allow_pickle=False)
            except ValueError as e:
                raise ConfigError(f"{path}: not a plain .npy array ({e})") from None
            x = prepare_inputs(arr, info, path)
            names += [f"{os.path.basename(path)}[{i}]" for i in range(len(x))] if len(x) > 1 else [os.path.basename(path)]
        else:
            raw, notes = _from_image(path, info)
            x = prepare_inputs(raw, info, path)
            names.append(os.path.basename(path))
            if not args.quiet:
                print("  " + notes[0])
        batches.append(x)
    x = np.concatenate(batches)
    with cr.no_grad():
        out = model(cr.tensor(x)).numpy()
    probs = _probabilities(out.astype(np.float64), cfg, info.binary)
    k = min(args.top, probs.shape[1])
    width = max(len(n) for n in names)
    for name, p in zip(names, probs):
        order = np.argsort(-p)[:k]
        best = order[0]
        others = "  ".join(f"{info.classes[j]} {100 * p[j]:.1f} %" for j in order[1:])
        print(f"{name:<{width}}  -> {info.classes[best]}  ({100 * p[best]:.1f} %)" + (f"   next: {others}" if others else ""))
    return 0


def register(subparsers):
    p = subparsers.add_parser("predict", help="classes and probabilities for new inputs (.npy or images)",
                              description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("run", metavar="RUN_DIR|CHECKPOINT", help="a run folder (or a .safetensors file in one)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help=".npy arrays or images (.png, .jpg, ...)")
    p.add_argument("--top", type=positive_int, default=3, help="how many classes to show per input")
    p.add_argument("--quiet", action="store_true", help="no notes on how images were converted")
    p.set_defaults(func=run)
