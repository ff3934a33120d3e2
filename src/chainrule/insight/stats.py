"""The numbers the monitor records, as plain functions of NumPy arrays (hand-checkable in tests).

Parameter statistics (per parameter, on sampled steps)::

    grad_norm   ‖g‖₂                     mean_abs   mean |g|            max_abs   max |g|
    zero_frac   fraction of g exactly 0  weight_norm ‖w‖₂
    init_dist   ‖w − w₀‖₂ / ‖w₀‖₂  (distance from the weights the monitor first saw)
    update_ratio ‖Δw‖₂ / ‖w‖₂  (one optimiser step; ~1e-3 is the usual healthy order)

Activation statistics (per activation module, forward hook)::

    mean, std   of the outputs
    dead        per unit (feature / channel): True while the unit was never positive - over a window of
                sampled batches it marks a dead ReLU (its gradient is exactly zero)
    saturated   fraction of outputs within 1 % of a sigmoid/tanh's bounds (its derivative is ~0 there)
"""
import numpy as np

__all__ = ["grad_stats", "update_ratio", "activation_stats", "active_units", "saturated_fraction",
           "output_grad_rms", "GRAD_BINS", "log_abs_histogram"]

# Histogram bins for log10|g| (and |activation| for unbounded ones): 1e-12 .. 1e2, zeros counted apart.
GRAD_BINS = np.linspace(-12, 2, 57)


def _norm(a):
    a = a.reshape(-1)
    return float(np.sqrt(np.dot(a, a))) if a.dtype.kind == "f" else float(np.linalg.norm(a))


def grad_stats(g, w, w0=None):
    """Statistics of one parameter: gradient ``g`` and weight ``w`` (arrays), ``w0`` its initial value."""
    a = np.abs(g)
    out = {"grad_norm": _norm(g), "mean_abs": float(a.mean()) if a.size else 0.0,
           "max_abs": float(a.max()) if a.size else 0.0,
           "zero_frac": float(np.count_nonzero(g == 0) / g.size) if g.size else 0.0,
           "weight_norm": _norm(w)}
    if w0 is not None:
        n0 = _norm(w0)
        out["init_dist"] = _norm(w - w0) / n0 if n0 > 0 else float("nan")
    return out


def update_ratio(w_before, w_after):
    """‖w_after − w_before‖ / ‖w_before‖ (nan for an all-zero weight: the ratio means nothing there)."""
    n = _norm(w_before)
    return _norm(w_after - w_before) / n if n > 0 else float("nan")


def _unit_axes(a):
    """Axes to reduce over to get one value per unit: all but the feature/channel axis (1) of a batch."""
    return tuple(i for i in range(a.ndim) if i != 1) if a.ndim >= 2 else ()


def active_units(a):
    """Boolean per unit: positive somewhere in this batch (channels for conv maps, features for vectors)."""
    axes = _unit_axes(a)
    return (a > 0).any(axis=axes) if axes else (a > 0)


def saturated_fraction(a, bounds, tol=0.01):
    """Fraction of outputs within ``tol`` (relative to the range) of either bound."""
    lo, hi = bounds
    eps = tol * (hi - lo)
    return float(np.count_nonzero((a <= lo + eps) | (a >= hi - eps)) / a.size) if a.size else 0.0


def activation_stats(a, bounds=None, relu_like=False):
    """mean, std (and saturated fraction for a bounded activation; per-batch dead fraction for a ReLU)."""
    out = {"mean": float(a.mean()), "std": float(a.std())}
    if bounds is not None:
        out["saturated"] = saturated_fraction(a, bounds)
    if relu_like:
        out["dead_batch"] = float(1.0 - active_units(a).mean())
    return out


def output_grad_rms(g):
    """Root-mean-square of the gradient w.r.t. a layer's output: width-independent, so layers compare."""
    return float(_norm(g) / np.sqrt(g.size)) if g.size else 0.0


def log_abs_histogram(a, bins=GRAD_BINS):
    """Counts of log10|a| over ``bins`` (values below the first bin, zeros included, go in the first)."""
    a = np.abs(a.reshape(-1)).astype(np.float64)
    with np.errstate(divide="ignore"):
        la = np.log10(a)
    la = np.clip(la, bins[0], bins[-1])
    return np.histogram(la, bins=bins)[0]
