"""Smith's learning-rate range test: sweep the learning rate exponentially over a few hundred batches,
watch the smoothed loss, stop when it diverges, and suggest a rate - then put everything back.

    result = cr.insight.lr_find(model, loss_fn, loader, start=1e-7, end=10)
    print(result)                  # the suggestions, each with the rule that produced it
    result.plot("lr_find.png")

Suggestion rules (each named in the result):

* ``steepest``: where the smoothed loss falls fastest per decade of learning rate (min of d loss / d log η,
  before the minimum);
* ``valley``: fastai's rule - the middle of the longest stretch where the loss keeps falling;
* ``min/10``: a tenth of the rate at the minimum smoothed loss (the rate at the minimum is already too big).

The model's parameters, buffers and gradients, the optimiser's state and hyper-parameters, the training
flag and chainrule's random state are restored bit for bit afterwards: the sweep leaves no trace.
"""
import copy
import math

import numpy as np

from ..optim import SGD
from ..random import get_rng_state, set_rng_state
from ..tensor import Tensor, _make

__all__ = ["lr_find", "LRFinderResult", "compare"]


class LRFinderResult:
    def __init__(self, lrs, losses, smoothed, suggestions, stopped_early):
        self.lrs, self.losses, self.smoothed = lrs, losses, smoothed
        self.suggestions = suggestions          # {rule: lr}
        self.stopped_early = stopped_early

    @property
    def suggestion(self):
        """The ``steepest`` rate (Smith's and fastai's classic rule), else ``valley``."""
        return self.suggestions.get("steepest") or self.suggestions.get("valley")

    def __str__(self):
        lines = [f"learning-rate range test: {len(self.lrs)} steps from {self.lrs[0]:.2g} to {self.lrs[-1]:.2g}"
                 + (" (stopped: the loss diverged)" if self.stopped_early else "")]
        for rule, lr in self.suggestions.items():
            lines.append(f"  {rule:9} {lr:.3g}   ({_RULES[rule]})")
        return "\n".join(lines)

    def plot(self, path, title="learning-rate range test"):
        from .plots import lr_curve              # the plotting code loads on first use
        return lr_curve(self, path, title)


_RULES = {"steepest": "steepest descent of the smoothed loss per decade of learning rate",
          "valley": "middle of the longest stretch where the loss keeps falling (fastai's valley)",
          "min/10": "a tenth of the rate at the lowest smoothed loss"}


def _snapshot(model, optimizer):
    tensors = list(model.parameters()) + [b for b in model.buffers() if b is not None]
    return {"data": [(t, t._data.copy()) for t in tensors],
            "grads": [(p, None if p.grad is None else p.grad._data.copy()) for p in model.parameters()],
            "state": {p: {k: (v, v._data.copy() if isinstance(v, Tensor) else copy.deepcopy(v))
                          for k, v in st.items()} for p, st in optimizer.state.items()},
            "groups": [{k: copy.deepcopy(v) for k, v in g.items() if k != "params"}
                       for g in optimizer.param_groups],
            "training": [(m, m.training) for m in model.modules()],
            "rng": get_rng_state()}


def _restore(model, optimizer, snap):
    for t, arr in snap["data"]:
        if t._data.shape == arr.shape and t._data.dtype == arr.dtype:
            np.copyto(t._data, arr)
        else:
            t._data = arr
    for p, g in snap["grads"]:
        p.grad = None if g is None else _make(g)
    # the optimiser is restored in place (same state tensors, same group dicts): a scheduler or anything
    # else holding on to them sees the old values again, not copies
    optimizer.state.clear()
    for p, st in snap["state"].items():
        for k, (obj, val) in st.items():
            if isinstance(obj, Tensor):
                if obj._data.shape == val.shape and obj._data.dtype == val.dtype:
                    np.copyto(obj._data, val)
                else:
                    obj._data = val
                optimizer.state[p][k] = obj
            else:
                optimizer.state[p][k] = val
    for g, saved in zip(optimizer.param_groups, snap["groups"]):
        for k in [k for k in g if k != "params"]:
            del g[k]
        g.update(saved)
    for m, flag in snap["training"]:
        m.training = flag
    set_rng_state(snap["rng"])


