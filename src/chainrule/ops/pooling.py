"""Pooling and resampling: max / average pooling, adaptive average pooling, interpolate.

All of them move whole slabs at once - never a Python loop over pixels:

* max / avg pooling loop over the kh·kw kernel offsets; offset (i, j) reads one strided slab
  xpad[..., i·dh :: sh, j·dw :: sw] holding that offset of every window (the same slabs as conv's col2im).
    max:  y = max_k slab_k.  The first maximal offset of each window is kept as a boolean mask per offset
          (torch's argmax, ties to the first, a NaN wins); backward scatters g onto those positions.
    avg:  y = Σ_k slab_k / divisor;  backward adds g/divisor back onto every slab (its adjoint).
  Each op's backward is its adjoint op, whose backward is the op again, so create_graph works.
* adaptive average pooling and interpolate are separable: one axis at a time, a gather of whole
  rows/columns (``take`` along the axis) and a weighted sum. The gather's backward is a scatter-add along
  the axis (``np.add.reduceat`` over the sorted positions), and vice versa.
"""
import math
from functools import lru_cache

import numpy as np

from .. import _parallel
from ..autograd.function import Op
from ..autograd.grad_mode import STATE
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, _make
from .conv import ConvGeometry, _tuple, crop_padding, offset_slices, pad_input
from .shape import pad as _pad

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
           "interpolate"]


# ------------------------------------------------------------------------------------------ max pooling
def _first_max_masks(xp, m, slices):
    """masks[k] = offset k holds the maximum of its window, and no earlier offset does (ties -> first)."""
    masks = np.empty((len(slices),) + m.shape, dtype=bool)
    np.equal(xp[slices[0]], m, out=masks[0])
    taken = masks[0].copy()
    for k in range(1, len(slices)):
        hit = np.equal(xp[slices[k]], m, out=masks[k])
        np.greater(hit, taken, out=hit)                  # hit & ~taken, in one ufunc on bools
        if k < len(slices) - 1:
            taken |= hit
    nan_windows = np.isnan(m)
    if nan_windows.any():                                # torch: the last NaN of the window is its argmax
        masks[:, nan_windows] = False
        taken = ~nan_windows
        for k in range(len(slices) - 1, -1, -1):
            hit = np.isnan(xp[slices[k]]) & ~taken
            masks[k] |= hit
            taken |= hit
    return masks


def _overlapping(geo):
    (kh, kw), (sh, sw), _, (dh, dw), _, _, _ = geo
    return sh < dh * (kh - 1) + 1 or sw < dw * (kw - 1) + 1


class MaxPool2d(Op):
    """y = max over each window;   dL/dx = g placed at each window's (first) maximum"""
    __slots__ = ("geo", "masks")

    @staticmethod
    def forward(ctx, x, geo, keep_masks):
        xp = pad_input(x, geo, -np.inf)
        slices = offset_slices(geo)
        m = xp[slices[0]].copy() if len(slices) == 1 else np.maximum(xp[slices[0]], xp[slices[1]])
        for sl in slices[2:]:
            _parallel.ufunc(np.maximum, m, xp[sl], out=m)  # NaN propagates, as in torch
        ctx.geo = geo
        ctx.masks = _first_max_masks(xp, m, slices) if keep_masks else None
        return m

    @staticmethod
    def backward(ctx, g):
        return (MaxPoolScatter.apply(g, geo=ctx.geo, masks=ctx.masks),)


class MaxPoolScatter(Op):
    """z = zeros(input shape), each window's max position += g  (max pooling's backward);
    dL/dg = gz gathered at those positions"""
    __slots__ = ("geo", "masks")

    @staticmethod
    def forward(ctx, g, geo, masks):
        ctx.geo, ctx.masks = geo, masks
        out = np.zeros(g.shape[:-2] + geo.padded_hw, dtype=g.dtype)
        overlap = _overlapping(geo)
        finite = np.isfinite(g).all()                    # g·mask would turn inf·0 into NaN off the max
        for k, sl in enumerate(offset_slices(geo)):
            if not finite:
                out[sl] += np.where(masks[k], g, 0)
            elif overlap:
                out[sl] += g * masks[k]
            else:                                        # disjoint windows: write, don't accumulate
                np.multiply(g, masks[k], out=out[sl])
        return crop_padding(out, geo)

    @staticmethod
    def backward(ctx, gz):
        return (MaxPoolGather.apply(gz, geo=ctx.geo, masks=ctx.masks),)


