"""Convolution (im2col + GEMM), its two adjoints, transposed convolution, unfold / fold.

A 2-D convolution (cross-correlation, as in PyTorch) of x (N, C, H, W) with W (O, C/G, kh, kw):

    y[n, o, p, q] = b[o] + Σ_{c, i, j} W[o, c, i, j] · xpad[n, g(o)·C/G + c, p·sh + i·dh, q·sw + j·dw]

is linear in x and in W. Its three linear maps close under differentiation:

    conv(x, W)        (the layer)
    conv_adj(g, W)    adjoint in x:  ⟨g, conv(x, W)⟩ = ⟨conv_adj(g, W), x⟩      (= ConvTranspose2d)
    conv_wgrad(x, g)  adjoint in W:  ⟨g, conv(x, W)⟩ = ⟨conv_wgrad(x, g), W⟩

    y = conv(x, W):        dx = conv_adj(g, W),    dW = conv_wgrad(x, g),   db = Σ_{n,p,q} g
    z = conv_adj(g, W):    dg = conv(gz, W),       dW = conv_wgrad(gz, g)
    V = conv_wgrad(x, g):  dx = conv_adj(g, gV),   dg = conv(x, gV)

so every backward below is written with these three ops and ``create_graph=True`` gives grad-of-grad.

How each is computed (no Python loop over pixels):

* im2col: ``sliding_window_view`` of the zero-padded input, sliced by stride and dilation, is a strided
  view (N, C, kh, kw, Ho, Wo); one copy makes it the contiguous ``cols`` (N, C·kh·kw, Ho·Wo) - exactly
  torch's ``F.unfold`` layout.
* conv:  y = W₂ @ cols with W₂ = W viewed (O, C·kh·kw): ONE ``np.matmul`` call over the batch (grouped:
  W₂ (G, O/G, C/G·kh·kw) against cols viewed (N, G, C/G·kh·kw, L)), whose result (N, O, L) already is
  NCHW - no transpose copy of the output. (A single 2-D GEMM against cols laid out (C·kh·kw, N·L) was
  measured 3-7x slower with OpenBLAS for these thin shapes, plus an output transpose.)
* conv_wgrad: dW = Σ_n g[n] @ cols[n]ᵀ (one batched matmul, summed over n); the forward's ``cols`` are
  reused when nothing changed in between.
* conv_adj: done batch-last. gᵀ (O, Ho·Wo·N) is one small (output-sized) copy, dcols = W₂ᵀ @ gᵀ is ONE
  GEMM (grouped: one batched matmul over the groups), then col2im: a loop over the kh·kw kernel offsets,
  each adding one strided slab (C, Ho, Wo, N) - whose last two dims merge into runs of Wo·N values, ~3x
  faster than the short Wo-long rows of NCHW - into the padded gradient, transposed back to NCHW at the end.

The im2col / col2im of ``F.unfold`` / ``F.fold`` are the same kernels, as their own pair of adjoint ops.
"""
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import _parallel
from ..autograd.function import Op
from ..autograd.grad_mode import STATE
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold"]


# ------------------------------------------------------------------------------------------ geometry
class ConvGeometry(tuple):
    """The index map of a 2-D sliding window, i.e. everything about a convolution that is not data:
    ``(kernel, stride, pad, dilation, groups, in_hw, out_hw)`` with ``pad = (top, bottom, left, right)``.
    ``in_hw`` is the unpadded input size, ``out_hw`` the number of window positions. A tuple, so hashable
    (index plans are cached per geometry)."""
    __slots__ = ()

    def __new__(cls, kernel, stride, pad, dilation, groups, in_hw, out_hw):
        return tuple.__new__(cls, (tuple(kernel), tuple(stride), tuple(pad), tuple(dilation), int(groups),
                                   tuple(in_hw), tuple(out_hw)))

    kernel = property(lambda s: s[0])
    stride = property(lambda s: s[1])
    pad = property(lambda s: s[2])
    dilation = property(lambda s: s[3])
    groups = property(lambda s: s[4])
    in_hw = property(lambda s: s[5])
    out_hw = property(lambda s: s[6])

    @property
    def padded_hw(self):
        (h, w), (pt, pb, pl, pr) = self.in_hw, self.pad
        return h + pt + pb, w + pl + pr

    def __repr__(self):
        return (f"(kernel={self.kernel}, stride={self.stride}, padding={self.pad}, dilation={self.dilation}, "
                f"groups={self.groups}, input={self.in_hw}, output={self.out_hw})")


