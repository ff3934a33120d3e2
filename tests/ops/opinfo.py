"""The op registry for tests (in the spirit of PyTorch's OpInfo): one entry per exported op or Tensor method.

An ``OpInfo`` says how to call the op (``names``: the exported spellings it covers, e.g. ``cr.exp``,
``Tensor.exp``, ``F.relu``; the first is the one the gradient checks run), what inputs it takes (``sample``:
a function yielding ``Sample``s over small random shapes, broadcasting, 0-d and empty where the op allows
them) and what it supports (``diff``, ``gradgrad``, ``float32``, tolerances, the torch spelling when it
differs). tests/ops/test_opinfo.py runs one harness over every entry, and fails when an exported op has
neither an entry nor a place in ``EXCLUDED``.

A ``Sample`` holds NumPy arrays (floating arrays become float64 tensors that require grad, integer and bool
arrays become index/mask tensors) and plain keyword arguments; tuples of arrays (index keys) are converted
element-wise. Expected values always come from PyTorch or finite differences, never from chainrule.
"""
from dataclasses import dataclass, field

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import tensor_methods


@dataclass
class Sample:
    args: tuple
    kwargs: dict = field(default_factory=dict)
    nograd: tuple = ()          # positions of floating args that are data, not differentiated (targets)
    fd: bool = True             # finite differences apply (False: e.g. padding_idx rows get no gradient by design)


def S(*args, nograd=(), fd=True, **kwargs):
    return Sample(args, kwargs, nograd, fd)


@dataclass
class OpInfo:
    name: str
    names: tuple                # exported spellings: 'cr.x', 'Tensor.x', 'F.x' (the first drives gradcheck)
    sample: object              # rng -> iterable of Sample
    diff: bool = True           # has a gradient for its floating inputs
    gradgrad: bool = True       # second order through create_graph
    float32: bool = True
    torch: dict = field(default_factory=dict)    # spelling -> torch spelling, when they differ
    torch_grad: bool = True     # torch implements the gradient (the oracle compares it)
    atol: float = 1e-10
    rtol: float = 1e-7
    grad_atol: float = 1e-5     # gradcheck tolerances
    grad_rtol: float = 1e-3
    xfail: dict = field(default_factory=dict)    # harness test name -> the bug it hits (strict xfail)


# ---------------------------------------------------------------- calling an op on either library
def call(spelling, lib, args, kwargs):
    """Run one exported spelling on chainrule (lib 'cr') or torch (lib = the torch module)."""
    kind, name = spelling.split(".", 1)
    if kind == "Tensor":
        if name.endswith("_") and not name.startswith("__"):          # in-place: on a copy, never a leaf
            return getattr(args[0].clone(), name)(*args[1:], **kwargs)
        if name.startswith("__i"):
            x = args[0].clone()
            return getattr(x, name)(*args[1:], **kwargs)
        if name == "__setitem__":
            x = args[0].clone()
            x[args[1]] = args[2]
            return x
        return getattr(args[0], name)(*args[1:], **kwargs)
    if lib == "cr":
        mod = cr if kind == "cr" else F
    else:
        mod = lib if kind == "cr" else lib.nn.functional
    if kind == "F" and name.endswith("_"):                            # F.relu_ ...: in-place, on a copy
        return getattr(mod, name)(args[0].clone(), *args[1:], **kwargs)
    return getattr(mod, name)(*args, **kwargs)


# ---------------------------------------------------------------- sample generators
def _r(rng, shape, domain="real"):
    return np.asarray(_draw(rng, shape, domain), dtype=np.float64)     # 0-d stays an array, not a scalar


def _draw(rng, shape, domain):
    if domain == "real":
        return rng.standard_normal(shape)
    if domain == "pos":                      # >= 0.5
        return np.abs(rng.standard_normal(shape)) + 0.5
    if domain == "away":                     # |x| >= 0.2: kinks stay out of the finite-difference stencil
        return np.sign(rng.standard_normal(shape)) * (np.abs(rng.standard_normal(shape)) + 0.2)
    if domain == "unit":                     # (-0.9, 0.9)
        return rng.uniform(-0.9, 0.9, shape)
    if domain == "prob":                     # (0.1, 0.9)
        return rng.uniform(0.1, 0.9, shape)
    if domain == "small":                    # tan, exp-like: keep derivatives moderate
        return rng.uniform(-1.0, 1.0, shape)
    raise ValueError(domain)


UNARY_SHAPES = [(), (3,), (2, 3), (0, 3)]
BINARY_SHAPES = [((2, 3), (2, 3)), ((2, 1), (3,)), ((), (2, 3)), ((0, 3), (3,))]


def random_shape(rng, max_dims=3):
    return tuple(int(n) for n in rng.integers(1, 4, size=int(rng.integers(1, max_dims + 1))))


def random_broadcast_pair(rng):
    """(shape, a shape that broadcasts against it): some sides 1, maybe fewer leading dims."""
    s1 = random_shape(rng)
    s2 = tuple(1 if rng.random() < 0.4 else n for n in s1)[int(rng.integers(0, len(s1))):]
    return (s1, s2) if rng.random() < 0.5 else (s2, s1)