class MaxPoolGather(Op):
    """y = x read at each window's recorded max position (the adjoint of MaxPoolScatter)"""
    __slots__ = ("geo", "masks")

    @staticmethod
    def forward(ctx, x, geo, masks):
        ctx.geo, ctx.masks = geo, masks
        xp = pad_input(x, geo)
        out = np.zeros(masks.shape[1:], dtype=x.dtype)
        for k, sl in enumerate(offset_slices(geo)):
            np.copyto(out, xp[sl], where=masks[k])       # exactly one offset per window
        return out

    @staticmethod
    def backward(ctx, g):
        return (MaxPoolScatter.apply(g, geo=ctx.geo, masks=ctx.masks),)


# ------------------------------------------------------------------------------------------ avg pooling
class AvgPool2d(Op):
    """y = Σ_window x / divisor;   dL/dx = g / divisor added back onto every window position"""
    __slots__ = ("geo", "divisor")

    @staticmethod
    def forward(ctx, x, geo, divisor):
        ctx.geo, ctx.divisor = geo, divisor
        xp = pad_input(x, geo)
        slices = offset_slices(geo)
        acc = xp[slices[0]].copy()
        for sl in slices[1:]:
            acc += xp[sl]
        acc /= divisor
        return acc

    @staticmethod
    def backward(ctx, g):
        return (AvgPoolAdj.apply(g, geo=ctx.geo, divisor=ctx.divisor),)


class AvgPoolAdj(Op):
    """z = the adjoint of average pooling: g / divisor added onto each window;   dL/dg = avg_pool(gz)"""
    __slots__ = ("geo", "divisor")

    @staticmethod
    def forward(ctx, g, geo, divisor):
        ctx.geo, ctx.divisor = geo, divisor
        q = g / divisor
        out = np.zeros(g.shape[:-2] + geo.padded_hw, dtype=g.dtype)
        for sl in offset_slices(geo):
            out[sl] += q
        return crop_padding(out, geo)

    @staticmethod
    def backward(ctx, gz):
        return (AvgPool2d.apply(gz, geo=ctx.geo, divisor=ctx.divisor),)


# ------------------------------------------------------------------------------------------ geometry
def _pool_out(n, k, s, p, d, ceil_mode):
    """torch's pooling_output_shape: floor or ceil of (n + 2p - d(k-1) - 1)/s + 1, and with ceil_mode the
    last window must start inside the input or its left padding."""
    num = n + 2 * p - d * (k - 1) - 1
    o = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o