def out_size(n, k, s, p_lo, p_hi, d):
    """Number of window positions: floor((n + pads - d·(k-1) - 1) / s) + 1."""
    return (n + p_lo + p_hi - d * (k - 1) - 1) // s + 1


@lru_cache(maxsize=512)
def offset_slices(geo):
    """For each kernel offset (i, j): the (rows, cols) slices of the padded input that offset reads at
    every output position. Looping over these kh·kw offsets (never over pixels) is how col2im, pooling
    and their adjoints move whole slabs at once."""
    (kh, kw), (sh, sw), _, (dh, dw), _, _, (ho, wo) = geo
    out = []
    for i in range(kh):
        r = i * dh
        for j in range(kw):
            c = j * dw
            out.append((Ellipsis, slice(r, r + sh * (ho - 1) + 1, sh), slice(c, c + sw * (wo - 1) + 1, sw)))
    return tuple(out)


def pad_input(x, geo, value=0.0):
    """x (..., H, W) with ``geo.pad`` rows/cols of ``value`` around it (no copy when there is none)."""
    pt, pb, pl, pr = geo.pad
    if not (pt or pb or pl or pr):
        return x
    h, w = x.shape[-2:]
    xp = np.full(x.shape[:-2] + (h + pt + pb, w + pl + pr), value, dtype=x.dtype)
    xp[..., pt:pt + h, pl:pl + w] = x
    return xp


def crop_padding(xp, geo):
    """The inverse of ``pad_input``: the centre (unpadded) part, as a contiguous array."""
    pt, pb, pl, pr = geo.pad
    if not (pt or pb or pl or pr):
        return xp
    h, w = geo.in_hw
    return np.ascontiguousarray(xp[..., pt:pt + h, pl:pl + w])


# ------------------------------------------------------------------------------------------ raw kernels
def im2col(x, geo):
    """x (N, C, H, W) -> cols (N, C·kh·kw, Ho·Wo), rows ordered (c, i, j) like the weight's (C, kh, kw)."""
    (kh, kw), (sh, sw), _, (dh, dw), _, _, (ho, wo) = geo
    n, c = x.shape[:2]
    xp = pad_input(x, geo)
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    # (N, C, Ho', Wo', span_h, span_w) view -> stride/dilation slicing -> (N, C, Ho, Wo, kh, kw), no copy
    v = sliding_window_view(xp, span, axis=(2, 3))[:, :, :sh * (ho - 1) + 1:sh, :sw * (wo - 1) + 1:sw, ::dh, ::dw]
    cols = np.empty((n, c, kh, kw, ho, wo), dtype=x.dtype)
    _parallel.copyto(cols, v.transpose(0, 1, 4, 5, 2, 3))  # the one copy of im2col (split by sample if large)
    return cols.reshape(n, c * kh * kw, ho * wo)


def im2col_batch_last(x, geo):
    """x (N, C, H, W) -> cols (C·kh·kw, Ho·Wo·N): im2col with the batch innermost. One transposed copy of
    the (padded) input to (C, H, W, N), then the window view's copy runs over Wo·N contiguous values at a
    time instead of Wo - several times faster when the rows are short."""
    (kh, kw), (sh, sw), (pt, pb, pl, pr), (dh, dw), _, (h, w), (ho, wo) = geo
    n, c = x.shape[:2]
    xt = np.zeros((c, h + pt + pb, w + pl + pr, n), dtype=x.dtype)
    np.copyto(xt[:, pt:pt + h, pl:pl + w], x.transpose(1, 2, 3, 0))
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    v = sliding_window_view(xt, span, axis=(1, 2))[:, :sh * (ho - 1) + 1:sh, :sw * (wo - 1) + 1:sw, :, ::dh, ::dw]
    cols = np.empty((c, kh, kw, ho, wo, n), dtype=x.dtype)
    _parallel.copyto(cols, v.transpose(0, 4, 5, 1, 2, 3))  # split by channel if large
    return cols.reshape(c * kh * kw, ho * wo * n)


