"""dtypes and PyTorch's type promotion, checked against ``torch.result_type`` / ``torch.promote_types``."""
import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule import dtypes
from oracle import needs_torch, torch

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
SCALARS = {"py_bool": True, "py_int": 3, "py_float": 2.5}
# operand kinds: a tensor with dimensions, a 0-d tensor, a Python scalar (the three priorities of promotion)
OPERANDS = [(n, "dim") for n in NAMES] + [(n, "0d") for n in NAMES] + [(s, "scalar") for s in SCALARS]
PAIRS = [(a, b) for a, b in itertools.product(OPERANDS, repeat=2) if not (a[1] == b[1] == "scalar")]


def cr_dtype(name):
    return dtypes.as_dtype(name)


def make(lib, name, kind):
    if kind == "scalar":
        return SCALARS[name]
    dt = cr_dtype(name) if lib is cr else getattr(lib, name)
    return lib.ones(3 if kind == "dim" else (), dtype=dt)


def tname(dt):
    return str(dt).split(".")[-1]


@pytest.fixture
def torch_float32_default():
    """oracle.py makes torch's default float64; promotion of Python floats is compared at the real default."""
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    yield
    torch.set_default_dtype(prev)


def pair_id(p):
    (a, ka), (b, kb) = p
    return f"{a}:{ka}-{b}:{kb}"


# ---------------------------------------------------------------------------- the dtype objects
def test_dtype_objects():
    assert cr.float32.is_floating_point and not cr.int64.is_floating_point
    assert cr.float is cr.float32 and cr.double is cr.float64 and cr.long is cr.int64 and cr.half is cr.float16
    assert cr.int is cr.int32 and cr.short is cr.int16
    assert repr(cr.float64) == "chainrule.float64"
    assert cr.float64.itemsize == 8 and cr.bool.itemsize == 1
    assert cr.uint8.is_signed is False and cr.int8.is_signed is True


@pytest.mark.parametrize("spec, expected", [
    ("float32", "float32"), ("float", "float32"), ("double", "float64"), ("long", "int64"), ("int", "int32"),
    ("half", "float16"), ("bool", "bool"), (np.float64, "float64"), (np.dtype("int16"), "int16"),
    (float, "float64"), (int, "int64"), (bool, "bool"),
])
def test_as_dtype_accepts_names_numpy_and_python_types(spec, expected):
    assert dtypes.as_dtype(spec).name == expected


def test_as_dtype_rejects_unknown_with_the_list():
    with pytest.raises(TypeError, match=r"unsupported dtype.*float32.*int64"):
        dtypes.as_dtype("complex128")


def test_dtype_survives_copy_and_pickle():
    import copy
    import pickle
    assert copy.deepcopy(cr.float64) is cr.float64
    assert pickle.loads(pickle.dumps(cr.int16)) is cr.int16


def test_tensor_of_unsupported_numpy_dtype_is_a_clear_error():
    with pytest.raises(TypeError, match=r"complex128.*no chainrule equivalent"):
        cr.from_numpy(np.zeros(2, dtype=np.complex128))


# ---------------------------------------------------------------------------- promotion vs torch
@needs_torch
@pytest.mark.parametrize("a, b", list(itertools.product(NAMES, repeat=2)))
def test_promote_types_matches_torch(a, b):
    expected = torch.promote_types(getattr(torch, a), getattr(torch, b))
    assert cr.promote_types(cr_dtype(a), cr_dtype(b)).name == tname(expected)


@needs_torch
@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_result_type_matches_torch(pair, torch_float32_default):
    (a, ka), (b, kb) = pair
    expected = torch.result_type(make(torch, a, ka), make(torch, b, kb))
    assert dtypes.result_type(make(cr, a, ka), make(cr, b, kb)).name == tname(expected)


def _binary(lib, op, x, y):
    if op == "add":
        return x + y
    if op == "mul":
        return x * y
    if op == "div":
        return x / y
    if op == "lt":
        return x < y
    if op == "maximum":
        return lib.maximum(x, y)
    if op == "where":
        return lib.where(lib.ones(3, dtype=lib.bool) if lib is torch else cr.ones(3, dtype=cr.bool), x, y)
    raise ValueError(op)


