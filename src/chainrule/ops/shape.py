"""Shape ops: reshape/view, permute/transpose, expand/sum_to, repeat, flip, cat/stack/split, pad.

Each backward is the inverse movement of the gradient: reshape back, permute back, sum what expand
copied, slice what cat joined.
"""
import numpy as np

from .. import dtypes as _dt
from ..errors import ShapeError
from ..autograd.function import Op
from ._util import broadcast_array, data_of, norm_axis, norm_dim, shape_of, sum_to_array
from .index import Index


class Reshape(Op):
    """y = x viewed with a new shape;  dL/dx = g reshaped to x's shape"""
    __slots__ = ("in_shape",)
    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return (reshape(g, ctx.in_shape),)

    @classmethod
    def explain_error(cls, exc, inputs, params):
        x = inputs[0]
        return ShapeError(f"reshape/view: shape {tuple(params['shape'])} is invalid for a tensor of shape "
                          f"{tuple(x.shape)} ({x.numel()} elements); the new shape must have the same number "
                          f"of elements (use -1 for one dimension to be inferred)")


class Permute(Op):
    """y = x with axes reordered by ``dims``;  dL/dx = g permuted by the inverse order"""
    __slots__ = ("dims",)
    is_view = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        return (permute(g, tuple(np.argsort(ctx.dims))),)


class Expand(Op):
    """y = x broadcast to ``shape`` (no copy);  dL/dx = g summed over the broadcast dims"""
    __slots__ = ("in_shape",)
    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return broadcast_array(x, shape)

    @staticmethod
    def backward(ctx, g):
        return (sum_to(g, ctx.in_shape),)

    @classmethod
    def explain_error(cls, exc, inputs, params):
        return ShapeError(f"expand: a tensor of shape {tuple(inputs[0].shape)} cannot be expanded to "
                          f"{tuple(params['shape'])}: only dimensions of size 1 can grow (and new dimensions "
                          f"can be added on the left)")


class SumTo(Op):
    """y = x summed down to ``shape`` (the reverse of broadcasting);  dL/dx = g expanded back"""
    __slots__ = ("in_shape",)

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return sum_to_array(x, shape)                # leading dims summed away as one GEMV

    @staticmethod
    def backward(ctx, g):
        return (expand(g, ctx.in_shape),)


class Repeat(Op):
    """y = x tiled ``reps`` times per dim;  dL/dx = sum of the gradient over all the copies"""
    __slots__ = ("in_shape", "reps")

    @staticmethod
    def forward(ctx, x, reps):
        if len(reps) < x.ndim:
            raise ValueError(f"repeat: number of repeat dims ({len(reps)}) can not be smaller than the number "
                             f"of dimensions of the tensor ({x.ndim})")
        shape = (1,) * (len(reps) - x.ndim) + x.shape
        ctx.in_shape, ctx.reps = x.shape, reps
        return np.tile(x.reshape(shape), reps)

    @staticmethod
    def backward(ctx, g):
        shape = (1,) * (len(ctx.reps) - len(ctx.in_shape)) + tuple(ctx.in_shape)
        split = []                                  # (r0, s0, r1, s1, ...): copy index next to position
        for r, s in zip(ctx.reps, shape):
            split += [r, s]
        kept = [1 if i % 2 == 0 else n for i, n in enumerate(split)]    # the copy dims summed away
        return (reshape(sum_to(reshape(g, split), kept), ctx.in_shape),)


class Flip(Op):
    """y = x reversed along ``dims``;  dL/dx = g reversed along the same dims"""
    __slots__ = ("dims",)

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return np.flip(x, dims).copy()

    @staticmethod
    def backward(ctx, g):
        return (flip(g, ctx.dims),)


class Cat(Op):
    """y = inputs joined along ``dim``;  dL/dx_i = the slice of g that x_i occupied"""
    __slots__ = ("dim", "sizes")

    @staticmethod
    def forward(ctx, *xs, dim):
        ctx.dim, ctx.sizes = dim, [x.shape[dim] for x in xs]
        return np.concatenate(xs, axis=dim)

    @staticmethod
    def backward(ctx, g):
        grads, start = [], 0
        lead = (slice(None),) * ctx.dim
        for size, need in zip(ctx.sizes, ctx.needs_input_grad):
            grads.append(g[lead + (slice(start, start + size),)] if need else None)
            start += size
        return tuple(grads)

    @classmethod
    def explain_error(cls, exc, inputs, params):
        shapes = ", ".join(str(tuple(t.shape)) for t in inputs)
        return ShapeError(f"cat: tensors must have the same shape except in the concatenating dimension "
                          f"{params['dim']}; got shapes {shapes}")