def batch_last(geo):
    """Which im2col layout conv and conv_wgrad use. NCHW rows shorter than 16 make the standard im2col
    copy slow (its inner loop runs Wo values), and the batch-last layout's GEMMs are single large 2-D ones
    that a multi-threaded BLAS splits; for wide rows the standard layout's batched matmul wins (measured
    on LeNet-like and ResNet-like shapes)."""
    return geo.out_hw[1] < 16


def _transpose_to_batch_last(g):
    """(N, O, Ho, Wo) -> contiguous (O, Ho·Wo·N)."""
    n, o = g.shape[:2]
    gt = np.empty((o,) + g.shape[2:] + (n,), dtype=g.dtype)
    np.copyto(gt, g.transpose(1, 2, 3, 0))
    return gt.reshape(o, g.shape[2] * g.shape[3] * n)


def _g_batch_last(g, shared):
    """g transposed to (O, Ho·Wo·N), made once per backward step: Conv2d's rule passes the same ``shared``
    dict to the dx and dW kernels (both Op forwards, so raw arrays whatever the carrier of the rule), and
    the first one that needs the copy leaves it there for the other."""
    if shared is None:
        return _transpose_to_batch_last(g)
    gt = shared.get("gt")
    if gt is None:
        gt = shared["gt"] = _transpose_to_batch_last(g)
    return gt


def col2im(cols, geo, channels):
    """The adjoint of im2col: cols (N, C·kh·kw, Ho·Wo) -> (N, C, H, W), overlapping windows summed."""
    (kh, kw), _, _, _, _, _, (ho, wo) = geo
    n = cols.shape[0]
    d = cols.reshape(n, channels, kh * kw, ho, wo)
    out = np.zeros((n, channels) + geo.padded_hw, dtype=cols.dtype)
    for k, sl in enumerate(offset_slices(geo)):          # kh·kw strided slab adds, not a loop over pixels
        out[sl] += d[:, :, k]
    return crop_padding(out, geo)


def _col2im_batch_last(dcols, geo, channels, n):
    """col2im from the batch-last layout dcols (C·kh·kw, Ho·Wo·N) -> (N, C, H, W).

    With the batch innermost, the slab of kernel offset (i, j) is (C, Ho, Wo, N) whose last two dims merge
    (when the column stride is 1) into one run of Wo·N contiguous values: NumPy's inner loop then runs
    hundreds of elements instead of Wo (~10), which makes these kh·kw adds ~3x faster than in NCHW."""
    (kh, kw), _, _, _, _, _, (ho, wo) = geo
    d = dcols.reshape(channels, kh * kw, ho, wo, n)
    buf = np.zeros((channels,) + geo.padded_hw + (n,), dtype=dcols.dtype)
    for k, (_, rows, cols) in enumerate(offset_slices(geo)):
        buf[:, rows, cols] += d[:, k]
    pt, _, pl, _ = geo.pad
    h, w = geo.in_hw
    out = np.empty((n, channels, h, w), dtype=dcols.dtype)
    np.copyto(out, buf[:, pt:pt + h, pl:pl + w].transpose(3, 0, 1, 2))
    return out


def _gemm(a, b):
    """a (M, K) @ b (K, n). OpenBLAS is several times slower on very wide, thin products (M·K small,
    n in the tens of thousands) than on the same work cut into column blocks of ~1k: those go through one
    batched np.matmul over a strided view of the blocks, written in place into the result."""
    m, k = a.shape
    n = b.shape[1]
    if n <= 8192 or m * k >= 8192:
        return a @ b
    cw = 1024
    nb = n // cw
    main = nb * cw
    out = np.empty((m, n), dtype=np.result_type(a, b))
    np.matmul(a, b[:, :main].reshape(k, nb, cw).transpose(1, 0, 2),
              out=out[:, :main].reshape(m, nb, cw).transpose(1, 0, 2))
    if main < n:
        np.matmul(a, b[:, main:], out=out[:, main:])
    return out