@needs_torch
@pytest.mark.parametrize("op", ["add", "mul", "div", "lt", "maximum", "where"])
def test_elementwise_result_dtype_matches_torch(op, torch_float32_default):
    # every pair of operand kinds: the result dtype (or that it is an error) must agree with PyTorch
    mismatches = []
    for (a, ka), (b, kb) in PAIRS:
        if op == "maximum" and "scalar" in (ka, kb):
            continue                                   # torch.maximum takes tensors only
        try:
            expected = tname(_binary(torch, op, make(torch, a, ka), make(torch, b, kb)).dtype)
        except (RuntimeError, TypeError):
            expected = "error"
        try:
            got = _binary(cr, op, make(cr, a, ka), make(cr, b, kb)).dtype.name
        except (RuntimeError, TypeError):
            got = "error"
        if got != expected:
            mismatches.append(f"{op}({a}:{ka}, {b}:{kb}): torch {expected}, chainrule {got}")
    assert not mismatches, "\n".join(mismatches)


@needs_torch
@pytest.mark.parametrize("op", ["sub", "pow"])
def test_sub_and_pow_result_dtype_match_torch_without_bools(op, torch_float32_default):
    # bool operands are left out: torch refuses `t - True` and bool ** bool, chainrule is more lenient
    fn = (lambda x, y: x - y) if op == "sub" else (lambda x, y: x ** y)
    mismatches = []
    for (a, ka), (b, kb) in PAIRS:
        if "bool" in (a, b) or "py_bool" in (a, b):
            continue
        try:
            expected = tname(fn(make(torch, a, ka), make(torch, b, kb)).dtype)
        except RuntimeError:
            expected = "error"
        try:
            got = fn(make(cr, a, ka), make(cr, b, kb)).dtype.name
        except RuntimeError:
            got = "error"
        if got != expected:
            mismatches.append(f"{op}({a}:{ka}, {b}:{kb}): torch {expected}, chainrule {got}")
    assert not mismatches, "\n".join(mismatches)


def test_promotion_examples_by_hand():
    # the rules, spelled out (independent of torch)
    i64 = cr.tensor([1, 2])
    f32 = cr.tensor([1.0, 2.0])
    assert (i64 + 2.5).dtype == cr.float32             # a Python float brings the default float, not float64
    assert (i64 + 2).dtype == cr.int64
    assert (f32 + cr.tensor(1.0, dtype=cr.float64)).dtype == cr.float32   # a 0-d tensor doesn't widen
    assert (f32 + cr.tensor([1.0], dtype=cr.float64)).dtype == cr.float64
    assert (cr.tensor([1], dtype=cr.uint8) + cr.tensor([1], dtype=cr.int8)).dtype == cr.int16
    assert (cr.tensor([1], dtype=cr.int32) + cr.tensor(1.0, dtype=cr.float64)).dtype == cr.float64
    assert (cr.tensor([True]) + True).dtype == cr.bool
    assert (cr.tensor([True]) + 1).dtype == cr.int64
    assert (i64 / 2).dtype == cr.float32               # true division of integers gives the default float


def test_promotion_follows_the_default_dtype():
    try:
        cr.set_default_dtype(cr.float64)
        assert (cr.tensor([1, 2]) * 0.5).dtype == cr.float64
        assert (cr.tensor([1, 2]) / cr.tensor([2, 2])).dtype == cr.float64
    finally:
        cr.set_default_dtype(cr.float32)


def test_promoted_values_are_exact():
    a = cr.tensor([1, 2], dtype=cr.uint8)
    b = cr.tensor([-3, 100], dtype=cr.int8)
    assert (a + b).tolist() == [-2, 102]                # int16: no uint8 wrap-around
    assert (cr.tensor([3]) / 2).tolist() == [1.5]


def test_gradient_flows_through_promotion_back_to_each_dtype():
    a = cr.tensor([1.0, 2.0], requires_grad=True)                        # float32
    b = cr.tensor([3.0, 4.0], dtype=cr.float64, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == cr.float32 and b.grad.dtype == cr.float64
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 2.0])
