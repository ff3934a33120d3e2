"""Small generated datasets, seeded, each returned as a ``TensorDataset`` (``X, y = ds.tensors`` gives the
tensors; ``DataLoader(ds, ...)`` batches it).

    linear_1d()              x = 1..10, y = 2x                               X (10, 1), y (10, 1)   float
    linear_noise(n, seed)    x ~ N(0, 1), y = 2x + 1 + noise * N(0, 1)       X (n, 1),  y (n, 1)    float
    xor()                    the four XOR points                             X (4, 2),  y (4, 1)    float
    moons(n, noise, seed)    two interleaving half circles (sklearn make_moons)     X (n, 2) float, y (n,) int64
    blobs(n, ..., seed)      Gaussian clusters (sklearn make_blobs)         X (n, f) float, y (n,) int64
    two_spirals(n, ..., seed)  two interleaved spirals                      X (n, 2) float, y (n,) int64

Regression targets are float columns (n, 1) (ready for ``MSELoss`` against an (n, 1) output);
classification labels are int64 (n,) (ready for ``CrossEntropyLoss``). Floats use the default dtype
(``dtype=`` overrides). ``seed``: an int gives the same data every time; None draws one from chainrule's
global generator (so ``chainrule.manual_seed`` makes it reproducible too). ``random_state`` is accepted as
sklearn's name for ``seed``.
"""
import math

import numpy as np

from .. import dtypes as _dt
from ..random import default_generator
from ..tensor import _make
from ..utils.data.dataset import TensorDataset

__all__ = ["linear_1d", "linear_noise", "xor", "moons", "blobs", "two_spirals"]


def _rng(seed, random_state=None):
    if seed is None:
        seed = random_state
    if seed is None:
        seed = int(default_generator()._np.integers(2 ** 63))
    return np.random.default_rng(seed)


def _float(dtype):
    d = _dt.get_default_dtype() if dtype is None else _dt.as_dtype(dtype)
    if d.np.kind != "f":
        raise TypeError(f"synthetic datasets: dtype must be a floating dtype, got {d}")
    return d.np


def _dataset(X, y, dtype, classification):
    X = np.ascontiguousarray(X, dtype=_float(dtype))
    y = np.ascontiguousarray(y, dtype=np.int64 if classification else _float(dtype))
    return TensorDataset(_make(X), _make(y))


def _check_n(n, name="n_samples", minimum=1):
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {n!r}")
    return int(n)


def linear_1d(dtype=None):
    """y = 2x at x = 1, 2, ..., 10 (the classic first regression example)."""
    x = np.arange(1, 11, dtype=np.float64).reshape(10, 1)
    return _dataset(x, 2 * x, dtype, False)


def linear_noise(n=100, seed=0, noise=1.0, dtype=None):
    """x ~ N(0, 1), y = 2x + 1 + noise * N(0, 1): a line to recover (slope 2, intercept 1) through noise."""
    n = _check_n(n, "n")
    rng = _rng(seed)
    x = rng.standard_normal((n, 1))
    y = 2 * x + 1 + noise * rng.standard_normal((n, 1))
    return _dataset(x, y, dtype, False)


