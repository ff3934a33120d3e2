"""How tensors print: PyTorch's options (``set_printoptions``) and its float format.

One format is chosen for the whole tensor from its nonzero finite values: integers as ``3.``, else
``precision`` decimals; scientific notation when their magnitudes span more than 1000x or leave
[1e-4, 1e8], unless ``sci_mode`` says otherwise. Long tensors are summarised past ``threshold`` elements.
"""
import sys

import numpy as np

__all__ = ["set_printoptions", "get_printoptions"]

_PROFILES = {"default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
             "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
             "full": dict(precision=4, threshold=sys.maxsize, edgeitems=3, linewidth=80)}


class _PrintOptions:
    def __init__(self):
        self.__dict__.update(_PROFILES["default"], sci_mode=None)


PRINT_OPTS = _PrintOptions()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None):
    """As ``torch.set_printoptions``: ``profile`` ('default', 'short', 'full') resets the four numeric
    options, then each one given overrides it; ``sci_mode`` True/False forces or forbids scientific
    notation, None (the default, set again by every call, as PyTorch) lets the values decide."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, got {profile!r}")
        PRINT_OPTS.__dict__.update(_PROFILES[profile])
    for name, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                        ("linewidth", linewidth)):
        if value is None:
            continue
        if name == "threshold" and value == float("inf"):
            value = sys.maxsize
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"set_printoptions: {name} must be a non-negative int, got {value!r}")
        setattr(PRINT_OPTS, name, int(value))
    if sci_mode not in (None, True, False):
        raise ValueError(f"set_printoptions: sci_mode must be True, False or None, got {sci_mode!r}")
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions():
    return dict(vars(PRINT_OPTS))


def array2string_options():
    """The summarising options for ``np.array2string`` (NumPy's global print options stay untouched)."""
    return dict(threshold=PRINT_OPTS.threshold, edgeitems=PRINT_OPTS.edgeitems, max_line_width=PRINT_OPTS.linewidth)


def with_suffixes(body, suffixes, prefix="tensor("):
    """``body, dtype=..., grad_fn=...``: each suffix goes on a new line when it would pass ``linewidth``."""
    last_line = len(body) - body.rfind("\n") + 1 if "\n" in body else len(prefix) + len(body) + 1
    for s in suffixes:
        if last_line + len(s) + 2 > PRINT_OPTS.linewidth:
            body += ",\n" + " " * len(prefix) + s
            last_line = len(prefix) + len(s)
        else:
            body += ", " + s
            last_line += len(s) + 2
    return body


def float_formatter(arr):
    """The one format for every element of a float array, right-aligned to the widest of them."""
    precision, sci_mode = PRINT_OPTS.precision, PRINT_OPTS.sci_mode
    vals = arr[np.isfinite(arr) & (arr != 0)].astype(np.float64).reshape(-1)
    if not vals.size:                       # zeros, inf, nan only: '0.' whatever sci_mode says (as PyTorch)
        return lambda v: f"{float(v):.0f}." if np.isfinite(v) else str(float(v))
    mags = np.abs(vals)
    hi, lo = mags.max(), mags.min()
    int_mode = bool(np.all(vals == np.ceil(vals)))
    sci = hi / lo > 1000 or hi > 1e8 or (not int_mode and lo < 1e-4)
    if sci_mode is not None:
        sci = sci_mode
    if sci:
        def fmt(v):
            return f"{v:.{precision}e}"
    elif int_mode:
        def fmt(v):
            return f"{v:.0f}." if np.isfinite(v) else f"{v:.0f}"
    else:
        def fmt(v):
            return f"{v:.{precision}f}"
    # the widest string comes from an extreme value; all of them when few (exact whatever the signs)
    widest = vals if vals.size <= 1000 else vals[[vals.argmax(), vals.argmin(), mags.argmax(), mags.argmin()]]
    width = max(len(fmt(v)) for v in widest.tolist())
    return lambda v: fmt(float(v)).rjust(width)