def unary(domain="real", **kw):
    def gen(rng):
        for s in UNARY_SHAPES + [random_shape(rng)]:
            yield S(_r(rng, s, domain), **kw)
    return gen


def binary(domain="real", domain2=None):
    def gen(rng):
        for s1, s2 in BINARY_SHAPES + [random_broadcast_pair(rng)]:
            yield S(_r(rng, s1, domain), _r(rng, s2, domain2 or domain))
    return gen


def binary_scalar(domain="real", scalar=1.5):
    """A tensor and a Python number (the reflected operators and scalar forms)."""
    def gen(rng):
        for s in UNARY_SHAPES:
            yield S(_r(rng, s, domain), scalar)
    return gen


def reduction(domain="real", dims=True, keepdim=True, extra=None):
    def gen(rng):
        yield S(_r(rng, (), domain))
        yield S(_r(rng, (2, 3), domain))
        if dims:
            yield S(_r(rng, (2, 3), domain), dim=1)
            if keepdim:
                yield S(_r(rng, (2, 3, 2), domain), dim=0, keepdim=True)
            yield S(_r(rng, (0, 3), domain), dim=1)
        for kw in (extra or []):
            yield S(_r(rng, (2, 3), domain), **kw)
    return gen


def fixed(*builders):
    """Samples built by small lambdas of rng (ops with their own argument shapes)."""
    def gen(rng):
        for b in builders:
            yield b(rng)
    return gen


def ints(rng, shape, high=4):
    return rng.integers(0, high, shape)


def bools(rng, shape):
    return np.asarray(rng.random(shape) < 0.5)


# ---------------------------------------------------------------- entries
def both(name, torch_name=None):
    """'cr.name' and 'Tensor.name'."""
    return (f"cr.{name}", f"Tensor.{name}")


OPS = []


def add(name, names, sample, **kw):
    OPS.append(OpInfo(name, tuple(names), sample, **kw))


# -- elementwise, unary
for _n, _dom in [("exp", "small"), ("log", "pos"), ("sqrt", "pos"), ("rsqrt", "pos"), ("sin", "real"),
                 ("cos", "real"), ("tan", "small"), ("tanh", "real"), ("sigmoid", "real"), ("erf", "real"),
                 ("square", "real"), ("reciprocal", "away"), ("log2", "pos"), ("log10", "pos"),
                 ("log1p", "unit"), ("expm1", "small"), ("neg", "real"), ("abs", "away"), ("relu", "away")]:
    _names = list(both(_n))
    if _n in ("sigmoid", "tanh", "relu"):
        _names.append(f"F.{_n}")
    if _n == "neg":
        _names += ["cr.negative", "Tensor.negative", "Tensor.__neg__"]
    if _n == "abs":
        _names += ["cr.absolute", "Tensor.__abs__"]
    if _n in ("exp", "sqrt", "abs", "relu", "sigmoid", "tanh", "neg"):
        _names.append(f"Tensor.{_n}_")
    if _n == "relu":
        _names.append("F.relu_")
    add(_n, _names, unary(_dom))
add("pos", ["Tensor.__pos__"], unary())
for _n in ("sign", "floor", "ceil", "round", "trunc"):        # piecewise constant: gradient zero
    add(_n, both(_n), unary("away"))
for _n in ("isnan", "isinf", "isfinite"):
    add(_n, both(_n), unary(), diff=False)

# -- activations (nn.functional)
add("relu6", ["F.relu6"], unary("away"))
add("leaky_relu", ["F.leaky_relu", "F.leaky_relu_"], unary("away", negative_slope=0.1))
add("elu", ["F.elu", "F.elu_"], unary("away"))
add("gelu", ["F.gelu"], unary())
add("gelu_tanh", ["F.gelu"], unary(approximate="tanh"))
add("silu", ["F.silu"], unary())
add("softplus", ["F.softplus"], unary())
add("hardtanh", ["F.hardtanh", "F.hardtanh_"], fixed(lambda r: S(r.uniform(-0.8, 0.8, (2, 3))),
                                       lambda r: S(np.array([-2.0, 2.0, 0.3]))))

# -- elementwise, binary
for _n, _extra in [("add", ["cr.add", "Tensor.__add__", "Tensor.__iadd__", "Tensor.add_"]),
                   ("sub", ["cr.subtract", "Tensor.subtract", "Tensor.__sub__", "Tensor.__isub__", "Tensor.sub_"]),
                   ("mul", ["cr.multiply", "Tensor.multiply", "Tensor.__mul__", "Tensor.__imul__", "Tensor.mul_"])]:
    add(_n, list(both(_n)) + [e for e in _extra if e != f"cr.{_n}"], binary())
add("div", list(both("div")) + ["cr.divide", "Tensor.divide", "cr.true_divide", "Tensor.true_divide",
                                "Tensor.__truediv__", "Tensor.__itruediv__", "Tensor.div_"], binary("real", "away"))