class Stack(Op):
    """y = inputs stacked along a new axis ``dim``;  dL/dx_i = the i-th slice of g along dim (a view).
    One node for the whole stack (an RNN's outputs: dozens of inputs), not an unsqueeze per input + a cat."""
    __slots__ = ("dim",)

    @staticmethod
    def forward(ctx, *xs, dim):
        ctx.dim = dim
        return np.stack(xs, axis=dim)

    @staticmethod
    def backward(ctx, g):
        lead = (slice(None),) * ctx.dim
        return tuple([g[lead + (i,)] if need else None for i, need in enumerate(ctx.needs_input_grad)])


class ConstantPad(Op):
    """y = x surrounded by ``value``;  dL/dx = the centre slice of g"""
    __slots__ = ("inner",)

    @staticmethod
    def forward(ctx, x, widths, value):
        out = np.full(tuple(s + lo + hi for s, (lo, hi) in zip(x.shape, widths)), value, dtype=x.dtype)
        ctx.inner = tuple(slice(lo, lo + s) for s, (lo, _) in zip(x.shape, widths))
        out[ctx.inner] = x
        return out

    @staticmethod
    def backward(ctx, g):
        return (g[ctx.inner],)


# ---------------------------------------------------------------------- public functions
def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
        if type(shape) is tuple and all([type(s) is int for s in shape]):
            return shape                        # the common case (a backward rule's saved shape)
    return tuple([int(s) for s in shape])


def reshape(x, *shape):
    shape = _shape_arg(shape)
    if shape == data_of(x).shape:
        return x
    return Reshape.apply(x, shape=shape)


def view(x, *shape):
    """reshape that never copies: the result shares x's memory (an in-place change to one shows in the
    other), so a shape that the strides cannot express raises, as in PyTorch, instead of a silent copy."""
    shape = _shape_arg(shape)
    out = reshape(x, shape)
    if out is not x and data_of(x).size and not np.may_share_memory(data_of(out), data_of(x)):   # it was copied
        strides = tuple(s // data_of(x).itemsize for s in data_of(x).strides)
        raise RuntimeError(f"view: size {tuple(shape)} is not compatible with the input's size "
                           f"{tuple(x.shape)} and strides {strides} (at least one dimension spans across "
                           f"two contiguous subspaces): a view cannot share its memory. Fix: use "
                           f".reshape(...) (copies when needed) or call .contiguous() first")
    return out


def view_as(x, other):
    return view(x, other.shape)


def flatten(x, start_dim=0, end_dim=-1):
    nd = data_of(x).ndim
    if nd == 0:
        return reshape(x, 1)
    s, e = norm_axis(start_dim, nd, "flatten"), norm_axis(end_dim, nd, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim ({start_dim}) must come before end_dim ({end_dim})")
    shape = data_of(x).shape
    return reshape(x, shape[:s] + (-1 if 0 not in shape[s:e + 1] else 0,) + shape[e + 1:])


def unflatten(x, dim, sizes):
    shape = data_of(x).shape
    d = norm_axis(dim, len(shape), "unflatten")
    sizes = tuple(int(s) for s in sizes)
    known = int(np.prod([s for s in sizes if s != -1]))
    if sizes.count(-1) > 1 or (known != shape[d] if -1 not in sizes else known == 0 or shape[d] % known):
        raise ShapeError(f"unflatten: sizes {sizes} don't multiply to the size {shape[d]} of dimension {dim} "
                         f"(tensor of shape {tuple(shape)}); use at most one -1 for a size to be inferred")
    return reshape(x, shape[:d] + sizes + shape[d + 1:])


def squeeze(x, dim=None):
    shape = data_of(x).shape
    if dim is None:
        return reshape(x, tuple(s for s in shape if s != 1))
    dims = norm_dim(dim, len(shape), "squeeze")
    return reshape(x, tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1)))


def unsqueeze(x, dim):
    shape = data_of(x).shape
    d = norm_axis(dim, len(shape) + 1, "unsqueeze")
    return reshape(x, shape[:d] + (1,) + shape[d:])


def permute(x, *dims):
    dims = _shape_arg(dims)
    nd = data_of(x).ndim
    if len(dims) != nd:
        raise ShapeError(f"permute: number of dims {len(dims)} doesn't match the tensor's {nd} dimensions "
                         f"(shape {tuple(x.shape)})")
    dims = tuple(norm_axis(d, nd, "permute") for d in dims)
    if len(set(dims)) != nd:
        raise ValueError(f"permute: repeated dim in {dims}")
    if dims == tuple(range(nd)):
        return x
    return Permute.apply(x, dims=dims)


def transpose(x, dim0, dim1):
    nd = data_of(x).ndim
    if nd < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    d0, d1 = norm_axis(dim0, nd, "transpose"), norm_axis(dim1, nd, "transpose")
    dims = list(range(nd))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(x, dims)