def _batches(loader):
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ValueError("lr_find: the loader yielded no batch")


def lr_find(model, loss_fn, loader, optimizer=None, start=1e-7, end=10.0, steps=100, beta=0.98,
            diverge=4.0):
    """Run the range test; returns an ``LRFinderResult`` (``.suggestions``, ``.plot(path)``).

    ``loader`` yields ``(inputs, targets)`` (it is cycled if shorter than ``steps``); ``optimizer``
    defaults to plain SGD; ``beta``: loss smoothing (EMA, bias-corrected); ``diverge``: stop once the
    smoothed loss exceeds this multiple of its minimum."""
    if not (0 < start < end):
        raise ValueError(f"lr_find: need 0 < start < end, got start={start!r}, end={end!r}")
    if not isinstance(steps, int) or steps < 5:
        raise ValueError(f"lr_find: steps must be an int ≥ 5 (the sweep needs points), got {steps!r}")
    if not 0 <= beta < 1:
        raise ValueError(f"lr_find: beta (loss smoothing) must be in [0, 1), got {beta!r}")
    if optimizer is None:
        optimizer = SGD(model.parameters(), lr=start)
    snap = _snapshot(model, optimizer)
    lrs, losses, smoothed = [], [], []
    stopped = False
    avg, best = 0.0, math.inf
    try:
        model.train()
        batches = _batches(loader)
        for i in range(steps):
            lr = start * (end / start) ** (i / (steps - 1))
            for g in optimizer.param_groups:
                g["lr"] = lr
            x, y = next(batches)
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            v = float(loss.item())
            if not math.isfinite(v):
                stopped = True
                break
            avg = beta * avg + (1 - beta) * v
            s = avg / (1 - beta ** (i + 1))
            lrs.append(lr)
            losses.append(v)
            smoothed.append(s)
            best = min(best, s)
            if i > 0 and s > diverge * best:
                stopped = True
                break
            optimizer.step()
    finally:
        _restore(model, optimizer, snap)
    if len(lrs) < 3:
        raise RuntimeError(f"lr_find: the loss diverged after {len(lrs)} steps; lower start (now {start:g})")
    return LRFinderResult(lrs, losses, smoothed, _suggest(np.array(lrs), np.array(smoothed)), stopped)


def _suggest(lrs, s):
    out = {}
    i_min = int(np.argmin(s))
    if i_min >= 2:
        slope = np.gradient(s[:i_min + 1], np.log10(lrs[:i_min + 1]))
        out["steepest"] = float(lrs[int(np.argmin(slope))])
    # fastai's valley: the longest decreasing subsequence, then a point ~half-way down it
    n = len(s)
    lds = [1] * n
    max_start = max_end = 0
    for i in range(1, n):
        for j in range(i):
            if s[i] < s[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
        if lds[max_end] < lds[i]:
            max_end = i
            max_start = max_end - lds[max_end]
    section = (max_end - max_start) / 3
    if max_end > max_start:
        out["valley"] = float(lrs[max_start + int(section) + int(section / 2)])
    out["min/10"] = float(lrs[i_min] / 10)
    return out


def compare(lr_result, sharp):
    """One line each: what the range test suggests, what the curvature allows, and what to expect."""
    lr = lr_result.suggestion
    bound = sharp.lr_bound
    rule = "steepest" if "steepest" in lr_result.suggestions else "valley"
    lines = [f"lr_find suggests {lr:.3g} ({rule} rule)",
             f"curvature at these weights: λ_max = {sharp.lambda_max:.4g}, stable step η < "
             f"{'2(1+β)' if sharp.momentum else '2'}/λ_max = {bound:.3g} (local quadratic bound)"]
    if lr > bound:
        lines.append(f"{lr:.3g} is {lr / bound:.3g}× the bound: expect oscillation or a loss spike at first "
                     f"(sharpness usually falls as training moves; warm-up helps)")
    else:
        lines.append(f"{lr:.3g} is within the bound ({lr / bound:.2g}× of it): the first steps should be stable")
    return "\n".join(lines)