add("add_alpha", ["cr.add", "Tensor.add"], fixed(lambda r: S(r.standard_normal((2, 3)), r.standard_normal(3), alpha=2.0)))
add("sub_alpha", ["cr.sub", "Tensor.sub"], fixed(lambda r: S(r.standard_normal((2, 3)), r.standard_normal(3), alpha=-0.5)))
add("radd", ["Tensor.__radd__"], binary_scalar())
add("rsub", ["Tensor.__rsub__"], binary_scalar())
add("rmul", ["Tensor.__rmul__"], binary_scalar())
add("rtruediv", ["Tensor.__rtruediv__"], binary_scalar("away"))
add("pow", list(both("pow")) + ["Tensor.__pow__", "Tensor.pow_"], binary("pos", "real"))
add("pow_scalar", ["Tensor.__pow__", "cr.pow"], binary_scalar("pos", 2.5))
add("rpow", ["Tensor.__rpow__"], binary_scalar("small", 1.7))
add("maximum", both("maximum"), binary())
add("minimum", both("minimum"), binary())
add("floor_divide", list(both("floor_divide")) + ["Tensor.__floordiv__"], binary("pos", "pos"), diff=False)
add("rfloordiv", ["Tensor.__rfloordiv__"], binary_scalar("pos", 7.0), diff=False)
add("remainder", list(both("remainder")) + ["Tensor.__mod__"], binary("real", "pos"))
add("rmod", ["Tensor.__rmod__"], binary_scalar("pos", 7.0),
    torch_grad=False)                 # torch: "derivative for aten::remainder is not implemented" (Scalar % Tensor)
add("clamp", list(both("clamp")) + ["cr.clip", "Tensor.clip", "Tensor.clamp_", "Tensor.clip_"],
    unary("real", min=-0.5, max=0.7))
add("where", ["cr.where"], fixed(lambda r: S(bools(r, (2, 3)), r.standard_normal((2, 3)), r.standard_normal(3)),
                                 lambda r: S(bools(r, (0, 3)), r.standard_normal((0, 3)), r.standard_normal(())),))
add("where_method", ["Tensor.where"], fixed(lambda r: S(r.standard_normal((2, 3)), bools(r, (2, 3)),
                                                        r.standard_normal(3))))
add("clone", both("clone"), unary())
add("addcmul_", ["Tensor.addcmul_"], fixed(lambda r: S(*[r.standard_normal((2, 3)) for _ in range(3)], value=0.5)))
add("addcdiv_", ["Tensor.addcdiv_"], fixed(lambda r: S(r.standard_normal((2, 3)), r.standard_normal((2, 3)),
                                                       _r(r, (2, 3), "pos"), value=0.5)))
add("lerp_", ["Tensor.lerp_"], fixed(lambda r: S(r.standard_normal((2, 3)), r.standard_normal((2, 3)), 0.3)))
add("zero_", ["Tensor.zero_"], unary())
add("fill_", ["Tensor.fill_"], fixed(lambda r: S(r.standard_normal((2, 3)), 0.5)))
add("copy_", ["Tensor.copy_"], fixed(lambda r: S(r.standard_normal((2, 3)), r.standard_normal((2, 3))),
                                     lambda r: S(r.standard_normal((2, 3)), r.standard_normal(3))))
add("masked_fill", list(both("masked_fill")) + ["Tensor.masked_fill_"],
    fixed(lambda r: S(r.standard_normal((2, 3)), bools(r, (2, 3)), 0.5),
          lambda r: S(r.standard_normal((2, 3)), bools(r, (3,)), -1.0),
          lambda r: S(r.standard_normal(()), bools(r, ()), 2.0), lambda r: S(r.standard_normal((0, 3)), bools(r, (3,)), 2.0)))

# -- comparisons and logic (no gradient)
for _n, _ops in [("eq", ["Tensor.__eq__"]), ("ne", ["cr.not_equal", "Tensor.__ne__"]),
                 ("lt", ["cr.less", "Tensor.__lt__"]), ("le", ["cr.less_equal", "Tensor.__le__"]),
                 ("gt", ["cr.greater", "Tensor.__gt__"]), ("ge", ["cr.greater_equal", "Tensor.__ge__"])]:
    add(_n, list(both(_n)) + _ops, binary(), diff=False)
for _n in ("logical_and", "logical_or", "logical_xor"):
    add(_n, both(_n), fixed(lambda r: S(bools(r, (2, 3)), bools(r, (3,))),
                            lambda r: S(r.standard_normal((2, 3)), bools(r, (2, 3))),
                            lambda r: S(bools(r, ()), bools(r, (0,)))), diff=False)
add("logical_not", both("logical_not"), fixed(lambda r: S(bools(r, (2, 3))), lambda r: S(r.standard_normal(3))),
    diff=False)
for _n, _op in [("bitwise_and", "__and__"), ("bitwise_or", "__or__"), ("bitwise_xor", "__xor__")]:
    add(_n, [f"Tensor.{_op}", f"Tensor.__r{_op[2:]}"],
        fixed(lambda r: S(ints(r, (2, 3), 8), ints(r, (3,), 8)), lambda r: S(bools(r, (2, 3)), bools(r, (2, 3)))),
        diff=False, float32=False)
