"""Indexing: basic slicing (a view), integer-array and boolean-mask indexing, and the scatter-add that is
their backward. A position read k times receives the sum of its k gradients (``np.add.at``)."""
import numpy as np

from ..autograd.engine import Placed
from ..autograd.function import Op
from ..tensor import Tensor, _make
from ._util import as_tensor, data_of, norm_axis, wrap


def normalize_key(key):
    """A tensor index -> something NumPy indexes with: Tensors become arrays, lists of bools masks."""
    if isinstance(key, tuple):
        return tuple([_norm_one(k) for k in key])
    return _norm_one(key)


def _norm_one(k):
    if isinstance(k, Tensor):
        return data_of(k) if data_of(k).ndim else (data_of(k).item() if data_of(k).dtype.kind in "iub" else data_of(k))
    if isinstance(k, list):
        return np.asarray(k) if k else np.zeros(0, np.int64)   # [] would be a float array to NumPy
    return k


def _is_basic(key):
    """True when NumPy will return a view (ints, slices, None, Ellipsis only)."""
    if isinstance(key, tuple):
        for k in key:
            if not _basic_one(k):
                return False
        return True
    return _basic_one(key)


def _basic_one(k):
    return k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice))


class Index(Op):
    """y = x[key];   dL/dx = zeros with g added at the positions ``key`` selected"""
    __slots__ = ("in_shape", "key", "basic")
    is_view = True

    @staticmethod
    def forward(ctx, x, key, basic):
        ctx.in_shape, ctx.key, ctx.basic = x.shape, key, basic
        if basic:
            # with a trailing `...` NumPy returns a 0-d view instead of a scalar copy for x[i, j]: writes
            # through w[0] must reach w, and share its version counter, as every basic index does
            parts = key if isinstance(key, tuple) else (key,)
            for k in parts:
                if k is Ellipsis:
                    return x[key]
            return x[parts + (Ellipsis,)]
        return x[key]

    @staticmethod
    def backward(ctx, g):
        return (_placed(g, ctx.in_shape, ctx.key, ctx.basic),)

    @classmethod
    def explain_error(cls, exc, inputs, params):
        x = inputs[0]
        return IndexError(f"index: {exc} (indexing a tensor of shape {tuple(x.shape)} with "
                          f"{_describe_key(params['key'])})")


class IndexAdd(Op):
    """y = zeros(shape); y[key] += g   (the backward of indexing);   dL/dg = (dL/dy)[key]"""
    __slots__ = ("key", "basic")

    @staticmethod
    def forward(ctx, g, shape, key, basic):
        ctx.key, ctx.basic = key, basic
        out = np.zeros(shape, dtype=g.dtype)
        if basic:
            out[key] = g                   # a basic index touches each position at most once
        else:
            np.add.at(out, key, g)         # repeated indices accumulate
        return out

    @staticmethod
    def backward(ctx, gg):
        return (Index.apply(gg, key=ctx.key, basic=ctx.basic),)


def _placed(g, shape, key, basic):
    """zeros(shape) with g at ``key``: the gradient of x[key]. At first order with a basic key it goes to the
    engine unmaterialised (``Placed``), so the pieces of one tensor share one buffer; otherwise (advanced
    keys, or Tensors under create_graph) it is the IndexAdd op."""
    if basic and type(g) is np.ndarray:
        return Placed(shape, key, g)
    return IndexAdd.apply(g, shape=shape, key=key, basic=basic)


class IndexPut(Op):
    """y = x with y[key] = v;   dL/dx = g with zeros at key,   dL/dv = g[key] summed to v's shape"""
    __slots__ = ("key", "v_shape")

    @staticmethod
    def forward(ctx, x, v, key):
        ctx.key, ctx.v_shape = key, np.shape(v)
        out = x.copy()
        out[key] = v
        return out

    @staticmethod
    def backward(ctx, g):
        from .shape import sum_to                # shape imports index: a cycle
        nx, nv = ctx.needs_input_grad
        gx = gv = None
        if nx:
            mask = np.ones(data_of(g).shape, dtype=bool)
            mask[ctx.key] = False
            from .arithmetic import scale_by     # arithmetic imports shape, which imports index: a cycle
            gx = scale_by(g, mask)
        if nv:
            gv = sum_to(Index.apply(g, key=ctx.key, basic=_is_basic(ctx.key)), ctx.v_shape)
        return gx, gv


def getitem(x, key):
    if type(key) is int or type(key) is slice:             # x[t], x[a:b]: the common cases, nothing to convert
        return Index.apply(x, key=key, basic=True)
    key = normalize_key(key)
    if isinstance(key, np.ndarray) and key.dtype == np.bool_ and key.shape != data_of(x).shape[:key.ndim]:
        raise IndexError(f"index: boolean mask of shape {key.shape} does not match the indexed tensor's shape "
                         f"{tuple(x.shape)} (a mask must have the shape of the leading dims it selects)")
    return Index.apply(x, key=key, basic=_is_basic(key))


def index_put(x, key, value):
    """Out-of-place ``x[key] = value`` (differentiable in both)."""
    key = normalize_key(key)
    v = value if isinstance(value, Tensor) else as_tensor(value, dtype=x.dtype)
    if data_of(v).dtype != data_of(x).dtype:
        v = v._cast(x.dtype)
    return IndexPut.apply(x, v, key=key)


def index_select(x, dim, index):
    d = norm_axis(dim, data_of(x).ndim, "index_select")
    idx = data_of(index) if isinstance(index, Tensor) else np.asarray(index)
    if idx.ndim > 1:
        raise IndexError(f"index_select: index must be 1-D, got shape {idx.shape}")
    return getitem(x, (slice(None),) * d + (idx.reshape(-1),))


def masked_fill(x, mask, value):
    """x with ``value`` wherever ``mask`` (broadcastable) is true; no gradient flows to the filled places."""
    from .arithmetic import where                # arithmetic imports shape, which imports index: a cycle
    m = data_of(mask) if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got {m.dtype}")
    if isinstance(value, Tensor):
        value = value.item() if not value._requires_grad else value
    if not isinstance(value, Tensor):
        value = np.asarray(value, dtype=data_of(x).dtype)
        value = _make(value)
    return where(m, value, x)


def nonzero(x, as_tuple=False):
    idx = np.nonzero(data_of(x))
    if as_tuple:
        return tuple(wrap(i.astype(np.int64)) for i in idx)
    return wrap(np.stack(idx, axis=1).astype(np.int64) if idx else np.zeros((0, 0), np.int64))


def masked_select(x, mask):
    m = data_of(mask) if isinstance(mask, Tensor) else np.asarray(mask)
    m = np.broadcast_to(m, data_of(x).shape)
    return getitem(x, m)


def _describe_key(key):
    parts = key if isinstance(key, tuple) else (key,)
    out = []
    for k in parts:
        if isinstance(k, np.ndarray):
            out.append(f"array(shape={k.shape}, dtype={k.dtype})")
        else:
            out.append(repr(k))
    return "[" + ", ".join(out) + "]"
