"""Elementwise arithmetic (+ - * / ** neg, maximum, minimum, where, clamp): float64 gradcheck over every
broadcasting pattern, PyTorch as the oracle for values and gradients, second order, dtype promotion, edge
cases (ties, bounds, 0 ** b, negative bases, empty and 0-d tensors) and error messages.

Expected values come from PyTorch or from finite differences, never from chainrule itself.
"""
import contextlib

import numpy as np
import pytest
from hypothesis import given

import chainrule as cr
from chainrule.errors import ShapeError
from oracle import arrays_for, broadcast_shapes, check_gradcheck, check_torch, needs_torch, torch

SMALL = dict(max_dims=3, max_side=3)          # gradcheck builds full Jacobians: keep inputs small


def both(fn_cr, fn_torch, arrays, requires=None):
    """gradcheck ``fn_cr`` and compare it (values and gradients) with PyTorch running ``fn_torch``."""
    check_gradcheck(fn_cr, arrays, requires=requires)
    check_torch(fn_cr, fn_torch, arrays, requires=requires)


def inputs(shapes_, domain, seed):
    """Arrays for ``shapes_``: 'real' (standard normal), 'pos' (>= 0.5: bases of **, divisors)."""
    return arrays_for(shapes_, seed=seed, positive=(domain == "pos"))


def M(x):
    """The module a tensor belongs to, so one lambda can run on chainrule and on torch."""
    return cr if isinstance(x, cr.Tensor) else torch


# ---------------------------------------------------------------------- binary ops, every broadcast pattern
# name: (chainrule fn, torch fn, domain of a, domain of b).  Operators and functions are both covered:
# the operator forms go through Tensor.__add__ ..., the functional ones through cr.add ...
BINARY = {
    "a + b": (lambda a, b: a + b, lambda a, b: a + b, "real", "real"),
    "cr.add": (cr.add, torch.add if torch else None, "real", "real"),
    "add alpha": (lambda a, b: cr.add(a, b, alpha=2.5), lambda a, b: torch.add(a, b, alpha=2.5), "real", "real"),
    "a - b": (lambda a, b: a - b, lambda a, b: a - b, "real", "real"),
    "sub alpha": (lambda a, b: a.sub(b, alpha=-3), lambda a, b: a.sub(b, alpha=-3), "real", "real"),
    "cr.subtract": (cr.subtract, torch.subtract if torch else None, "real", "real"),
    "a * b": (lambda a, b: a * b, lambda a, b: a * b, "real", "real"),
    "cr.mul": (cr.mul, torch.mul if torch else None, "real", "real"),
    "a / b": (lambda a, b: a / b, lambda a, b: a / b, "real", "pos"),
    "a.div(-b)": (lambda a, b: a.div(-b), lambda a, b: a.div(-b), "real", "pos"),
    "a ** b": (lambda a, b: a ** b, lambda a, b: a ** b, "pos", "real"),
    "cr.pow": (cr.pow, torch.pow if torch else None, "pos", "real"),
    "cr.maximum": (cr.maximum, torch.maximum if torch else None, "real", "real"),
    "a.minimum": (lambda a, b: a.minimum(b), lambda a, b: a.minimum(b), "real", "real"),
}


@needs_torch
@pytest.mark.parametrize("name", list(BINARY))
@given(shapes_=broadcast_shapes(**SMALL))
def test_binary_broadcast(name, shapes_):
    fc, ft, da, db = BINARY[name]
    a, = inputs([shapes_[0]], da, seed=1)
    b, = inputs([shapes_[1]], db, seed=2)
    both(fc, ft, [a, b])
    both(fc, ft, [a, b], requires=[True, False])       # only one side needs a gradient
    both(fc, ft, [a, b], requires=[False, True])


