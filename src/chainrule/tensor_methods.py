"""The Tensor's operators and methods: one table from method name to the op function that implements it.

Kept as a plain table (no generated code) so ``grep`` finds where ``x.exp()`` or ``a @ b`` lives.
"""
from .ops import arithmetic as ar
from .ops import compare as cmp
from .ops import index as ix
from .ops import inplace as ip
from .ops import linalg as la
from .ops import reduce as rd
from .ops import shape as sh
from .ops import sorting as so
from .ops import unary as un


def _reversed(fn):
    def r(self, other):
        return fn(other, self)
    r.__name__ = "r" + fn.__name__
    return r


def _clone(x, memory_format=None):
    return ar.Cast.apply(x, dtype=x.dtype) if x._requires_grad else x.detach()._cast(x.dtype, copy=True)


def _sub_method(x, other, alpha=1):
    return ar.sub(x, other, alpha=alpha)


def _div_(x, other):
    return ip._binary_inplace("div_", ar.div)(x, other)


from .amp.autocast_mode import lower_precision  # noqa: E402  (autocast: matmuls in float16/bfloat16)
from .autograd.names import named  # noqa: E402  (PyTorch's grad_fn names for ops built from others)

OPERATORS = {
    "__add__": ar.add, "__radd__": _reversed(ar.add),
    "__sub__": ar.sub, "__rsub__": ar.rsub,
    "__mul__": ar.mul, "__rmul__": _reversed(ar.mul),
    "__truediv__": ar.div, "__rtruediv__": ar.rdiv,
    "__floordiv__": ar.floor_divide, "__rfloordiv__": _reversed(ar.floor_divide),
    "__mod__": ar.remainder, "__rmod__": _reversed(ar.remainder),
    "__pow__": ar.pow, "__rpow__": ar.rpow,
    "__matmul__": lower_precision(la.matmul), "__rmatmul__": lower_precision(la.rmatmul),
    "__neg__": ar.neg, "__pos__": lambda x: x, "__abs__": un.abs,
    "__eq__": cmp.eq_operator, "__ne__": cmp.ne_operator,
    "__lt__": cmp.lt, "__le__": cmp.le, "__gt__": cmp.gt, "__ge__": cmp.ge,
    "__and__": cmp.bitwise_and, "__rand__": _reversed(cmp.bitwise_and),
    "__or__": cmp.bitwise_or, "__ror__": _reversed(cmp.bitwise_or),
    "__xor__": cmp.bitwise_xor, "__rxor__": _reversed(cmp.bitwise_xor),
    "__invert__": cmp.bitwise_not,
    "__getitem__": ix.getitem, "__setitem__": ip.setitem,
    "__iadd__": ip.add_, "__isub__": ip._binary_inplace("sub_", ar.sub), "__imul__": ip.mul_,
    "__itruediv__": _div_,
}