add("bitwise_not", ["Tensor.__invert__"], fixed(lambda r: S(ints(r, (2, 3), 8)), lambda r: S(bools(r, (3,)))),
    diff=False, float32=False)
add("equal", both("equal"), binary(), diff=False)
add("isclose", both("isclose"), fixed(lambda r: S(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.1, 3.0 + 1e-9]))),
    diff=False)
add("allclose", both("allclose"), fixed(lambda r: S(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9])),
                                        lambda r: S(np.array([1.0, 2.0]), np.array([1.0, 2.1]))), diff=False)

# -- reductions
for _n in ("sum", "mean", "prod", "logsumexp"):
    _s = reduction("pos" if _n == "prod" else "real")
    if _n == "logsumexp":
        _s = fixed(lambda r: S(r.standard_normal((2, 3)), dim=1), lambda r: S(r.standard_normal((2, 3, 2)), dim=0,
                                                                               keepdim=True))
    add(_n, both(_n), _s)
add("var", both("var"), reduction(extra=[dict(dim=0, correction=0)]))
add("std", both("std"), fixed(lambda r: S(r.standard_normal((2, 3))), lambda r: S(r.standard_normal((3, 4)), dim=1),
                              lambda r: S(r.standard_normal((3, 4)), dim=0, keepdim=True, correction=0)))
add("var_mean", ["cr.var_mean"], fixed(lambda r: S(r.standard_normal((3, 4)), dim=1)))
add("std_mean", ["cr.std_mean"], fixed(lambda r: S(r.standard_normal((3, 4)), dim=1)))
add("amax", both("amax"), fixed(lambda r: S(r.permutation(6).reshape(2, 3) * 0.3, dim=1),
                                lambda r: S(r.permutation(6).reshape(2, 3) * 0.3)))
add("amin", both("amin"), fixed(lambda r: S(r.permutation(6).reshape(2, 3) * 0.3, dim=0)))
add("max", both("max"), fixed(lambda r: S(r.permutation(6).reshape(2, 3) * 0.3),
                              lambda r: S(r.permutation(6).reshape(2, 3) * 0.3, dim=1),
                              lambda r: S(r.permutation(6).reshape(2, 3) * 0.3, dim=0, keepdim=True)))
add("min", both("min"), fixed(lambda r: S(r.permutation(6).reshape(2, 3) * 0.3),
                              lambda r: S(r.permutation(6).reshape(2, 3) * 0.3, dim=1)))
add("maximum_binary_max", ["cr.max"], fixed(lambda r: S(r.permutation(6).reshape(2, 3) * 0.3,
                                                        r.permutation(6).reshape(2, 3) * 0.3 + 0.1)))
for _n in ("argmax", "argmin"):
    add(_n, both(_n), fixed(lambda r: S(r.standard_normal((2, 3))), lambda r: S(r.standard_normal((2, 3)), dim=1),
                            lambda r: S(r.standard_normal((2, 3)), dim=0, keepdim=True)), diff=False)
for _n in ("all", "any"):
    add(_n, both(_n), fixed(lambda r: S(bools(r, (2, 3))), lambda r: S(bools(r, (2, 3)), dim=1),
                            lambda r: S(bools(r, (0, 3)))), diff=False)
add("count_nonzero", both("count_nonzero"),
    fixed(lambda r: S(ints(r, (2, 3), 2).astype(float)), lambda r: S(ints(r, (3, 4), 2).astype(float), dim=1),
          lambda r: S(ints(r, (3, 4), 3)), lambda r: S(np.zeros((0, 3)))), diff=False)
add("norm", both("norm"), fixed(lambda r: S(r.standard_normal((2, 3))), lambda r: S(r.standard_normal((2, 3)), dim=1),
                                lambda r: S(_r(r, (2, 3), "away"), p=1, dim=0),
                                lambda r: S(r.standard_normal((2, 3)), p=3, dim=1, keepdim=True)))
add("softmax", list(both("softmax")) + ["F.softmax"], fixed(lambda r: S(r.standard_normal((2, 3)), dim=1),
                                                            lambda r: S(r.standard_normal(()), dim=0),
                                                            lambda r: S(r.standard_normal((0, 3)), dim=1),
                                                            lambda r: S(r.standard_normal((2, 3, 2)), dim=0)))
add("log_softmax", list(both("log_softmax")) + ["F.log_softmax"],
    fixed(lambda r: S(r.standard_normal((2, 3)), dim=1), lambda r: S(r.standard_normal((2, 3, 2)), dim=-1),
          lambda r: S(r.standard_normal(()), dim=0), lambda r: S(r.standard_normal((0, 3)), dim=1)))
add("cumsum", both("cumsum"), fixed(lambda r: S(r.standard_normal((2, 3)), dim=1),
                                    lambda r: S(r.standard_normal((3,)), dim=0),
                                    lambda r: S(r.standard_normal(()), dim=0), lambda r: S(r.standard_normal((0, 2)), dim=0)))