@needs_torch
@given(shapes_=broadcast_shapes(num_shapes=3, **SMALL))
def test_where_broadcast(shapes_):
    cond_shape, sa, sb = shapes_
    mask = np.random.default_rng(3).random(cond_shape) > 0.5         # fixed: finite differences can't flip it
    a, b = arrays_for([sa, sb], seed=4)
    both(lambda x, y: cr.where(cr.tensor(mask), x, y), lambda x, y: torch.where(torch.tensor(mask), x, y), [a, b])
    both(lambda x, y: x.where(cr.tensor(mask), y), lambda x, y: x.where(torch.tensor(mask), y), [a, b],
         requires=[True, False])
    # scalar operands on either side
    both(lambda x: cr.where(cr.tensor(mask), x, 0.5), lambda x: torch.where(torch.tensor(mask), x, 0.5), [a])
    both(lambda y: cr.where(cr.tensor(mask), -2.0, y), lambda y: torch.where(torch.tensor(mask), -2.0, y), [b])


@needs_torch
@given(shapes_=broadcast_shapes(num_shapes=3, **SMALL))
def test_clamp_tensor_bounds_broadcast(shapes_):
    sx, slo, shi = shapes_
    x, = arrays_for([sx], seed=5)
    lo, = arrays_for([slo], seed=6, low=-1.0, high=0.0)
    hi, = arrays_for([shi], seed=7, low=0.0, high=1.0)

    def grown(t, *others):
        # PyTorch's own clamp backward fails when x is smaller than the broadcast output ("output with shape
        # [] doesn't match the broadcast shape [1]"), so the oracle side expands x first (same gradient)
        return t.expand(np.broadcast_shapes(t.shape, *(o.shape for o in others)))

    both(lambda x, lo, hi: cr.clamp(x, lo, hi), lambda x, lo, hi: torch.clamp(grown(x, lo, hi), lo, hi),
         [x, lo, hi])
    both(lambda x, lo: x.clamp(min=lo), lambda x, lo: grown(x, lo).clamp(min=lo), [x, lo])
    both(lambda x, hi: x.clip(max=hi), lambda x, hi: grown(x, hi).clip(max=hi), [x, hi])
    # bounds that cross (lo > hi somewhere): PyTorch returns hi there and routes the gradient to hi
    both(lambda x, lo, hi: cr.clip(x, lo, hi), lambda x, lo, hi: torch.clip(grown(x, lo, hi), lo, hi), [x, hi, lo])


# ---------------------------------------------------------------------- tensor-scalar and reversed operands
SCALAR = {
    "x + 2.5": (lambda x: x + 2.5, "real"),
    "2.5 + x": (lambda x: 2.5 + x, "real"),
    "x + 3 (int)": (lambda x: x + 3, "real"),
    "x - 2": (lambda x: x - 2, "real"),
    "2 - x": (lambda x: 2 - x, "real"),
    "1.5 - x": (lambda x: 1.5 - x, "real"),
    "x * 3": (lambda x: x * 3, "real"),
    "-0.5 * x": (lambda x: -0.5 * x, "real"),
    "x / 4": (lambda x: x / 4, "real"),
    "2 / x": (lambda x: 2 / x, "pos"),
    "-3.5 / x": (lambda x: -3.5 / x, "pos"),
    "x ** 2": (lambda x: x ** 2, "real"),
    "x ** 3": (lambda x: x ** 3, "real"),
    "x ** -1.5": (lambda x: x ** -1.5, "pos"),
    "x ** 0.5": (lambda x: x ** 0.5, "pos"),
    "x.pow(-2)": (lambda x: x.pow(-2), "pos"),
    "2 ** x": (lambda x: 2 ** x, "real"),
    "0.5 ** x": (lambda x: 0.5 ** x, "real"),
    "-x": (lambda x: -x, "real"),
    "cr.neg": (lambda x: M(x).neg(x), "real"),
    "x.negative": (lambda x: x.negative(), "real"),
    "maximum(x, 0-d)": (lambda x: M(x).maximum(x, M(x).tensor(0.3, dtype=M(x).float64)), "real"),
    "minimum(0-d, x)": (lambda x: M(x).minimum(M(x).tensor(-0.3, dtype=M(x).float64), x), "real"),
    "clamp(x, -0.5, 0.5)": (lambda x: x.clamp(-0.5, 0.5), "real"),
    "clamp(min=0.1)": (lambda x: x.clamp(min=0.1), "real"),
    "clip(max=-0.2)": (lambda x: x.clip(max=-0.2), "real"),
    "clamp(3, -3) crossed": (lambda x: x.clamp(3.0, -3.0), "real"),
}