def _pool_setup(op, nd, x, kernel_size, stride, padding, dilation, ceil_mode):
    """Checks and the window geometry of a 1-D/2-D pooling; returns (x as 4-D, geo, undo)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x._data.ndim not in (nd + 1, nd + 2):
        sp = "L" if nd == 1 else "H, W"
        raise ShapeError(f"{op}: expected a {nd + 1}-D (C, {sp}) or {nd + 2}-D (N, C, {sp}) input, got shape "
                         f"{tuple(x.shape)}")
    if x._data.dtype.kind != "f":
        raise DTypeError(f"{op}: input must be a floating-point tensor, got {x.dtype}. Fix: x.float()")
    k = _tuple(kernel_size, nd, "kernel_size", op, 1)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else \
        _tuple(stride, nd, "stride", op, 1)
    p = _tuple(padding, nd, "padding", op, 0)
    d = _tuple(dilation, nd, "dilation", op, 1)
    for k_, p_ in zip(k, p):
        if p_ > k_ // 2:
            raise ValueError(f"{op}: padding should be at most half of the kernel size, but got padding={padding}"
                             f" with kernel_size={kernel_size}")
    orig = tuple(x.shape)
    x4 = x.unsqueeze(0) if x._data.ndim == nd + 1 else x
    if nd == 1:
        x4 = x4.unsqueeze(2)
        k, s, p, d = (1,) + k, (1,) + s, (0,) + p, (1,) + d
    h, w = x4._data.shape[2:]
    ho = _pool_out(h, k[0], s[0], p[0], d[0], ceil_mode)
    wo = _pool_out(w, k[1], s[1], p[1], d[1], ceil_mode)
    if ho < 1 or wo < 1:
        out = (wo,) if nd == 1 else (ho, wo)
        raise ShapeError(f"{op}: input of shape {orig} is too small for kernel_size={kernel_size}, "
                         f"padding={padding}, dilation={dilation}: the output size would be {out}")
    # bottom/right padding: at least p, more when ceil_mode lets the last window run past it
    pb = max(p[0], (ho - 1) * s[0] + d[0] * (k[0] - 1) + 1 - h - p[0])
    pr = max(p[1], (wo - 1) * s[1] + d[1] * (k[1] - 1) + 1 - w - p[1])
    geo = ConvGeometry(k, s, (p[0], pb, p[1], pr), d, 1, (h, w), (ho, wo))

    def undo(y):
        if nd == 1:
            y = y.squeeze(2)
        return y.squeeze(0) if len(orig) == nd + 1 else y
    return x4, geo, undo


def _max_pool(op, nd, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x4, geo, undo = _pool_setup(op, nd, x, kernel_size, stride, padding, dilation, ceil_mode)
    keep = return_indices or (STATE.grad_enabled and x._requires_grad)
    y = MaxPool2d.apply(x4, geo=geo, keep_masks=keep)
    if not return_indices:
        return undo(y)
    masks = y.grad_fn.masks if y.grad_fn is not None else _recompute_masks(x4, geo, y)
    return undo(y), undo(_make(_flat_indices(masks, geo)))


def _recompute_masks(x4, geo, y):
    return _first_max_masks(pad_input(x4._data, geo, -np.inf), y._data, offset_slices(geo))


def _flat_indices(masks, geo):
    """torch's return_indices: the argmax as a flat index into each (H, W) plane of the unpadded input."""
    (ho, wo), (sh, sw), (pt, _, pl, _), (dh, dw), (_, w) = geo.out_hw, geo.stride, geo.pad, geo.dilation, geo.in_hw
    rows = np.arange(ho)[:, None] * sh - pt
    cols = np.arange(wo)[None, :] * sw - pl
    idx = np.zeros(masks.shape[1:], dtype=np.int64)
    kw = geo.kernel[1]
    for k in range(masks.shape[0]):
        i, j = divmod(k, kw)
        idx += masks[k] * ((rows + i * dh) * w + cols + j * dw)
    return idx


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over kh×kw windows of input (N, C, H, W) or (C, H, W); stride defaults to kernel_size;
    padding is -inf (at most half the kernel)."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over windows of length k of input (N, C, L) or (C, L)."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _avg_divisor(geo, count_include_pad, divisor_override, dtype):
    """torch's divisor per output position, separable into rows × cols: the window clipped to the padded
    input (count_include_pad) or to the input itself."""
    if divisor_override:
        return dtype.type(divisor_override)
    parts = []
    for n, k, s, p, o in zip(geo.in_hw, geo.kernel, geo.stride, (geo.pad[0], geo.pad[2]), geo.out_hw):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        size = end - start
        if not count_include_pad:
            size = np.minimum(end, n) - np.maximum(start, 0)
        parts.append(size)
    div = parts[0][:, None] * parts[1][None, :]
    if (div == div.flat[0]).all():
        return dtype.type(div.flat[0])
    return div.astype(dtype)