add("gather", both("gather"), fixed(lambda r: S(r.standard_normal((3, 4)), 1, ints(r, (3, 2), 4)),
                                    lambda r: S(r.standard_normal((3, 4)), 0, ints(r, (2, 4), 3))))
add("take_along_dim", ["cr.take_along_dim"], fixed(lambda r: S(r.standard_normal((3, 4)), ints(r, (3, 2), 4), dim=1)))

# -- linear algebra
add("matmul", list(both("matmul")) + ["Tensor.__matmul__"],
    fixed(lambda r: S(r.standard_normal((2, 3)), r.standard_normal((3, 4))),
          lambda r: S(r.standard_normal((2, 2, 3)), r.standard_normal((3,))),
          lambda r: S(r.standard_normal((3,)), r.standard_normal((2, 3, 2))),
          lambda r: S(r.standard_normal((2, 1, 2, 3)), r.standard_normal((3, 3, 2))),
          lambda r: S(r.standard_normal((0, 3)), r.standard_normal((3, 2)))))
add("rmatmul", ["Tensor.__rmatmul__"], fixed(lambda r: S(r.standard_normal((3, 2)), r.standard_normal((2, 3)))))
add("mm", both("mm"), fixed(lambda r: S(r.standard_normal((2, 3)), r.standard_normal((3, 4))),
                            lambda r: S(r.standard_normal((0, 3)), r.standard_normal((3, 2))),
                            lambda r: S(r.standard_normal((2, 0)), r.standard_normal((0, 2)))))
add("bmm", both("bmm"), fixed(lambda r: S(r.standard_normal((2, 2, 3)), r.standard_normal((2, 3, 4)))))
add("mv", both("mv"), fixed(lambda r: S(r.standard_normal((2, 3)), r.standard_normal((3,)))))
add("dot", both("dot"), fixed(lambda r: S(r.standard_normal((3,)), r.standard_normal((3,)))))
add("outer", both("outer"), fixed(lambda r: S(r.standard_normal((3,)), r.standard_normal((2,)))))
add("einsum", ["cr.einsum"], fixed(lambda r: S("ij,jk->ik", r.standard_normal((2, 3)), r.standard_normal((3, 2))),
                                   lambda r: S("bij->bji", r.standard_normal((2, 2, 3)))))

# -- order, triangles
add("sort", both("sort"), fixed(lambda r: S(r.permutation(6).reshape(2, 3) * 0.3),
                                lambda r: S(r.permutation(6).reshape(2, 3) * 0.3, dim=0, descending=True),
                                lambda r: S(r.standard_normal((0, 3))), lambda r: S(r.standard_normal(()))))
add("argsort", both("argsort"), fixed(lambda r: S(r.permutation(6).reshape(2, 3) * 0.3, dim=1)), diff=False)
add("topk", both("topk"), fixed(lambda r: S(r.permutation(6).reshape(2, 3) * 0.3, 2),
                                lambda r: S(r.permutation(6).reshape(2, 3) * 0.3, 1, dim=0, largest=False)))
add("tril", both("tril"), fixed(lambda r: S(r.standard_normal((3, 4))), lambda r: S(r.standard_normal((2, 3, 3)), 1),
                                lambda r: S(r.standard_normal((0, 3)))))
add("triu", both("triu"), fixed(lambda r: S(r.standard_normal((3, 4))), lambda r: S(r.standard_normal((3, 3)), -1)))

# -- shape
add("reshape", both("reshape"), fixed(lambda r: S(r.standard_normal((2, 3)), (3, 2)),
                                      lambda r: S(r.standard_normal((2, 3)), (-1,)),
                                      lambda r: S(r.standard_normal(()), (1, 1)),
                                      lambda r: S(r.standard_normal((0, 3)), (3, 0))))
add("view", ["Tensor.view"], fixed(lambda r: S(r.standard_normal((2, 3)), 3, 2)))
add("view_as", ["Tensor.view_as"], fixed(lambda r: S(r.standard_normal((2, 3)), r.standard_normal((3, 2))), ))
add("expand_as", ["Tensor.expand_as"], fixed(lambda r: S(r.standard_normal((1, 3)), r.standard_normal((2, 3)))))
add("flatten", both("flatten"), fixed(lambda r: S(r.standard_normal((2, 3, 2))),
                                      lambda r: S(r.standard_normal((2, 3, 2)), start_dim=1),
                                      lambda r: S(r.standard_normal(()))))
add("unflatten", both("unflatten"), fixed(lambda r: S(r.standard_normal((2, 6)), 1, (2, 3))))
add("squeeze", both("squeeze"), fixed(lambda r: S(r.standard_normal((2, 1, 3))),
                                      lambda r: S(r.standard_normal((2, 1, 3)), 1)))
add("unsqueeze", both("unsqueeze"), fixed(lambda r: S(r.standard_normal((2, 3)), 1), lambda r: S(r.standard_normal(()), 0)))
add("permute", both("permute"), fixed(lambda r: S(r.standard_normal((2, 3, 4)), (2, 0, 1)),
                                      lambda r: S(r.standard_normal(()), ()), lambda r: S(r.standard_normal((0, 2)), (1, 0))))