@needs_torch
@pytest.mark.parametrize("name", list(SCALAR))
@given(shape=broadcast_shapes(num_shapes=1, **SMALL))
def test_tensor_scalar(name, shape):
    fn, domain = SCALAR[name]
    x, = inputs(shape, domain, seed=8)
    both(fn, fn, [x])


def test_pow_public_function_with_scalar_base():
    check_torch(lambda x: cr.pow(2.0, x), lambda x: torch.pow(2.0, x), arrays_for([(3, 2)], seed=9))
    check_gradcheck(lambda x: cr.pow(3, x), arrays_for([(3, 2)], seed=9))


# ---------------------------------------------------------------------- second order
SECOND = {
    "mul": (lambda a, b: a * b, "real", "real"),
    "div": (lambda a, b: a / b, "real", "pos"),
    "pow": (lambda a, b: a ** b, "pos", "real"),
    "pow scalar exp": (lambda a, b: a ** 3 + b ** -1.5, "real", "pos"),
    "scalar base pow": (lambda a, b: 2.5 ** a * b, "real", "real"),
    "rdiv": (lambda a, b: 2 / b + a, "real", "pos"),
}


@pytest.mark.parametrize("name", list(SECOND))
@given(shapes_=broadcast_shapes(max_dims=2, max_side=3))
def test_gradgradcheck(name, shapes_):
    fn, da, db = SECOND[name]
    a, = inputs([shapes_[0]], da, seed=10)
    b, = inputs([shapes_[1]], db, seed=11)
    xs = [cr.tensor(v, dtype=cr.float64, requires_grad=True) for v in (a, b)]
    assert cr.autograd.gradgradcheck(fn, xs)


def hessian_vector(mod, fn, arrays, v_seed=0):
    """d/dx <w, d/dx <v, fn(x)>> for every input, in ``mod`` (chainrule or torch); returns NumPy arrays."""
    rng = np.random.default_rng(v_seed)
    xs = [mod.tensor(a, dtype=mod.float64, requires_grad=True) for a in arrays]
    y = fn(*xs)
    v = mod.tensor(rng.standard_normal(tuple(y.shape)), dtype=mod.float64)
    gs = mod.autograd.grad((y * v).sum(), xs, create_graph=True)
    ws = [mod.tensor(rng.standard_normal(tuple(x.shape)), dtype=mod.float64) for x in xs]
    total = sum((g * w).sum() for g, w in zip(gs, ws))
    hs = mod.autograd.grad(total, xs, allow_unused=True)
    return [np.zeros(np.shape(a)) if h is None else h.detach().numpy() for h, a in zip(hs, arrays)]


@needs_torch
@pytest.mark.parametrize("name", ["mul", "div", "pow", "pow scalar exp", "scalar base pow"])
def test_second_order_equals_torch(name):
    fn, da, db = SECOND[name]
    a, = inputs([(2, 3)], da, seed=12)
    b, = inputs([(3,)], db, seed=13)
    for hc, ht in zip(hessian_vector(cr, fn, [a, b]), hessian_vector(torch, fn, [a, b])):
        np.testing.assert_allclose(hc, ht, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------- edge cases
@needs_torch
def test_maximum_minimum_ties_split_evenly_as_torch():
    a = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, -1.0]])
    b = np.array([[1.0, 1.0, 4.0], [0.5, 0.7, -1.0]])
    for f in ("maximum", "minimum"):
        check_torch(getattr(cr, f), getattr(torch, f), [a, b])
        check_torch(getattr(cr, f), getattr(torch, f), [a, np.array(0.5)])           # broadcast tie
        check_torch(getattr(cr, f), getattr(torch, f), [a[0], a[0].copy()])          # all ties
    x = cr.tensor([2.0], dtype=cr.float64, requires_grad=True)
    y = cr.tensor([2.0], dtype=cr.float64, requires_grad=True)
    cr.maximum(x, y).sum().backward()
    assert x.grad.item() == 0.5 and y.grad.item() == 0.5