METHODS = {
    # arithmetic
    "add": ar.add, "sub": _sub_method, "subtract": _sub_method, "mul": ar.mul, "multiply": ar.mul,
    "div": ar.div, "divide": ar.div, "true_divide": ar.div, "floor_divide": ar.floor_divide,
    "remainder": ar.remainder, "neg": ar.neg, "negative": ar.neg, "pow": ar.pow,
    "maximum": ar.maximum, "minimum": ar.minimum, "clamp": ar.clamp, "clip": ar.clamp,
    "where": lambda x, cond, other: ar.where(cond, x, other), "clone": _clone,
    # unary
    "exp": un.exp, "log": un.log, "log1p": un.log1p, "log2": un.log2, "log10": un.log10, "expm1": un.expm1,
    "sqrt": un.sqrt, "rsqrt": un.rsqrt, "reciprocal": un.reciprocal, "square": un.square, "abs": un.abs,
    "sign": un.sign, "sin": un.sin, "cos": un.cos, "tan": un.tan, "tanh": un.tanh, "sigmoid": un.sigmoid,
    "relu": un.relu, "erf": un.erf, "floor": un.floor, "ceil": un.ceil, "round": un.round, "trunc": un.trunc,
    "isnan": un.isnan, "isinf": un.isinf, "isfinite": un.isfinite,
    # reductions
    "sum": rd.sum, "mean": rd.mean, "var": rd.var, "std": rd.std, "prod": rd.prod, "max": rd.max,
    "min": rd.min, "amax": rd.amax, "amin": rd.amin, "argmax": rd.argmax, "argmin": rd.argmin,
    "logsumexp": rd.logsumexp, "norm": rd.norm, "softmax": rd.softmax, "log_softmax": rd.log_softmax,
    "cumsum": rd.cumsum, "all": rd.all, "any": rd.any, "gather": rd.gather, "count_nonzero": rd.count_nonzero,
    # linear algebra
    "matmul": lower_precision(la.matmul), "mm": lower_precision(la.mm), "bmm": lower_precision(la.bmm),
    "mv": la.mv, "dot": la.dot, "outer": la.outer,
    # order and triangles
    "sort": so.sort, "argsort": so.argsort, "topk": so.topk, "tril": so.tril, "triu": so.triu,
    # shape
    "reshape": sh.reshape, "view": sh.view, "view_as": sh.view_as, "flatten": sh.flatten,
    "unflatten": sh.unflatten, "squeeze": sh.squeeze, "unsqueeze": sh.unsqueeze, "permute": sh.permute,
    "transpose": named(sh.transpose, "TransposeBackward0"),
    "swapaxes": named(sh.swapaxes, "TransposeBackward0"), "t": named(sh.t, "TBackward0"), "movedim": sh.movedim,
    "expand": sh.expand, "expand_as": sh.expand_as, "broadcast_to": sh.broadcast_to, "repeat": sh.repeat,
    "tile": sh.tile, "flip": sh.flip, "split": sh.split, "chunk": sh.chunk, "unbind": sh.unbind,
    "narrow": sh.narrow,
    # indexing
    "index_select": ix.index_select, "masked_fill": ix.masked_fill, "nonzero": ix.nonzero,
    "masked_select": ix.masked_select, "index_put": ix.index_put,
    # comparisons
    "eq": cmp.eq, "ne": cmp.ne, "lt": cmp.lt, "le": cmp.le, "gt": cmp.gt, "ge": cmp.ge,
    "logical_and": cmp.logical_and, "logical_or": cmp.logical_or, "logical_not": cmp.logical_not,
    "logical_xor": cmp.logical_xor, "equal": cmp.equal, "allclose": cmp.allclose, "isclose": cmp.isclose,
    # in place
    "add_": ip.add_, "sub_": ip._binary_inplace("sub_", ar.sub), "mul_": ip.mul_, "div_": _div_,
    "pow_": ip._binary_inplace("pow_", ar.pow), "clamp_": ip._unary_inplace("clamp_", ar.clamp),
    "clip_": ip._unary_inplace("clip_", ar.clamp), "neg_": ip._unary_inplace("neg_", ar.neg),
    "exp_": ip._unary_inplace("exp_", un.exp), "sqrt_": ip._unary_inplace("sqrt_", un.sqrt),
    "abs_": ip._unary_inplace("abs_", un.abs), "relu_": ip._unary_inplace("relu_", un.relu),
    "sigmoid_": ip._unary_inplace("sigmoid_", un.sigmoid), "tanh_": ip._unary_inplace("tanh_", un.tanh),
    "masked_fill_": ip._unary_inplace("masked_fill_", ix.masked_fill),
    "addcmul_": ip._unary_inplace("addcmul_", lambda x, t1, t2, value=1: x + value * t1 * t2),
    "addcdiv_": ip._unary_inplace("addcdiv_", lambda x, t1, t2, value=1: x + value * t1 / t2),
    "lerp_": ip._unary_inplace("lerp_", lambda x, end, weight: x + weight * (end - x)),
    "zero_": ip.zero_, "fill_": ip.fill_, "copy_": ip.copy_, "uniform_": ip.uniform_, "normal_": ip.normal_,
}

PROPERTIES = {"T": sh.T, "mT": sh.mT}


def attach(cls):
    for name, fn in {**OPERATORS, **METHODS}.items():
        setattr(cls, name, fn)
    for name, fn in PROPERTIES.items():
        setattr(cls, name, property(fn))