def _avg_pool(op, nd, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    x4, geo, undo = _pool_setup(op, nd, x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise ValueError(f"{op}: divisor_override must not be zero")
    div = _avg_divisor(geo, count_include_pad, divisor_override, x4._data.dtype)
    return undo(AvgPool2d.apply(x4, geo=geo, divisor=div))


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over kh×kw windows of input (N, C, H, W) or (C, H, W); zero padding counted in the mean
    unless count_include_pad=False."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over windows of length k of input (N, C, L) or (C, L)."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


# ------------------------------------------------------------------------------------------ gather along an axis
class TakeAxis(Op):
    """y = x.take(idx, axis) (whole rows/columns);   dL/dx = g scatter-added back along the axis"""
    __slots__ = ("plan",)

    @staticmethod
    def forward(ctx, x, plan):
        ctx.plan = plan
        return np.take(x, plan.idx, axis=plan.axis)

    @staticmethod
    def backward(ctx, g):
        return (PutAddAxis.apply(g, plan=ctx.plan),)


class PutAddAxis(Op):
    """y = zeros(n along axis); y[idx] += g along the axis;   dL/dg = gy.take(idx, axis)"""
    __slots__ = ("plan",)

    @staticmethod
    def forward(ctx, g, plan):
        ctx.plan = plan
        axis = plan.axis
        src = g if plan.order is None else np.take(g, plan.order, axis=axis)
        sums = np.add.reduceat(src, plan.starts, axis=axis)      # runs of equal (sorted) positions
        shape = list(g.shape)
        shape[axis] = plan.n
        out = np.zeros(shape, dtype=g.dtype)
        key = (slice(None),) * (axis % g.ndim) + (plan.targets,)
        out[key] = sums
        return out

    @staticmethod
    def backward(ctx, gy):
        return (TakeAxis.apply(gy, plan=ctx.plan),)


class _AxisPlan:
    """A gather of positions ``idx`` along ``axis`` of a dim of size ``n``, with what its scatter-add
    adjoint needs precomputed: the sorting order (None when already sorted) and the run starts."""
    __slots__ = ("idx", "axis", "n", "order", "starts", "targets")

    def __init__(self, idx, axis, n):
        self.idx, self.axis, self.n = idx, axis, n
        if len(idx) > 1 and (np.diff(idx) < 0).any():
            self.order = np.argsort(idx, kind="stable")
            s = idx[self.order]
        else:
            self.order, s = None, idx
        self.targets, self.starts = np.unique(s, return_index=True)

    def __repr__(self):
        return f"take(axis={self.axis}, {len(self.idx)} of {self.n})"


@lru_cache(maxsize=256)
def _plan(idx_bytes, axis, n):
    return _AxisPlan(np.frombuffer(idx_bytes, dtype=np.int64), axis, n)


def take_axis(x, idx, axis):
    idx = np.ascontiguousarray(idx, dtype=np.int64)
    return TakeAxis.apply(x, plan=_plan(idx.tobytes(), axis, x._data.shape[axis]))


# ------------------------------------------------------------------------------------------ adaptive pooling
def _adaptive_axis(x, axis, o):
    """Mean over the adaptive windows [floor(i·n/o), ceil((i+1)·n/o)) along one axis."""
    n = x._data.shape[axis]
    if n % o == 0:                                   # regular windows
        return None
    i = np.arange(o)
    start = (i * n) // o
    end = -((-(i + 1) * n) // o)
    length = end - start
    # x with a zero appended along the axis: window slot t of output i reads start+t, or the zero (index n)
    # once the window is exhausted - so summing slot by slot adds exact zeros, never 0·inf.
    widths = [0, 0] * (x._data.ndim - 1 - axis % x._data.ndim) + [0, 1]
    xz = _pad(x, widths)
    total = None
    for t in range(int(length.max())):
        idx = np.where(t < length, start + t, n)
        part = take_axis(xz, idx, axis)
        total = part if total is None else total + part
    shape = [1] * x._data.ndim
    shape[axis] = o
    return total / _make(length.astype(x._data.dtype).reshape(shape))


def _adaptive_sizes(op, nd, x, output_size):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x._data.ndim not in (nd + 1, nd + 2):
        sp = "L" if nd == 1 else "H, W"
        raise ShapeError(f"{op}: expected a {nd + 1}-D (C, {sp}) or {nd + 2}-D (N, C, {sp}) input, got shape "
                         f"{tuple(x.shape)}")
    if x._data.dtype.kind != "f":
        raise DTypeError(f"{op}: input must be a floating-point tensor, got {x.dtype}. Fix: x.float()")
    spatial = x._data.shape[-nd:]
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size,) * nd
    output_size = tuple(output_size)
    if len(output_size) != nd:
        raise ValueError(f"{op}: output_size must be an int or a tuple of {nd}, got {output_size!r}")
    out = tuple(s if o is None else int(o) for o, s in zip(output_size, spatial))
    if any(o < 1 for o in out) or any(s < 1 for s in spatial):
        raise ShapeError(f"{op}: output_size {output_size} must be positive and the input's spatial dims non-empty"
                         f" (input shape {tuple(x.shape)})")
    return out, spatial


def adaptive_avg_pool2d(input, output_size):
    """Mean over adaptive windows so that the output is (..., oh, ow): output row i averages input rows
    floor(i·H/oh) .. ceil((i+1)·H/oh) - 1 (columns alike). ``None`` keeps that input size."""
    (oh, ow), (h, w) = _adaptive_sizes("adaptive_avg_pool2d", 2, input, output_size)
    if h % oh == 0 and w % ow == 0:                  # regular windows: an exact average pooling
        return avg_pool2d(input, (h // oh, w // ow))
    y = input
    for axis, (n, o) in ((-1, (w, ow)), (-2, (h, oh))):
        if n % o == 0:
            if n != o:
                k = (1, n // o) if axis == -1 else (n // o, 1)
                y = avg_pool2d(y, k)
        else:
            y = _adaptive_axis(y, axis, o)
    return y


def adaptive_avg_pool1d(input, output_size):
    """Mean over adaptive windows of input (N, C, L) or (C, L) so that the output length is output_size."""
    (o,), (n,) = _adaptive_sizes("adaptive_avg_pool1d", 1, input, output_size)
    if n % o == 0:
        return avg_pool1d(input, n // o)
    return _adaptive_axis(input, -1, o)


# ------------------------------------------------------------------------------------------ interpolate
_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _nearest_index(n_in, n_out, scale, exact):
    """torch's nearest_idx / nearest_neighbor_exact: source index per output index, in float32 as torch."""
    i = np.arange(n_out)
    if not exact:
        if n_out == n_in:
            return i
        if n_out == 2 * n_in:
            return i >> 1
    s = np.float32(1.0 / scale) if scale is not None else np.float32(n_in) / np.float32(n_out)
    src = (i.astype(np.float32) + np.float32(0.5 if exact else 0)) * s
    return np.minimum(np.floor(src).astype(np.int64), n_in - 1)


def _linear_weights(n_in, n_out, scale, align_corners, dtype):
    """torch's area_pixel_compute_source_index + guard_index_and_lambda: (i0, i1, λ0, λ1) per output."""
    i = np.arange(n_out, dtype=dtype)
    if align_corners:
        s = dtype.type((n_in - 1) / (n_out - 1)) if n_out > 1 else dtype.type(0)
        src = s * i
    else:
        s = dtype.type(1.0 / scale) if scale is not None else dtype.type(n_in) / dtype.type(n_out)
        src = np.maximum(s * (i + dtype.type(0.5)) - dtype.type(0.5), 0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    lam1 = np.clip(src - i0, 0, 1).astype(dtype)
    i1 = i0 + (i0 < n_in - 1)
    return i0, i1, (1 - lam1).astype(dtype), lam1


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of (N, C, *spatial) as torch's F.interpolate: modes 'nearest',
    'nearest-exact', 'linear' (3-D), 'bilinear' (4-D), 'trilinear' (5-D); ``size`` or ``scale_factor``."""
    op = "interpolate"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    nd = input._data.ndim - 2
    if nd < 1:
        raise ShapeError(f"{op}: expected an input of shape (N, C, *spatial) with 1 to 3 spatial dims, got "
                         f"shape {tuple(input.shape)}")
    if mode not in ("nearest", "nearest-exact") and mode not in _LINEAR:
        raise NotImplementedError(f"{op}: mode {mode!r} is not supported; use 'nearest', 'nearest-exact', "
                                  f"'linear', 'bilinear' or 'trilinear'")
    if mode in _LINEAR and _LINEAR[mode] != nd:
        raise ShapeError(f"{op}: mode {mode!r} needs a {_LINEAR[mode] + 2}-D input, got shape {tuple(input.shape)}")
    if mode not in _LINEAR and align_corners is not None:
        raise ValueError(f"{op}: align_corners option can only be set with the interpolating modes: "
                         f"linear | bilinear | trilinear")
    if antialias:
        raise NotImplementedError(f"{op}: antialias=True is not supported")
    if input._data.dtype.kind != "f":
        raise DTypeError(f"{op}: input must be a floating-point tensor, got {input.dtype}")
    spatial = input._data.shape[2:]
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: only one of size or scale_factor should be defined")
    if size is not None:
        size = (size,) * nd if isinstance(size, (int, np.integer)) else tuple(size)
        if len(size) != nd:
            raise ValueError(f"{op}: size {size} must have {nd} entries (one per spatial dim of input shape "
                             f"{tuple(input.shape)})")
        out = tuple(int(s) for s in size)
        scales = (None,) * nd
    else:
        sf = (scale_factor,) * nd if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
        if len(sf) != nd:
            raise ValueError(f"{op}: scale_factor {scale_factor} must have {nd} entries")
        out = tuple(int(math.floor(float(n) * float(f))) for n, f in zip(spatial, sf))
        scales = (None,) * nd if recompute_scale_factor else tuple(float(f) for f in sf)
    if any(o < 1 for o in out):
        raise ShapeError(f"{op}: output size {out} must be positive (input shape {tuple(input.shape)})")
    dtype = input._data.dtype
    y = input
    for ax in range(nd - 1, -1, -1):                 # last axis first: torch's order of the weighted sums
        axis = 2 + ax
        n_in, n_out, scale = spatial[ax], out[ax], scales[ax]
        if mode in _LINEAR:
            i0, i1, l0, l1 = _linear_weights(n_in, n_out, scale, align_corners, dtype)
            shape = [1] * (nd + 2)
            shape[axis] = n_out
            y = take_axis(y, i0, axis) * _make(l0.reshape(shape)) + take_axis(y, i1, axis) * _make(l1.reshape(shape))
        else:
            idx = _nearest_index(n_in, n_out, scale, mode == "nearest-exact")
            if n_in != n_out or (idx != np.arange(n_out)).any():     # skip identity gathers
                y = take_axis(y, idx, axis)
    return y