@needs_torch
def test_clamp_exactly_at_bounds_passes_gradient():
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
    check_torch(lambda t: t.clamp(-0.5, 0.5), lambda t: t.clamp(-0.5, 0.5), [x])
    check_torch(lambda t: t.clamp(min=0.5), lambda t: t.clamp(min=0.5), [x])
    check_torch(lambda t: t.clamp(max=-0.5), lambda t: t.clamp(max=-0.5), [x])
    check_torch(lambda t: t.clamp(0.5, 0.5), lambda t: t.clamp(0.5, 0.5), [x])     # lo == hi
    # tensor bounds: ties go to x (not split as in maximum), crossed bounds route to max
    lo = np.array([-0.5, -0.5, 0.0, 1.0, 1.0, 2.0])
    hi = np.array([0.5, 0.5, 0.0, 0.5, 1.0, 2.0])
    check_torch(lambda t, l, h: cr.clamp(t, l, h), lambda t, l, h: torch.clamp(t, l, h), [x, lo, hi])
    check_torch(lambda t, l: cr.clamp(t, min=l), lambda t, l: torch.clamp(t, min=l), [x, lo])
    check_torch(lambda t, h: cr.clamp(t, max=h), lambda t, h: torch.clamp(t, max=h), [x, hi])
    t = cr.tensor([0.5], dtype=cr.float64, requires_grad=True)
    t.clamp(0.5, 1.0).sum().backward()
    assert t.grad.item() == 1.0


@needs_torch
def test_clamp_nan_propagates_like_torch():
    x = np.array([np.nan, 0.3, -2.0])
    check_torch(lambda t: t.clamp(-1.0, 1.0), lambda t: t.clamp(-1.0, 1.0), [x])
    check_torch(lambda t, l: cr.clamp(t, l), lambda t, l: torch.clamp(t, l), [x, np.zeros(3)])


@needs_torch
def test_pow_negative_base():
    x = np.array([-2.0, -0.5, -1.0, 1.5, -3.0])
    for e in (2, 3, -1, -2, 0, 1):                                      # integer exponents: real results
        check_torch(lambda t: t ** e, lambda t: t ** e, [x])
        check_gradcheck(lambda t: t ** e, [x])
    check_torch(lambda t: t ** 2.0, lambda t: t ** 2.0, [x])           # integral float exponent
    check_torch(lambda t: t ** 0.5, lambda t: t ** 0.5, [x])           # nan, as torch
    # tensor exponent: a**b with integral b is real, d/db = y ln(a) is nan for a < 0 (as torch)
    b = np.array([2.0, 3.0, 0.5, 1.5, -1.0])
    check_torch(lambda t, u: t ** u, lambda t, u: t ** u, [x, b])
    check_torch(lambda u: (-2.0) ** u, lambda u: (-2.0) ** u, [b])
    y = cr.tensor([-2.0], dtype=cr.float64) ** cr.tensor([2.0], dtype=cr.float64, requires_grad=True)
    assert y.item() == 4.0


@needs_torch
def test_pow_exponent_zero_and_zero_base():
    x = np.array([0.0, 2.0, -1.5, 0.0])
    check_torch(lambda t: t ** 0, lambda t: t ** 0, [x])
    check_torch(lambda t: t ** 0.0, lambda t: t ** 0.0, [x])
    check_torch(lambda t: t ** 1, lambda t: t ** 1, [x])
    # tensor exponent 0 at base 0: d/da = 0 (not 0 * 0**-1 = nan), d/db = 0 (not 1 * ln 0)
    check_torch(lambda t, u: t ** u, lambda t, u: t ** u, [x, np.zeros(4)])
    check_torch(lambda t, u: t ** u, lambda t, u: t ** u, [np.zeros(5), np.array([-1.0, 0.0, 0.5, 1.0, 2.0])])
    check_torch(lambda u: 0 ** u, lambda u: 0 ** u, [np.array([-1.0, 0.0, 0.5, 2.0])])   # scalar zero base
    for a, b in [(0.0, 0.0), (0.0, 2.0)]:
        xa = cr.tensor([a], dtype=cr.float64, requires_grad=True)
        xb = cr.tensor([b], dtype=cr.float64, requires_grad=True)
        (xa ** xb).sum().backward()
        assert np.isfinite(xa.grad.item()) and np.isfinite(xb.grad.item())


@needs_torch
def test_division_by_zero_like_torch():
    x = np.array([0.0, 1.0, -1.0])
    check_torch(lambda t: 1 / t, lambda t: 1 / t, [x])
    check_torch(lambda t, u: t / u, lambda t, u: t / u, [x, np.zeros(3)])


