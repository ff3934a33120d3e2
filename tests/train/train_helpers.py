"""Small generated data and models for the training-loop tests."""
import numpy as np

import chainrule as cr
from chainrule import nn


def blobs(n=64, d=5, classes=3, seed=0):
    """Linearly separable-ish Gaussian blobs: float32 features, int64 labels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, size=n)
    centers = rng.normal(scale=3.0, size=(classes, d))
    x = (centers[y] + rng.normal(size=(n, d))).astype(np.float32)
    return x, y.astype(np.int64)


def mlp(d=5, classes=3, hidden=16, seed=0, dropout=0.0):
    cr.manual_seed(seed)
    layers = [nn.Linear(d, hidden), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(hidden, classes))
    return nn.Sequential(*layers)


def weights(model):
    return {k: v._data.copy() for k, v in model.state_dict().items()}