swapaxes = transpose


def t(x):
    if data_of(x).ndim > 2:
        raise ValueError(f"t() expects a tensor with <= 2 dimensions, got shape {tuple(x.shape)}")
    return transpose(x, 0, -1) if data_of(x).ndim == 2 else x


def T(x):
    return permute(x, tuple(range(data_of(x).ndim - 1, -1, -1)))


def mT(x):
    if data_of(x).ndim < 2:
        raise ValueError(f"mT: tensor must have at least 2 dimensions, got shape {tuple(x.shape)}")
    return transpose(x, -2, -1)


def movedim(x, source, destination):
    nd = data_of(x).ndim
    src = [norm_axis(s, nd, "movedim") for s in ((source,) if isinstance(source, int) else source)]
    dst = [norm_axis(d, nd, "movedim") for d in ((destination,) if isinstance(destination, int) else destination)]
    if len(src) != len(dst) or len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"movedim: source {source} and destination {destination} must be lists of distinct "
                         f"dims of the same length (tensor of shape {tuple(x.shape)})")
    if nd == 0:
        return x                                # dim 0 of a 0-d tensor moves nowhere (as PyTorch)
    order = [d for d in range(nd) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(x, order)


def expand(x, *sizes):
    if type(x) is np.ndarray and len(sizes) == 1 and type(sizes[0]) is tuple and -1 not in sizes[0]:
        try:                                    # a backward rule's raw carrier (Sum's, Mean's): 3x cheaper
            return broadcast_array(x, sizes[0])
        except ValueError as exc:
            raise Expand.explain_error(exc, (x,), {"shape": sizes[0]}) from None
    sizes = _shape_arg(sizes)
    shape = shape_of(x)
    if sizes == shape:
        return x
    lead = len(sizes) - len(shape)
    if lead < 0:
        raise ShapeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the "
                         f"number of dimensions in the tensor ({len(shape)}, shape {tuple(shape)})")
    if -1 in sizes:                             # -1 keeps a dimension's size
        if -1 in sizes[:lead]:
            raise ShapeError(f"expand: size -1 (keep) is not allowed in a new leading dimension; got sizes "
                             f"{sizes} for a tensor of shape {tuple(shape)}")
        sizes = tuple([s if s != -1 else shape[i - lead] for i, s in enumerate(sizes)])
        if sizes == shape:
            return x
    return Expand.apply(x, shape=sizes)


def expand_as(x, other):
    return expand(x, other.shape)


broadcast_to = expand