def xor(dtype=None):
    """The four points of XOR: inputs (0,0), (0,1), (1,0), (1,1); targets 0, 1, 1, 0 (as floats, (4, 1))."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([[0], [1], [1], [0]], dtype=np.float64)
    return _dataset(X, y, dtype, False)


def moons(n_samples=100, noise=None, seed=None, shuffle=True, *, random_state=None, dtype=None):
    """Two interleaving half circles (sklearn's ``make_moons``): the upper one label 0, the lower 1.

    ``n_samples``: an int (split as n // 2 outer, the rest inner) or a pair (outer, inner); ``noise``: std of
    Gaussian noise added to the points."""
    if isinstance(n_samples, (tuple, list)):
        if len(n_samples) != 2:
            raise ValueError(f"moons: n_samples as a sequence must be a pair (outer, inner), got {n_samples!r}")
        n_out, n_in = (_check_n(n, "n_samples", 0) for n in n_samples)
    else:
        n = _check_n(n_samples, minimum=0)
        n_out = n // 2
        n_in = n - n_out
    rng = _rng(seed, random_state)
    a_out, a_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.vstack([np.append(np.cos(a_out), 1 - np.cos(a_in)),
                   np.append(np.sin(a_out), 1 - np.sin(a_in) - 0.5)]).T
    y = np.hstack([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    if shuffle:
        p = rng.permutation(len(y))
        X, y = X[p], y[p]
    if noise is not None:
        X = X + rng.normal(scale=noise, size=X.shape)
    return _dataset(X, y, dtype, True)


def blobs(n_samples=100, n_features=2, centers=None, cluster_std=1.0, center_box=(-10.0, 10.0), shuffle=True,
          seed=None, *, random_state=None, dtype=None):
    """Isotropic Gaussian clusters (sklearn's ``make_blobs``); label = cluster index.

    ``n_samples``: total (split evenly, the remainder to the first clusters) or one count per cluster;
    ``centers``: a number of clusters (default 3, drawn uniformly in ``center_box``) or their coordinates
    (n_centers, n_features); ``cluster_std``: one std or one per cluster."""
    rng = _rng(seed, random_state)
    if isinstance(n_samples, (int, np.integer)) and not isinstance(n_samples, bool):
        n = _check_n(n_samples, minimum=0)
        if centers is None:
            centers = 3
        if isinstance(centers, (int, np.integer)):
            k = _check_n(centers, "centers")
            n_features = _check_n(n_features, "n_features")
            centers = rng.uniform(center_box[0], center_box[1], size=(k, n_features))
        else:
            centers = np.atleast_2d(np.asarray(centers, dtype=np.float64))
            k, n_features = centers.shape
        counts = [n // k + (1 if i < n % k else 0) for i in range(k)]
    else:
        counts = [_check_n(c, "n_samples[i]", 0) for c in n_samples]
        k = len(counts)
        if centers is None:
            n_features = _check_n(n_features, "n_features")
            centers = rng.uniform(center_box[0], center_box[1], size=(k, n_features))
        else:
            centers = np.atleast_2d(np.asarray(centers, dtype=np.float64))
            if centers.shape[0] != k:
                raise ValueError(f"blobs: {k} sample counts but {centers.shape[0]} centers; give one count per "
                                 f"center")
            n_features = centers.shape[1]
    stds = np.broadcast_to(np.asarray(cluster_std, dtype=np.float64), (k,))
    X = np.concatenate([rng.normal(loc=c, scale=s, size=(m, n_features)) for c, s, m in zip(centers, stds, counts)]
                       ) if k else np.zeros((0, n_features))
    y = np.repeat(np.arange(k, dtype=np.int64), counts)
    if shuffle:
        p = rng.permutation(len(y))
        X, y = X[p], y[p]
    return _dataset(X, y, dtype, True)


def two_spirals(n_samples=200, noise=0.0, turns=1.5, seed=None, shuffle=True, *, random_state=None, dtype=None):
    """Two interleaved spirals (the classic hard case for a linear model): class k is the points
    ``r (cos(a + k pi), sin(a + k pi))`` with ``a = 2 pi turns t``, ``r = 0.05 + 0.95 t`` for t evenly spaced in
    [0, 1]; plus Gaussian ``noise``. ``n_samples`` is split as n // 2 for class 0, the rest class 1."""
    n = _check_n(n_samples, minimum=0)
    rng = _rng(seed, random_state)
    parts, labels = [], []
    for k, m in enumerate((n // 2, n - n // 2)):
        t = np.linspace(0.0, 1.0, m)
        r = 0.05 + 0.95 * t
        a = 2 * math.pi * turns * t + k * math.pi
        parts.append(np.stack([r * np.cos(a), r * np.sin(a)], axis=1))
        labels.append(np.full(m, k, dtype=np.int64))
    X, y = np.concatenate(parts), np.concatenate(labels)
    if shuffle:
        p = rng.permutation(len(y))
        X, y = X[p], y[p]
    if noise:
        X = X + rng.normal(scale=noise, size=X.shape)
    return _dataset(X, y, dtype, True)