add("transpose", both("transpose"), fixed(lambda r: S(r.standard_normal((2, 3, 4)), 0, 2)))
add("swapaxes", both("swapaxes"), fixed(lambda r: S(r.standard_normal((2, 3, 4)), 0, 2),
                                        lambda r: S(r.standard_normal((0, 3)), 0, 1)))
add("t", both("t"), fixed(lambda r: S(r.standard_normal((2, 3))), lambda r: S(r.standard_normal((3,))),
                          lambda r: S(r.standard_normal(())), lambda r: S(r.standard_normal((0, 2)))))
add("movedim", both("movedim"), fixed(lambda r: S(r.standard_normal((2, 3, 4)), 0, 2)))
add("expand", both("expand"), torch={"cr.expand": "Tensor.expand"}, sample= fixed(lambda r: S(r.standard_normal((1, 3)), 2, 3),
                                    lambda r: S(r.standard_normal((3,)), (2, -1))))
add("broadcast_to", both("broadcast_to"), fixed(lambda r: S(r.standard_normal((3,)), (2, 3))))
add("repeat", both("repeat"), fixed(lambda r: S(r.standard_normal((2, 3)), 2, 1)), torch={"cr.repeat": "Tensor.repeat"})
add("tile", both("tile"), fixed(lambda r: S(r.standard_normal((2, 3)), (2, 1))))
add("flip", both("flip"), fixed(lambda r: S(r.standard_normal((2, 3)), (0, 1)), lambda r: S(r.standard_normal((0, 3)), (1,))))
add("narrow", both("narrow"), fixed(lambda r: S(r.standard_normal((4, 3)), 0, 1, 2)))
add("split", both("split"), fixed(lambda r: S(r.standard_normal((5, 3)), 2), lambda r: S(r.standard_normal((4, 3)), [1, 2], 1)))
add("chunk", both("chunk"), fixed(lambda r: S(r.standard_normal((5, 3)), 2)))
add("unbind", both("unbind"), fixed(lambda r: S(r.standard_normal((2, 3))), lambda r: S(r.standard_normal((2, 3)), 1)))
add("cat", ["cr.cat", "cr.concat", "cr.concatenate"],
    fixed(lambda r: S([r.standard_normal((2, 3)), r.standard_normal((1, 3))]),
          lambda r: S([r.standard_normal((2, 3)), r.standard_normal((2, 1))], dim=1),
          lambda r: S([r.standard_normal((0, 3)), r.standard_normal((2, 3))])))
add("stack", ["cr.stack"], fixed(lambda r: S([r.standard_normal((2, 3)), r.standard_normal((2, 3))], dim=1)))
add("hstack", ["cr.hstack"], fixed(lambda r: S([r.standard_normal((2, 3)), r.standard_normal((2, 1))])))
add("vstack", ["cr.vstack"], fixed(lambda r: S([r.standard_normal((2, 3)), r.standard_normal((3,))])))
add("broadcast_tensors", ["cr.broadcast_tensors"], fixed(lambda r: S(r.standard_normal((2, 1)), r.standard_normal((3,)))))
add("pad", ["F.pad"], fixed(lambda r: S(r.standard_normal((2, 3)), (1, 2)),
                            lambda r: S(r.standard_normal((1, 2, 3)), (1, 0, 0, 1), value=0.5)))

# -- indexing
add("getitem", ["Tensor.__getitem__"],
    fixed(lambda r: S(r.standard_normal((3, 4)), (slice(0, 2), 1)),
          lambda r: S(r.standard_normal((3, 4)), (ints(r, (5,), 3),)),
          lambda r: S(r.standard_normal((3, 4)), (bools(r, (3,)),)),
          lambda r: S(r.standard_normal((3, 4)), (Ellipsis, None, slice(None, None, 2)))))
add("setitem", ["Tensor.__setitem__"], fixed(lambda r: S(r.standard_normal((3, 4)), (slice(0, 2),), r.standard_normal(4))))
add("index_put", ["Tensor.index_put"], fixed(lambda r: S(r.standard_normal((4, 3)), (np.array([0, 2]),),
                                                        r.standard_normal((2, 3))),
                                             lambda r: S(r.standard_normal((4, 3)), (np.array([1, 3]), np.array([0, 2])),
                                                         r.standard_normal((2,)))))
add("index_select", both("index_select"), fixed(lambda r: S(r.standard_normal((4, 3)), 0, ints(r, (5,), 4)),
                                                lambda r: S(r.standard_normal((4, 3)), 1, ints(r, (2,), 3)),
                                                lambda r: S(r.standard_normal((4, 3)), 0, ints(r, (0,), 4))))
add("masked_select", both("masked_select"), fixed(lambda r: S(r.standard_normal((2, 3)), bools(r, (2, 3))),
                                                  lambda r: S(r.standard_normal((2, 3)), bools(r, (3,)))))
add("nonzero", both("nonzero"), fixed(lambda r: S(ints(r, (2, 3), 2).astype(float)),
                                      lambda r: S(np.zeros((0, 3)))), diff=False)