@needs_torch
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_empty_and_0d(name):
    fc, ft, da, db = BINARY[name]
    for sa, sb in [((0, 3), (0, 3)), ((0, 3), (3,)), ((0, 3), ()), ((2, 0), (1, 1)), ((), ()), ((), (2,))]:
        a, = inputs([sa], da, seed=14)
        b, = inputs([sb], db, seed=15)
        check_torch(fc, ft, [a, b])


@needs_torch
@pytest.mark.parametrize("name", list(SCALAR))
def test_scalar_ops_empty_and_0d(name):
    fn, domain = SCALAR[name]
    for s in [(0, 3), (), (1,)]:
        x, = inputs([s], domain, seed=16)
        check_torch(fn, fn, [x])


@needs_torch
def test_where_and_clamp_empty_and_0d():
    for s in [(0, 3), ()]:
        m = np.ones(s, bool)
        a, b = arrays_for([s, s], seed=17)
        check_torch(lambda x, y: cr.where(cr.tensor(m), x, y), lambda x, y: torch.where(torch.tensor(m), x, y),
                    [a, b])
        check_torch(lambda x, l, h: cr.clamp(x, l, h), lambda x, l, h: torch.clamp(x, l, h), [a, b - 1, b + 1])


def test_grad_has_shape_and_dtype_of_input():
    x = cr.randn(3, 1, requires_grad=True)                     # float32
    y = cr.randn(4, requires_grad=True)
    (x * y + x / (y * y + 1) - cr.maximum(x, y) + x ** 2).sum().backward()
    assert x.grad.shape == (3, 1) and y.grad.shape == (4,)
    assert x.grad.dtype == cr.float32 and y.grad.dtype == cr.float32