def _conv_gemm(cols, w, groups):
    """cols (N, C·K, L), W (O, C/G, kh, kw) -> (N, O, L) = W₂ @ cols, one batched matmul."""
    o = w.shape[0]
    if groups == 1:
        return np.matmul(w.reshape(o, cols.shape[1]), cols)
    n, ck, l = cols.shape
    return np.matmul(w.reshape(groups, o // groups, ck // groups),
                     cols.reshape(n, groups, ck // groups, l)).reshape(n, o, l)


def _conv_adj(g, w, geo, gt=None):
    """conv_adj(g, W): g (N, O, Ho, Wo) -> (N, C, H, W) = col2im(W₂ᵀ @ g).

    Done batch-last: gᵀ (O, Ho·Wo·N) is one small copy (output-sized; pass it if already made), then ONE
    GEMM (grouped: one batched matmul over the groups) gives dcols (C·kh·kw, Ho·Wo·N) for
    ``_col2im_batch_last``."""
    n, o = g.shape[:2]
    groups = geo.groups
    ckg = w.shape[1] * w.shape[2] * w.shape[3]          # C/G·kh·kw (explicit sizes: N or O may be 0)
    if gt is None:
        gt = _transpose_to_batch_last(g)
    if groups == 1:
        dcols = _gemm(np.ascontiguousarray(w.reshape(o, ckg).T), gt)
    else:
        w3 = w.reshape(groups, o // groups, ckg).transpose(0, 2, 1)
        dcols = np.matmul(w3, gt.reshape(groups, o // groups, gt.shape[1]))
    return _col2im_batch_last(dcols, geo, w.shape[1] * groups, n)


def _conv_forward(x, w, b, geo):
    """y = conv(x, W) + b, and the cols it used (in the layout ``batch_last(geo)`` picks)."""
    n, o = x.shape[0], w.shape[0]
    groups = geo.groups
    if not batch_last(geo):
        cols = im2col(x, geo)
        y = _conv_gemm(cols, w, groups)                  # (N, O, L): already NCHW
        if b is not None:
            y += b[:, None]
        return y.reshape((n, o) + geo.out_hw), cols
    cols = im2col_batch_last(x, geo)                     # (C·K, L·N)
    if groups == 1:
        yt = _gemm(w.reshape(o, cols.shape[0]), cols)    # (O, L·N): one 2-D GEMM
    else:
        yt = np.matmul(w.reshape(groups, o // groups, cols.shape[0] // groups),
                       cols.reshape(groups, cols.shape[0] // groups, cols.shape[1]))
    y = np.empty((n, o) + geo.out_hw, dtype=yt.dtype)
    yt = yt.reshape((o,) + geo.out_hw + (n,)).transpose(3, 0, 1, 2)
    if b is not None:
        _parallel.ufunc(np.add, yt, b[:, None, None], out=y)  # back to NCHW, bias added in the same pass
    else:
        np.copyto(y, yt)
    return y, cols


def _conv_wgrad(x, g, geo, w_shape, cols=None, gt=None):
    """dW = conv_wgrad(x, g) from the cols of ``_conv_forward`` (recomputed when not given)."""
    n, o = g.shape[:2]
    groups = geo.groups
    if not batch_last(geo):
        if cols is None:
            cols = im2col(x, geo)
        return _wgrad_gemm(g.reshape(n, o, cols.shape[2]), cols, groups, w_shape)
    if cols is None:
        cols = im2col_batch_last(x, geo)
    if gt is None:
        gt = _transpose_to_batch_last(g)                 # (O, L·N)
    ck, ln = cols.shape
    if groups == 1:
        gw = np.matmul(cols, gt.T).T                     # (C·K, L·N) @ (L·N, O): one 2-D GEMM
    else:
        gw = np.matmul(cols.reshape(groups, ck // groups, ln),
                       gt.reshape(groups, o // groups, ln).transpose(0, 2, 1)).transpose(0, 2, 1)
    return np.ascontiguousarray(gw).reshape(w_shape)


def _wgrad_gemm(g3, cols, groups, w_shape):
    """dW = Σ_n g3[n] @ cols[n]ᵀ reshaped to W (O, C/G, kh, kw): one batched matmul, summed over n.
    (Computed as (cols[n] @ g3[n]ᵀ)ᵀ: the long L dimension is then the shared inner one of both
    operands' natural layouts, measured 2x faster than the other orientation.)"""
    n, o, l = g3.shape
    if groups == 1:
        gw = np.matmul(cols, g3.transpose(0, 2, 1)).sum(0).T
    else:
        ck = cols.shape[1]
        gw = np.matmul(cols.reshape(n, groups, ck // groups, l),
                       g3.reshape(n, groups, o // groups, l).transpose(0, 1, 3, 2)).sum(0).transpose(0, 2, 1)
    return np.ascontiguousarray(gw).reshape(w_shape)


# ------------------------------------------------------------------------------------------ ops
class _ConvError:
    @classmethod
    def explain_error(cls, exc, inputs, params):
        shapes = ", ".join(str(tuple(t.shape)) if isinstance(t, Tensor) else "None" for t in inputs)
        return ShapeError(f"{cls.__name__.lower()}: inputs of shapes {shapes} do not fit the convolution "
                          f"{params.get('geo')!r}: {exc}")


KEEP_COLS_MAX_BYTES = 64 << 20


class Conv2d(_ConvError, Op):
    """y = conv(x, W) + b;   dx = conv_adj(g, W),  dW = conv_wgrad(x, g),  db = Σ_{n,h,w} g"""
    __slots__ = ("geo", "cols")
    save_inputs = True

    @staticmethod
    def forward(ctx, x, w, b, geo, keep_cols=False):
        y, cols = _conv_forward(x, w, b, geo)
        ctx.geo = geo
        # reused by dW (saves a second im2col) - unless too big to hold until backward: cols are kh·kw
        # times the input, and keeping them for every layer of a large model would multiply its memory
        ctx.cols = cols if keep_cols and cols.nbytes <= KEEP_COLS_MAX_BYTES else None
        return y

    @staticmethod
    def backward(ctx, g):
        x, w, b = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad
        geo, cols = ctx.geo, ctx.cols
        ctx.cols = None                                  # a retain_graph re-run recomputes them from x
        shared = {}                                      # dx and dW share one transposed copy of g (below)
        gx = ConvAdj.apply(g, w, None, geo=geo, shared=shared) if nx else None
        gw = ConvWGrad.apply(x, g, geo=geo, w_shape=tuple(w.shape), cols=cols, shared=shared) if nw else None
        gb = g.sum((0, 2, 3)) if nb else None
        return gx, gw, gb


class ConvAdj(_ConvError, Op):
    """z = conv_adj(g, W) + b (the transposed convolution);   dg = conv(gz, W),  dW = conv_wgrad(gz, g),
    db = Σ_{n,h,w} gz"""
    __slots__ = ("geo",)
    save_inputs = True

    @staticmethod
    def forward(ctx, g, w, b, geo, shared=None):
        ctx.geo = geo
        z = _conv_adj(g, w, geo, _g_batch_last(g, shared))
        if b is not None:
            z += b[:, None, None]
        return z

    @staticmethod
    def backward(ctx, gz):
        g, w, b = ctx.saved_tensors
        ng, nw, nb = ctx.needs_input_grad
        geo = ctx.geo
        dg = Conv2d.apply(gz, w, None, geo=geo) if ng else None
        dw = ConvWGrad.apply(gz, g, geo=geo, w_shape=tuple(w.shape)) if nw else None
        db = gz.sum((0, 2, 3)) if nb else None
        return dg, dw, db


class ConvWGrad(_ConvError, Op):
    """V = conv_wgrad(x, g) = Σ_n g[n] @ im2col(x)[n]ᵀ;   dx = conv_adj(g, gV),  dg = conv(x, gV)"""
    __slots__ = ("geo",)
    save_inputs = True

    @staticmethod
    def forward(ctx, x, g, geo, w_shape, cols=None, shared=None):
        ctx.geo = geo
        gt = _g_batch_last(g, shared) if batch_last(geo) else None
        return _conv_wgrad(x, g, geo, w_shape, cols, gt)

    @staticmethod
    def backward(ctx, gv):
        x, g = ctx.saved_tensors
        nx, ng = ctx.needs_input_grad
        geo = ctx.geo
        dx = ConvAdj.apply(g, gv, None, geo=geo) if nx else None
        dg = Conv2d.apply(x, gv, None, geo=geo) if ng else None
        return dx, dg


class Unfold(_ConvError, Op):
    """cols = im2col(x)  (torch's F.unfold);   dx = fold(g)"""
    __slots__ = ("geo", "channels")

    @staticmethod
    def forward(ctx, x, geo):
        ctx.geo, ctx.channels = geo, x.shape[1]
        return im2col(x, geo)

    @staticmethod
    def backward(ctx, g):
        return (Fold.apply(g, geo=ctx.geo, channels=ctx.channels),)


class Fold(_ConvError, Op):
    """x = col2im(cols), overlaps summed (torch's F.fold, the adjoint of unfold);   dcols = unfold(g)"""
    __slots__ = ("geo",)

    @staticmethod
    def forward(ctx, cols, geo, channels):
        ctx.geo = geo
        return col2im(cols, geo, channels)

    @staticmethod
    def backward(ctx, g):
        return (Unfold.apply(g, geo=ctx.geo),)


# ------------------------------------------------------------------------------------------ arguments
def _tuple(v, n, name, op, minimum):
    """An int or a length-n sequence of ints -> n-tuple, each >= minimum, with a clear error."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        t = (int(v),) * n
    elif isinstance(v, (tuple, list)) and len(v) == n and all(isinstance(e, (int, np.integer)) for e in v):
        t = tuple(int(e) for e in v)
    else:
        raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {v!r}")
    if any(e < minimum for e in t):
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {v!r}")
    return t


def _check_tensor(x, name, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")


def _float_dtype(x, weight, bias, op):
    """Bring input and bias to the weight's floating dtype (as F.linear does)."""
    if weight._data.dtype.kind != "f":
        raise DTypeError(f"{op}: weight must be a floating-point tensor, got {weight.dtype}. Fix: weight.float()")
    if x._data.dtype != weight._data.dtype:
        x = x._cast(weight.dtype)
    if bias is not None and bias._data.dtype != weight._data.dtype:
        bias = bias._cast(weight.dtype)
    return x, bias


def _spatial(nd):
    return "L" if nd == 1 else "H, W"


def _conv_setup(op, nd, x, weight, bias, transposed):
    """Shared checks: ranks, batching, dtypes, bias shape. Returns (x 2-D batched, weight, bias, unbatched)."""
    _check_tensor(x, "input", op)
    _check_tensor(weight, "weight", op)
    if bias is not None:
        _check_tensor(bias, "bias", op)
    if weight._data.ndim != nd + 2:
        raise ShapeError(f"{op}: weight must be {nd + 2}-D "
                         f"({'in_channels, out_channels/groups' if transposed else 'out_channels, in_channels/groups'}"
                         f", {'k' if nd == 1 else 'kh, kw'}), got shape {tuple(weight.shape)}")
    if x._data.ndim not in (nd + 1, nd + 2):
        raise ShapeError(f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input of shape "
                         f"(N, C, {_spatial(nd)}), got shape {tuple(x.shape)}")
    x, bias = _float_dtype(x, weight, bias, op)
    unbatched = x._data.ndim == nd + 1
    if unbatched:
        x = x.unsqueeze(0)
    if nd == 1:                                  # a 1-D convolution is a 2-D one of height 1
        x = x.unsqueeze(2)
        weight = weight.unsqueeze(2)
    return x, weight, bias, unbatched


def _finish(y, nd, unbatched):
    if nd == 1:
        y = y.squeeze(2)
    if unbatched:
        y = y.squeeze(0)
    return y


def _conv(op, nd, x, weight, bias, stride, padding, dilation, groups):
    x0 = x
    x, weight, bias, unbatched = _conv_setup(op, nd, x, weight, bias, False)
    stride = _tuple(stride, nd, "stride", op, 1)
    dilation = _tuple(dilation, nd, "dilation", op, 1)
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups!r}")
    ksize = tuple(weight._data.shape[2:])
    if nd == 1:
        stride, dilation = (1,) + stride, (1,) + dilation
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0)
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                                 f"(stride={stride[2 - nd:] if nd == 1 else stride})")
            pads = []
            for k, d in zip(ksize, dilation):    # total d·(k-1); the odd one out goes at the end, as torch
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]
            pads = tuple(pads)
        else:
            raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of 'valid', 'same' "
                             f"(or an int / tuple of ints)")
    else:
        p = _tuple(padding, nd, "padding", op, 0)
        p = ((0,) + p) if nd == 1 else p
        pads = (p[0], p[0], p[1], p[1])
    n, c, h, w = x._data.shape
    o, cg = weight._data.shape[:2]
    if c != cg * groups:
        raise ShapeError(f"{op}: weight of shape {tuple(weight.shape if nd == 2 else weight.squeeze(2).shape)} "
                         f"with groups={groups} expects input with {cg * groups} channels, but got input of "
                         f"shape {tuple(x0.shape)} with {c} channels")
    if o % groups:
        raise ShapeError(f"{op}: out_channels ({o}) must be divisible by groups ({groups})")
    if bias is not None and tuple(bias._data.shape) != (o,):
        raise ShapeError(f"{op}: bias must have shape ({o},) (one per output channel), got {tuple(bias.shape)}")
    ho = out_size(h, ksize[0], stride[0], pads[0], pads[1], dilation[0])
    wo = out_size(w, ksize[1], stride[1], pads[2], pads[3], dilation[1])
    if ho < 1 or wo < 1:
        eff = tuple(d * (k - 1) + 1 for k, d in zip(ksize, dilation))
        padded = (h + pads[0] + pads[1], w + pads[2] + pads[3])
        if nd == 1:
            eff, padded = eff[1:], padded[1:]
        raise ShapeError(f"{op}: the kernel (size {eff[0] if nd == 1 else eff}, dilation included) is larger "
                         f"than the padded input (size {padded[0] if nd == 1 else padded}) of input shape "
                         f"{tuple(x0.shape)}. Fix: use a larger input, more padding or a smaller kernel")
    geo = ConvGeometry(ksize, stride, pads, dilation, groups, (h, w), (ho, wo))
    keep = STATE.grad_enabled and weight._requires_grad
    y = Conv2d.apply(x, weight, bias, geo=geo, keep_cols=keep)
    return _finish(y, nd, unbatched)


def _conv_transpose(op, nd, x, weight, bias, stride, padding, output_padding, groups, dilation, output_size=None):
    x0 = x
    x, weight, bias, unbatched = _conv_setup(op, nd, x, weight, bias, True)
    stride = _tuple(stride, nd, "stride", op, 1)
    dilation = _tuple(dilation, nd, "dilation", op, 1)
    if isinstance(padding, str):
        raise ValueError(f"{op}: string padding ({padding!r}) is not supported for transposed convolutions; "
                         f"give an int or a tuple of ints")
    padding = _tuple(padding, nd, "padding", op, 0)
    output_padding = _tuple(output_padding, nd, "output_padding", op, 0)
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups!r}")
    ksize = tuple(weight._data.shape[2:])
    n, c, h, w = x._data.shape
    cin, og = weight._data.shape[:2]
    if c != cin:
        raise ShapeError(f"{op}: weight of shape {tuple(weight.shape if nd == 2 else weight.squeeze(2).shape)} "
                         f"(in_channels, out_channels/groups, ...) expects input with {cin} channels, but got "
                         f"input of shape {tuple(x0.shape)} with {c} channels")
    if cin % groups:
        raise ShapeError(f"{op}: in_channels ({cin}) must be divisible by groups ({groups})")
    if bias is not None and tuple(bias._data.shape) != (og * groups,):
        raise ShapeError(f"{op}: bias must have shape ({og * groups},) (one per output channel), got "
                         f"{tuple(bias.shape)}")
    spatial_in = (h, w)[2 - nd:]
    k_nd = ksize[2 - nd:]
    if output_size is not None:                  # torch's _output_padding: pick the padding that hits it
        output_size = tuple(int(s) for s in output_size)[-nd:]
        output_padding = []
        for i in range(nd):
            smallest = (spatial_in[i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (k_nd[i] - 1) + 1
            extra = output_size[i] - smallest
            if not 0 <= extra < max(stride[i], dilation[i]):
                raise ValueError(f"{op}: requested an output size of {output_size}, but valid sizes along "
                                 f"dim {i} range from {smallest} to {smallest + max(stride[i], dilation[i]) - 1}")
            output_padding.append(extra)
        output_padding = tuple(output_padding)
    for op_, s, d in zip(output_padding, stride, dilation):
        if op_ >= max(s, d):
            raise ValueError(f"{op}: output_padding ({output_padding}) must be smaller than either stride "
                             f"({stride}) or dilation ({dilation})")
    if nd == 1:
        stride, dilation, padding, output_padding = ((1,) + stride, (1,) + dilation, (0,) + padding,
                                                     (0,) + output_padding)
    out_hw = tuple((i - 1) * s - 2 * p + d * (k - 1) + op_ + 1
                   for i, s, p, d, k, op_ in zip((h, w), stride, padding, dilation, ksize, output_padding))
    if min(out_hw) < 1:
        raise ShapeError(f"{op}: input of shape {tuple(x0.shape)} with this kernel/stride/padding gives an "
                         f"output size of {out_hw[2 - nd:]}, which is too small. Fix: reduce the padding")
    pads = (padding[0], padding[0], padding[1], padding[1])
    geo = ConvGeometry(ksize, stride, pads, dilation, groups, out_hw, (h, w))
    y = ConvAdj.apply(x, weight, bias, geo=geo)
    return _finish(y, nd, unbatched)


# ------------------------------------------------------------------------------------------ public API
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) of input (N, C, H, W) or (C, H, W) with weight
    (O, C/groups, kh, kw). ``padding``: int, (ph, pw), 'valid' or 'same' (stride 1 only)."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of input (N, C, L) or (C, L) with weight (O, C/groups, k)."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1,
                     output_size=None):
    """Transposed 2-D convolution (the adjoint of conv2d in its input) of input (N, Cin, H, W) with weight
    (Cin, Cout/groups, kh, kw): H_out = (H-1)·s - 2p + d·(k-1) + output_padding + 1."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation, output_size)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1,
                     output_size=None):
    """Transposed 1-D convolution of input (N, Cin, L) with weight (Cin, Cout/groups, k)."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation, output_size)


def _fold_geometry(op, kernel_size, dilation, padding, stride, hw):
    k = _tuple(kernel_size, 2, "kernel_size", op, 1)
    d = _tuple(dilation, 2, "dilation", op, 1)
    p = _tuple(padding, 2, "padding", op, 0)
    s = _tuple(stride, 2, "stride", op, 1)
    pads = (p[0], p[0], p[1], p[1])
    out = tuple(out_size(n, k_, s_, p_, p_, d_) for n, k_, s_, p_, d_ in zip(hw, k, s, p, d))
    return ConvGeometry(k, s, pads, d, 1, hw, out)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col, as torch's F.unfold: (N, C, H, W) -> (N, C·kh·kw, L), L = number of window positions;
    row c·kh·kw + i·kw + j holds input channel c at kernel offset (i, j)."""
    _check_tensor(input, "input", "unfold")
    if input._data.ndim not in (3, 4):
        raise ShapeError(f"unfold: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                         f"{tuple(input.shape)}")
    x = input.unsqueeze(0) if input._data.ndim == 3 else input
    geo = _fold_geometry("unfold", kernel_size, dilation, padding, stride, x._data.shape[2:])
    if min(geo.out_hw) < 1:
        raise ShapeError(f"unfold: the kernel {geo.kernel} (dilation {geo.dilation}) does not fit in the padded "
                         f"input of shape {tuple(input.shape)} (padding {padding})")
    y = Unfold.apply(x, geo=geo)
    return y.squeeze(0) if input._data.ndim == 3 else y


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im, as torch's F.fold (the adjoint of unfold): (N, C·kh·kw, L) -> (N, C, *output_size), values
    of overlapping windows summed."""
    _check_tensor(input, "input", "fold")
    if input._data.ndim not in (2, 3):
        raise ShapeError(f"fold: expected a 2-D (C·kh·kw, L) or 3-D (N, C·kh·kw, L) input, got shape "
                         f"{tuple(input.shape)}")
    x = input.unsqueeze(0) if input._data.ndim == 2 else input
    hw = _tuple(output_size, 2, "output_size", "fold", 1)
    geo = _fold_geometry("fold", kernel_size, dilation, padding, stride, hw)
    kk = geo.kernel[0] * geo.kernel[1]
    _, ck, l = x._data.shape
    if ck % kk:
        raise ShapeError(f"fold: expected the size of dim 1 of the input ({ck}) to be divisible by the product "
                         f"of kernel_size {geo.kernel} = {kk}")
    if l != geo.out_hw[0] * geo.out_hw[1] or min(geo.out_hw) < 1:
        raise ShapeError(f"fold: input of shape {tuple(input.shape)} has {l} blocks, but output_size {hw} with "
                         f"kernel {geo.kernel}, stride {geo.stride}, padding {padding}, dilation {geo.dilation} "
                         f"makes {max(geo.out_hw[0], 0) * max(geo.out_hw[1], 0)} blocks")
    y = Fold.apply(x, geo=geo, channels=ck // kk)
    return y.squeeze(0) if input._data.ndim == 2 else y