# -- nn.functional
add("linear", ["F.linear"], fixed(lambda r: S(r.standard_normal((2, 3)), r.standard_normal((4, 3)), r.standard_normal(4)),
                                  lambda r: S(r.standard_normal((2, 2, 3)), r.standard_normal((4, 3))),
                                  lambda r: S(r.standard_normal((0, 3)), r.standard_normal((4, 3)), r.standard_normal(4))))
add("bilinear", ["F.bilinear"], fixed(lambda r: S(r.standard_normal((2, 3)), r.standard_normal((2, 2)),
                                                  r.standard_normal((4, 3, 2)), r.standard_normal(4))))
add("conv1d", ["F.conv1d"], fixed(lambda r: S(r.standard_normal((2, 2, 5)), r.standard_normal((3, 2, 2)),
                                              r.standard_normal(3), stride=2, padding=1)))
add("conv2d", ["F.conv2d"], fixed(lambda r: S(r.standard_normal((1, 2, 4, 4)), r.standard_normal((2, 2, 2, 2)),
                                              r.standard_normal(2), padding=1)))
add("conv_transpose1d", ["F.conv_transpose1d"], fixed(lambda r: S(r.standard_normal((1, 2, 4)),
                                                                  r.standard_normal((2, 3, 2)), stride=2)))
add("conv_transpose2d", ["F.conv_transpose2d"], fixed(lambda r: S(r.standard_normal((1, 2, 3, 3)),
                                                                  r.standard_normal((2, 1, 2, 2)), padding=1)))
add("unfold", ["F.unfold"], fixed(lambda r: S(r.standard_normal((1, 2, 4, 4)), 2, stride=2)))
add("fold", ["F.fold"], fixed(lambda r: S(r.standard_normal((1, 8, 4)), (4, 4), 2, stride=2)))
add("max_pool1d", ["F.max_pool1d"], fixed(lambda r: S(r.permutation(12).reshape(1, 2, 6) * 0.3, 2)))
add("max_pool2d", ["F.max_pool2d"], fixed(lambda r: S(r.permutation(32).reshape(1, 2, 4, 4) * 0.1, 2)))
add("avg_pool1d", ["F.avg_pool1d"], fixed(lambda r: S(r.standard_normal((1, 2, 6)), 2)))
add("avg_pool2d", ["F.avg_pool2d"], fixed(lambda r: S(r.standard_normal((1, 2, 4, 4)), 2)))
add("adaptive_avg_pool1d", ["F.adaptive_avg_pool1d"], fixed(lambda r: S(r.standard_normal((1, 2, 6)), 3)))
add("adaptive_avg_pool2d", ["F.adaptive_avg_pool2d"], fixed(lambda r: S(r.standard_normal((1, 2, 4, 4)), (2, 1))))
add("interpolate", ["F.interpolate"], fixed(lambda r: S(r.standard_normal((1, 2, 3)), scale_factor=2),
                                            lambda r: S(r.standard_normal((1, 1, 2, 3)), size=(4, 5), mode="bilinear",
                                                        align_corners=False)))
add("layer_norm", ["F.layer_norm"], fixed(lambda r: S(r.standard_normal((2, 4)), (4,), r.standard_normal(4),
                                                      r.standard_normal(4))))
add("rms_norm", ["F.rms_norm"], fixed(lambda r: S(r.standard_normal((2, 4)), (4,), r.standard_normal(4))))
add("batch_norm", ["F.batch_norm"], fixed(lambda r: S(r.standard_normal((4, 3)), None, None, r.standard_normal(3),
                                                      r.standard_normal(3), training=True)))
add("group_norm", ["F.group_norm"], fixed(lambda r: S(r.standard_normal((2, 4, 3)), 2, r.standard_normal(4),
                                                      r.standard_normal(4))))
for _n in ("dropout", "dropout1d", "dropout2d", "dropout3d"):       # evaluation mode: the identity
    _shape = {"dropout": (2, 3), "dropout1d": (2, 3, 4), "dropout2d": (2, 3, 2, 2), "dropout3d": (1, 2, 2, 2, 2)}[_n]
    add(_n, [f"F.{_n}"], fixed(lambda r, s=_shape: S(r.standard_normal(s), p=0.5, training=False)))
add("embedding", ["F.embedding"], fixed(lambda r: S(ints(r, (2, 3), 5), r.standard_normal((5, 3))),
                                        lambda r: S(ints(r, (4,), 5), r.standard_normal((5, 2)), padding_idx=0, fd=False)))
add("one_hot", ["F.one_hot"], fixed(lambda r: S(ints(r, (2, 3), 4)), lambda r: S(ints(r, (3,), 4), 5)),
    diff=False, float32=False)
add("normalize", ["F.normalize"], fixed(lambda r: S(r.standard_normal((2, 3))),
                                        lambda r: S(r.standard_normal((2, 3)), p=1, dim=0)))