def broadcast_tensors(*tensors):
    shape = np.broadcast_shapes(*(t.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


def sum_to(g, shape):
    """Sum ``g`` down to ``shape`` (undo broadcasting); a no-op when the shapes already agree."""
    if (g.shape if type(g) is np.ndarray else data_of(g).shape) == shape:
        return g
    return SumTo.apply(g, shape=tuple(shape))


def repeat(x, *reps):
    return Repeat.apply(x, reps=_shape_arg(reps))


def tile(x, dims):
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(dims) < data_of(x).ndim:
        dims = (1,) * (data_of(x).ndim - len(dims)) + dims
    return repeat(x, dims)


def flip(x, *dims):
    dims = _shape_arg(dims)
    dims = norm_dim(dims, data_of(x).ndim, "flip")
    return Flip.apply(x, dims=dims if data_of(x).ndim else ())     # dim 0 of a 0-d tensor: nothing to reverse


def cat(tensors, dim=0):
    tensors = [t for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty list of Tensors")
    first = tensors[0]
    if any(data_of(t).dtype != data_of(first).dtype for t in tensors):
        dt = _dt.result_type(*tensors)
        tensors = [t._cast(dt) for t in tensors]
    nd = data_of(first).ndim
    if nd == 0:
        raise ShapeError("cat: zero-dimensional tensor cannot be concatenated; use stack")
    if any(data_of(t).ndim != nd for t in tensors):
        shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
        raise ShapeError(f"cat: tensors must have the same number of dimensions; got shapes {shapes}")
    return Cat.apply(*tensors, dim=norm_axis(dim, nd, "cat"))


concat = concatenate = cat


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of Tensors")
    first = data_of(tensors[0])
    shape, dtype = first.shape, first.dtype
    for t in tensors:
        a = data_of(t)
        if a.shape != shape:
            raise ShapeError(f"stack: expects each tensor to be equal size, got shapes "
                             f"{', '.join(str(tuple(t.shape)) for t in tensors)}")
        if a.dtype != dtype:
            dtype = None
    if dtype is None:                           # mixed dtypes: promoted as cat (and PyTorch) does
        dt = _dt.result_type(*tensors)
        tensors = [t._cast(dt) for t in tensors]
    return Stack.apply(*tensors, dim=norm_axis(dim, len(shape) + 1, "stack"))


def hstack(tensors):
    tensors = list(tensors)
    return cat(tensors, 0 if data_of(tensors[0]).ndim == 1 else 1)


def vstack(tensors):
    return cat([t if data_of(t).ndim > 1 else reshape(t, 1, -1) for t in tensors], 0)


def _need_dims(x, op):
    if data_of(x).ndim == 0:
        raise IndexError(f"{op}: expects a tensor with at least one dimension, got a 0-d tensor; "
                         f"use x.reshape(1) first")


def narrow(x, dim, start, length):
    _need_dims(x, "narrow")
    d = norm_axis(dim, data_of(x).ndim, "narrow")
    n = data_of(x).shape[d]
    # checked here: a plain slice would wrap a negative start to the wrong end and clip silently
    if not -n <= start <= n:
        raise IndexError(f"narrow: start ({start}) is out of range for dimension {dim} of size {n} "
                         f"(tensor of shape {tuple(x.shape)})")
    start = start + n if start < 0 else start
    if length < 0 or start + length > n:
        raise ShapeError(f"narrow: start ({start}) + length ({length}) exceeds dimension {dim} of size {n} "
                         f"(tensor of shape {tuple(x.shape)}); the length must be in [0, {n - start}]")
    return Index.apply(x, key=(slice(None),) * d + (slice(start, start + length),), basic=True)


def split(x, split_size_or_sections, dim=0):
    _need_dims(x, "split")
    d = norm_axis(dim, data_of(x).ndim, "split")
    n = data_of(x).shape[d]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0:
            raise ValueError(f"split: split_size must be positive, got {size}")
        sizes = [size] * (n // size) + ([n % size] if n % size else [])
    else:
        sizes = list(split_size_or_sections)
        if any(s < 0 for s in sizes):
            raise ValueError(f"split: split sizes must be non-negative, got {sizes}")
        if sum(sizes) != n:
            raise ShapeError(f"split: split sizes {sizes} sum to {sum(sizes)} but dimension {dim} has size {n}")
    out, start, lead = [], 0, (slice(None),) * d
    for s in sizes:                 # each piece a view (sizes checked above, so no narrow() per piece)
        out.append(Index.apply(x, key=lead + (slice(start, start + s),), basic=True))
        start += s
    return tuple(out)


def chunk(x, chunks, dim=0):
    if chunks <= 0:
        raise ValueError(f"chunk: the number of chunks must be greater than 0, got {chunks}")
    _need_dims(x, "chunk")
    n = data_of(x).shape[norm_axis(dim, data_of(x).ndim, "chunk")]
    size = max(1, -(-n // chunks))
    return split(x, size, dim)


def unbind(x, dim=0):
    _need_dims(x, "unbind")
    d = norm_axis(dim, data_of(x).ndim, "unbind")
    lead = (slice(None),) * d
    return tuple([Index.apply(x, key=lead + (i,), basic=True) for i in range(data_of(x).shape[d])])


def pad(x, pad, mode="constant", value=0.0):
    """PyTorch's ``F.pad``: ``pad`` lists (left, right) widths starting from the last dimension.
    Negative widths crop. Modes: constant, reflect, replicate, circular."""
    pad = tuple(int(p) for p in pad)
    nd = data_of(x).ndim
    if len(pad) % 2 or len(pad) // 2 > nd:
        raise ValueError(f"pad: padding length must be even and cover at most {nd} dims, got {pad}")
    widths = [(0, 0)] * nd
    for i in range(len(pad) // 2):
        widths[nd - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if any(lo < 0 or hi < 0 for lo, hi in widths):       # crop first, then pad the rest
        crop = tuple(slice(max(-lo, 0), s - max(-hi, 0)) for s, (lo, hi) in zip(data_of(x).shape, widths))
        x = x[crop]
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    if mode == "constant":
        return ConstantPad.apply(x, widths=tuple(widths), value=value)
    np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}.get(mode)
    if np_mode is None:
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    # A non-constant pad is a gather: output position -> source index along each padded axis, so the
    # backward (scatter-add of the gradient) comes from indexing.
    out = x
    for axis, (lo, hi) in enumerate(widths):
        if lo or hi:
            n = data_of(out).shape[axis]
            if mode == "reflect" and (lo >= n or hi >= n):
                raise ValueError(f"pad: reflect padding ({lo}, {hi}) must be smaller than the dimension size {n}")
            idx = np.pad(np.arange(n), (lo, hi), mode=np_mode)
            out = out[(slice(None),) * axis + (idx,)]
    return out