# ---------------------------------------------------------------------- dtype promotion (PyTorch's result_type)
@contextlib.contextmanager
def torch_default_float32():
    """chainrule's default float is float32; the oracle module set torch's to float64 - match for the table."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def T(mod, data, dtype):
    return mod.tensor(data, dtype=getattr(mod, dtype))


# (case, a, b): a/b are either ("t", data, dtype) for a tensor or a Python scalar.
PROMOTION = [
    ("int64 tensor + 2.5 -> float32", ("t", [1, 2], "int64"), 2.5),
    ("int64 / int64 -> float32", ("t", [1, 2], "int64"), ("t", [3, 4], "int64")),
    ("int32 / int scalar -> float32", ("t", [1, 2], "int32"), 3),
    ("int scalar / int64 -> float32", 3, ("t", [1, 2], "int64")),
    ("float32 + float64 -> float64", ("t", [1.0], "float32"), ("t", [2.0], "float64")),
    ("float32 (dim>0) + float64 0-d -> float32", ("t", [1.0, 2.0], "float32"), ("t", 2.0, "float64")),
    ("float64 0-d + float32 (dim>0) -> float32", ("t", 2.0, "float64"), ("t", [1.0, 2.0], "float32")),
    ("float32 0-d + float64 0-d -> float64", ("t", 1.0, "float32"), ("t", 2.0, "float64")),
    ("int64 (dim>0) + float64 0-d -> float64", ("t", [1, 2], "int64"), ("t", 2.0, "float64")),
    ("bool + int scalar -> int64", ("t", [True, False], "bool"), 2),
    ("bool + float scalar -> float32", ("t", [True, False], "bool"), 2.0),
    ("bool + bool scalar -> bool", ("t", [True, False], "bool"), True),
    ("int32 + int64 -> int64", ("t", [1, 2], "int32"), ("t", [3, 4], "int64")),
    ("int32 (dim>0) + int64 0-d -> int32", ("t", [1, 2], "int32"), ("t", 3, "int64")),
    ("float16 + int -> float16", ("t", [1.0, 2.0], "float16"), 3),
    ("float16 + float scalar -> float16", ("t", [1.0, 2.0], "float16"), 2.5),
    ("int64 0-d + float16 -> float16", ("t", 3, "int64"), ("t", [1.0], "float16")),
    ("uint8 + int8 -> int16", ("t", [1, 2], "uint8"), ("t", [3, 4], "int8")),
    ("int32 + 1.5 -> float32", ("t", [1, 2], "int32"), 1.5),
    ("uint8 + 1000 wraps, stays uint8", ("t", [1, 200], "uint8"), 1000),
]

PROMOTION_OPS = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
                 "div": lambda a, b: a / b}


def _build(mod, spec):
    return T(mod, spec[1], spec[2]) if isinstance(spec, tuple) else spec


def _promotion_params():
    """Every case through every op; torch.maximum/where take no Python scalars, so those pairs are left out,
    and so is bool - x, an error in both libraries (tested below)."""
    out = []
    for op in ["add", "sub", "mul", "div", "maximum", "where", "result_type"]:
        for case, a, b in PROMOTION:
            both_tensors = isinstance(a, tuple) and isinstance(b, tuple)
            has_bool = any(isinstance(v, tuple) and v[2] == "bool" for v in (a, b))
            if (op in ("maximum", "where") and not both_tensors) or (op == "sub" and has_bool):
                continue
            out.append(pytest.param(case, a, b, op, id=f"{op}: {case}"))
    return out


@needs_torch
@pytest.mark.parametrize("case,a,b,op", _promotion_params())
def test_dtype_promotion_matches_torch(case, a, b, op):
    with torch_default_float32():
        ac, bc, at, bt = _build(cr, a), _build(cr, b), _build(torch, a), _build(torch, b)
        if op == "result_type":
            oc, ot = ac + bc, torch.empty(0, dtype=torch.result_type(at, bt))
        elif op in ("maximum", "where"):
            if op == "maximum":
                oc, ot = cr.maximum(ac, bc), torch.maximum(at, bt)
            else:
                oc, ot = cr.where(cr.tensor(True), ac, bc), torch.where(torch.tensor(True), at, bt)
        else:
            oc, ot = PROMOTION_OPS[op](ac, bc), PROMOTION_OPS[op](at, bt)
        assert oc.dtype.name == str(ot.dtype).replace("torch.", ""), case
        if op == "result_type":
            return
        np.testing.assert_allclose(oc.numpy().astype(np.float64), ot.numpy().astype(np.float64), rtol=1e-3)


@needs_torch
@pytest.mark.parametrize("fc,ft", [
    (lambda m: m.tensor([1, 2]) ** 2, None), (lambda m: m.tensor([1, 2]) ** 0.5, None),
    (lambda m: 2.5 ** m.tensor([1, 2]), None), (lambda m: 2 ** m.tensor([1.0], dtype=m.float32), None),
    (lambda m: m.tensor([1.0], dtype=m.float32) ** m.tensor([2.0], dtype=m.float64), None),
    (lambda m: 2 - m.tensor([1, 2]), None), (lambda m: 2.0 - m.tensor([1, 2]), None),
    (lambda m: -m.tensor([1, 2], dtype=m.int32), None),
    (lambda m: m.clamp(m.tensor([1, 2]), 0.5), None), (lambda m: m.clamp(m.tensor([1, 5]), 2, 3), None),
    (lambda m: m.clamp(m.tensor([1.0, 2.0], dtype=m.float32), m.tensor([1.5], dtype=m.float64)), None),
    (lambda m: m.clamp(m.tensor([1, 5]), m.tensor([2.5], dtype=m.float32)), None),
    (lambda m: m.where(m.tensor([True, False]), m.tensor([1, 2]), 0.5), None),
    (lambda m: m.where(m.tensor([True, False]), 1.0, 0.0), None),
    (lambda m: m.where(m.tensor([True, False]), 1, 0), None),
    (lambda m: m.tensor([1, 2], dtype=m.int8) - 200, None),
])
def test_more_promotions_match_torch(fc, ft):
    with torch_default_float32():
        oc, ot = fc(cr), fc(torch)
        assert oc.dtype.name == str(ot.dtype).replace("torch.", "")
        np.testing.assert_allclose(oc.numpy().astype(np.float64), ot.numpy().astype(np.float64), rtol=1e-6)


def test_mixed_dtype_backward_grad_keeps_each_inputs_dtype():
    x = cr.tensor([1.0, 2.0], requires_grad=True)                           # float32
    s = cr.tensor(3.0, dtype=cr.float64, requires_grad=True)                 # 0-d float64: result stays float32
    y = x * s
    assert y.dtype == cr.float32
    y.sum().backward()
    assert x.grad.dtype == cr.float32 and s.grad.dtype == cr.float64
    np.testing.assert_allclose(s.grad.item(), 3.0)
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


# ---------------------------------------------------------------------- integers never get a gradient
def test_requires_grad_on_integer_tensor_is_a_clear_error():
    for make in (lambda: cr.tensor([1, 2], requires_grad=True), lambda: cr.tensor([1, 2]).requires_grad_(),
                 lambda: cr.tensor([True], requires_grad=True)):
        with pytest.raises(RuntimeError, match="floating point") as info:
            make()
        assert ".float()" in str(info.value)


@pytest.mark.parametrize("fn", [
    lambda x, i: x * i, lambda x, i: i - x, lambda x, i: x / i, lambda x, i: i / x, lambda x, i: x ** i,
    lambda x, i: i ** x, lambda x, i: cr.maximum(x, i), lambda x, i: cr.minimum(i, x),
    lambda x, i: cr.where(i > 1, x, i), lambda x, i: cr.clamp(x, i - 5, i), lambda x, i: x + i[0],
])
def test_backward_through_mixed_int_float_ops_skips_the_integer(fn):
    x = cr.tensor([1.5, 2.5, 3.5], dtype=cr.float64, requires_grad=True)
    i = cr.tensor([1, 2, 3])
    y = fn(x, i)
    assert y.dtype == cr.float64 and y.requires_grad
    y.sum().backward()
    assert i.grad is None and not i.requires_grad
    assert x.grad is not None and x.grad.dtype == cr.float64
    # finite differences on the float input, the integer held fixed
    check_gradcheck(lambda t: fn(t, i), [np.array([1.5, 2.5, 3.5])])


def test_integer_only_ops_record_nothing():
    i = cr.tensor([1, 2, 3])
    for y in (i + 1, i * i, -i, i ** 2, cr.maximum(i, i), i.clamp(0, 2), i / i):
        assert not y.requires_grad and y.grad_fn is None


# ---------------------------------------------------------------------- error messages
@pytest.mark.parametrize("name,fn", [
    ("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b), ("pow", lambda a, b: a ** b), ("maximum", cr.maximum),
    ("minimum", cr.minimum), ("clamp", lambda a, b: cr.clamp(a, b)), ("where", lambda a, b: cr.where(a > 0, a, b)),
    ("add", cr.add), ("sub", lambda a, b: cr.sub(a, b, alpha=2)),
])
def test_broadcast_mismatch_error_names_op_and_both_shapes(name, fn):
    a, b = cr.randn(2, 3), cr.randn(4)
    with pytest.raises(RuntimeError) as info:
        fn(a, b)
    msg = str(info.value)
    assert name in msg
    assert "(2, 3)" in msg and ("(4,)" in msg or "(2, 4)" in msg)
    assert "broadcast" in msg and "Fix" in msg
    assert "Traceback" not in msg and len(msg) < 600                   # no array dumps


def test_where_error_does_not_dump_the_mask():
    cond = cr.ones(50, 7) > 0
    with pytest.raises(RuntimeError) as info:
        cr.where(cond, cr.randn(50, 7), cr.randn(3))
    msg = str(info.value)
    assert "where" in msg and "(50, 7)" in msg and "(3,)" in msg and "True" not in msg


@pytest.mark.parametrize("fn", [
    lambda: cr.tensor([1, 2, 3]) ** -1, lambda: cr.tensor([2, 3]).pow(-2),
    lambda: cr.tensor([1, 2]) ** cr.tensor([1, -1]), lambda: 2 ** cr.tensor([1, -1]),
])
def test_integer_to_negative_integer_power_is_a_clear_error(fn):
    with pytest.raises(RuntimeError) as info:                            # as PyTorch: a RuntimeError
        fn()
    msg = str(info.value)
    assert "pow" in msg and "negative integer" in msg and "int64" in msg and ".float()" in msg
    assert not isinstance(info.value, ShapeError)


@needs_torch
def test_integer_power_with_float_exponent_promotes_like_torch():
    with torch_default_float32():
        for e in (-1.0, -0.5, 2.0):
            oc, ot = cr.tensor([1, 2, 4]) ** e, torch.tensor([1, 2, 4]) ** e
            assert oc.dtype == cr.float32 and ot.dtype == torch.float32
            np.testing.assert_allclose(oc.numpy(), ot.numpy(), rtol=1e-6)


@needs_torch
@pytest.mark.parametrize("fn", [lambda m: -m.tensor([True, False]),
                                lambda m: m.tensor([True, False]) - m.tensor([True, False]),
                                lambda m: m.tensor([True, False]) - 1, lambda m: 1.5 - m.tensor([True, False]),
                                lambda m: m.sub(m.tensor([True, False]), m.tensor([1, 2]))])
def test_bool_negation_and_subtraction_are_clear_errors(fn):
    with pytest.raises(RuntimeError, match="bool"):                    # PyTorch refuses them all too
        fn(torch)
    with pytest.raises(RuntimeError) as info:
        fn(cr)
    msg = str(info.value)
    assert ("neg" in msg or "sub" in msg) and "bool" in msg and "Fix" in msg


def test_clamp_without_bounds_is_an_error():
    with pytest.raises(ValueError, match="clamp"):
        cr.clamp(cr.randn(3))


@needs_torch
def test_pow_exponent_zero_gradient_is_exactly_zero_even_for_infinite_upstream():
    x = np.array([0.0, 2.0, -1.5])
    inf = lambda t: M(t).tensor(np.inf, dtype=M(t).float64)         # noqa: E731
    check_torch(lambda t: t ** 0 * inf(t), lambda t: t ** 0 * inf(t), [x])
    check_torch(lambda t, u: t ** u * inf(t), lambda t, u: t ** u * inf(t), [x, np.zeros(3)], requires=[True, False])


INT_DIVISIONS = {"//": lambda m, a, b: a // b, "%": lambda m, a, b: a % b,
                 "floor_divide": lambda m, a, b: m.floor_divide(a, b), "remainder": lambda m, a, b: m.remainder(a, b),
                 "div trunc": lambda m, a, b: m.div(a, b, rounding_mode="trunc"),
                 "div floor": lambda m, a, b: m.div(a, b, rounding_mode="floor")}


@pytest.mark.parametrize("op", list(INT_DIVISIONS))
@pytest.mark.parametrize("divisor", ["scalar", "tensor", "scalar tensor"])
def test_integer_division_by_zero_raises(op, divisor):
    """NumPy returns 0 for an integer // 0 or % 0 (with no warning at all for //); PyTorch raises."""
    fn = INT_DIVISIONS[op]
    a = cr.tensor([5, -3, 7])
    b = {"scalar": 0, "tensor": cr.tensor([1, 0, 2]), "scalar tensor": cr.tensor(0)}[divisor]
    with pytest.raises(ZeroDivisionError, match=r"integer division by zero .*Fix:"):
        fn(cr, a, b)
    with pytest.raises(RuntimeError, match="integer division by zero"):   # PyTorch's type too
        fn(cr, a, b)
    with pytest.raises(ZeroDivisionError):
        fn(cr, 5, cr.tensor([0, 1]))                                      # reversed: the divisor is the tensor
    python_int = {"%": lambda v: v % 2, "remainder": lambda v: v % 2, "div trunc": lambda v: int(v / 2)}
    assert fn(cr, a, 2).tolist() == [python_int.get(op, lambda v: v // 2)(v) for v in (5, -3, 7)]
    assert not np.isfinite(fn(cr, cr.tensor([5.0]), 0).numpy()).any()     # floats: inf or nan, no error


@needs_torch
@pytest.mark.parametrize("op", list(INT_DIVISIONS))
def test_integer_division_by_zero_raises_like_torch(op):
    fn = INT_DIVISIONS[op]
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        fn(torch, torch.tensor([5, 3]), 0)
    with pytest.raises(RuntimeError):
        fn(cr, cr.tensor([5, 3]), 0)
    np.testing.assert_array_equal(fn(cr, cr.tensor([5, -3]), cr.tensor([2, 4])).numpy(),
                                  fn(torch, torch.tensor([5, -3]), torch.tensor([2, 4])).numpy())