add("cosine_similarity", ["F.cosine_similarity"], fixed(lambda r: S(r.standard_normal((2, 3)), r.standard_normal((2, 3))),
                                                        lambda r: S(r.standard_normal((2, 3)), r.standard_normal(3), dim=-1)))
add("scaled_dot_product_attention", ["F.scaled_dot_product_attention"],
    fixed(lambda r: S(*[r.standard_normal((1, 2, 3, 4)) for _ in range(3)]),
          lambda r: S(*[r.standard_normal((2, 3, 4)) for _ in range(3)], is_causal=True)))
add("multi_head_attention_forward", ["F.multi_head_attention_forward"],
    fixed(lambda r: S(*[r.standard_normal((3, 1, 4)) for _ in range(3)], 4, 2, r.standard_normal((12, 4)),
                      r.standard_normal(12), None, None, False, 0.0, r.standard_normal((4, 4)),
                      r.standard_normal(4), training=False, need_weights=False)))
add("cross_entropy", ["F.cross_entropy"], fixed(lambda r: S(r.standard_normal((3, 4)), ints(r, (3,), 4)),
                                                lambda r: S(r.standard_normal(4), np.asarray(2)),
                                                lambda r: S(r.standard_normal((3, 4)), ints(r, (3,), 4),
                                                            label_smoothing=0.1, reduction="sum"),
                                                lambda r: S(r.standard_normal((2, 4, 3)), ints(r, (2, 3), 4))))
add("nll_loss", ["F.nll_loss"], fixed(lambda r: S(r.standard_normal((3, 4)), ints(r, (3,), 4))))
for _n in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
    add(_n, [f"F.{_n}"], fixed(lambda r: S(_r(r, (2, 3), "away"), _r(r, (2, 3), "away") * 3),
                               lambda r: S(_r(r, (3,), "away"), _r(r, (3,), "away") * 3, reduction="sum")))
add("binary_cross_entropy", ["F.binary_cross_entropy"],
    fixed(lambda r: S(_r(r, (2, 3), "prob"), _r(r, (2, 3), "prob"), nograd=(1,))))
add("binary_cross_entropy_with_logits", ["F.binary_cross_entropy_with_logits"],
    fixed(lambda r: S(r.standard_normal((2, 3)), _r(r, (2, 3), "prob"))))
add("kl_div", ["F.kl_div"], fixed(lambda r: S(np.log(_r(r, (2, 3), "prob")), _r(r, (2, 3), "prob"),
                                              reduction="batchmean")))
add("cosine_embedding_loss", ["F.cosine_embedding_loss"],
    fixed(lambda r: S(r.standard_normal((3, 4)), r.standard_normal((3, 4)), np.array([1.0, -1.0, 1.0]), nograd=(2,))))
add("margin_ranking_loss", ["F.margin_ranking_loss"],
    fixed(lambda r: S(r.standard_normal(4), r.standard_normal(4) + 3, np.array([1.0, -1.0, 1.0, -1.0]), margin=0.1,
                      nograd=(2,))))


# ---------------------------------------------------------------- what is deliberately not in the registry
EXCLUDED = {
    # creation functions: no tensor input to differentiate (tests/test_creation.py)
    **{f"cr.{n}": "creation" for n in (
        "arange", "as_tensor", "bernoulli", "empty", "empty_like", "eye", "from_numpy", "full", "full_like",
        "linspace", "logspace", "multinomial", "normal", "ones", "ones_like", "rand", "rand_like", "randint",
        "randint_like", "randn", "randn_like", "randperm", "tensor", "zeros", "zeros_like")},
    # utilities and settings: not ops
    **{f"cr.{n}": "utility" for n in (
        "broadcast_shapes", "compile", "get_default_dtype", "get_float32_matmul_precision", "get_num_threads",
        "get_rng_state", "initial_seed", "is_floating_point", "is_grad_enabled", "is_tensor", "load", "save",
        "manual_seed", "numel", "promote_types", "seed", "set_default_dtype", "set_float32_matmul_precision",
        "set_num_threads", "set_printoptions", "set_rng_state")},
    "cr.detach": "nograd",             # cuts the graph by definition (tests/autograd)
    "Tensor.uniform_": "random",       # fills with random numbers: no value to compare
    "Tensor.normal_": "random",
}


def exported():
    """Every exported spelling that must have an entry: cr.<op>, F.<op>, Tensor.<method/operator>."""
    import inspect
    names = set()
    for n in dir(cr):
        obj = getattr(cr, n)
        if n.startswith("_") or not callable(obj) or inspect.isclass(obj) or inspect.ismodule(obj):
            continue
        names.add(f"cr.{n}")
    names |= {f"F.{n}" for n in F.__all__}
    names |= {f"Tensor.{n}" for n in {**tensor_methods.OPERATORS, **tensor_methods.METHODS}}
    return names


def covered():
    return {n for op in OPS for n in op.names}


def params(test):
    """pytest params for one harness test, one per entry, id = the entry's name, with its known bug."""
    return [pytest.param(op, id=op.name, marks=[pytest.mark.xfail(strict=True, reason=op.xfail[test])]
                         if test in op.xfail else []) for op in OPS]
