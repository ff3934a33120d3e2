"""Creating tensors: tensor() and its dtype inference, filled/range/random factories, *_like, from_numpy."""
import numpy as np
import pytest

import chainrule as cr
from oracle import needs_torch, torch


def tname(dt):
    """'float32' for a chainrule or torch dtype."""
    return str(dt).split(".")[-1]


# ---------------------------------------------------------------------------- tensor(): dtype inference
def test_default_inference():
    assert cr.tensor(1.5).dtype == cr.float32            # Python float -> the default float dtype
    assert cr.tensor(3).dtype == cr.int64                # Python int -> int64
    assert cr.tensor(True).dtype == cr.bool
    assert cr.tensor([1, 2.5]).dtype == cr.float32
    assert cr.tensor(np.array([1.0, 2.0])).dtype == cr.float64   # a float64 ndarray keeps float64
    assert cr.tensor(np.array([1, 2], dtype=np.int32)).dtype == cr.int32


INFERENCE_CASES = [
    "1.5", "3", "True", "[1, 2.5]", "[True, 1]", "[True, 1.5]", "[[1, 2], [3, 4]]", "[]", "2 ** 40",
    "np.array([1.0, 2.0])", "np.array([1.0], dtype=np.float32)", "np.array([1, 2], dtype=np.int32)",
    "np.array([1, 2])", "np.array(5, dtype=np.uint8)", "np.array([True])", "np.float64(1.0)", "np.float32(1.0)",
    "np.int32(3)", "np.array([1.0], dtype=np.float16)", "np.int64(7)", "[1.0, float('nan')]",
]


@needs_torch
@pytest.mark.parametrize("expr", INFERENCE_CASES)
def test_inferred_dtype_matches_torch(expr):
    data = eval(expr)
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)               # oracle.py sets float64; compare at the defaults
    try:
        expected = torch.tensor(data)
    finally:
        torch.set_default_dtype(prev)
    got = cr.tensor(data)
    assert tname(got.dtype) == tname(expected.dtype), expr
    assert tuple(got.shape) == tuple(expected.shape)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_set_default_dtype_changes_float_inference():
    try:
        cr.set_default_dtype(cr.float64)
        assert cr.tensor(1.5).dtype == cr.float64
        assert cr.zeros(2).dtype == cr.float64
        assert cr.arange(0.0, 1.0, 0.5).dtype == cr.float64
        assert cr.tensor(3).dtype == cr.int64
    finally:
        cr.set_default_dtype(cr.float32)
    assert cr.tensor(1.5).dtype == cr.float32
    with pytest.raises(TypeError, match="floating"):
        cr.set_default_dtype(cr.int64)


def test_tensor_copies_its_input():
    a = np.array([1.0, 2.0])
    t = cr.tensor(a)
    a[0] = 100
    assert t.numpy()[0] == 1.0
    u = cr.tensor(t)
    t.numpy()[1] = -5
    assert u.numpy()[1] == 2.0


def test_tensor_from_a_list_of_tensors():
    t = cr.tensor([cr.tensor(1.0), cr.tensor(2.0)])
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])


def test_tensor_with_explicit_dtype_and_requires_grad():
    t = cr.tensor([1, 2], dtype=cr.float64, requires_grad=True)
    assert t.dtype == cr.float64 and t.requires_grad and t.is_leaf
    assert cr.tensor([1.7, -1.2], dtype=cr.int64).tolist() == [1, -1]
    assert cr.tensor([1.0], dtype="float64").dtype == cr.float64
    assert cr.tensor([1.0], dtype=np.float16).dtype == cr.float16


def test_ragged_list_is_a_clear_error():
    with pytest.raises(ValueError, match=r"tensor\(\).*length"):
        cr.tensor([[1, 2], [3]])


@pytest.mark.parametrize("data, dtype", [([float("nan")], cr.int32), ([float("inf")], cr.int64), ([1e10], cr.int32),
                                         ([300.0], cr.uint8), ([-1.0], cr.uint8), ([300], cr.int8)])
def test_python_numbers_that_do_not_fit_an_integer_dtype_are_a_clear_error(data, dtype):
    # NumPy would silently wrap (nan -> -2147483648, 300 -> 44); PyTorch refuses
    with pytest.raises(RuntimeError, match=rf"tensor\(\): value .* cannot be converted to type {dtype.name}"):
        cr.tensor(data, dtype=dtype)


def test_python_numbers_that_fit_are_truncated_toward_zero():
    assert cr.tensor([1.7, -2.5, 1e10], dtype=cr.int64).tolist() == [1, -2, 10_000_000_000]
    assert cr.tensor([255.9], dtype=cr.uint8).tolist() == [255]
    assert cr.tensor([float("nan"), 0.0], dtype=cr.bool).tolist() == [True, False]


def test_strings_are_a_clear_error():
    with pytest.raises(TypeError, match=r"tensor\(\).*numbers"):
        cr.tensor(["a", "b"])


def test_unsupported_dtype_is_a_clear_error():
    with pytest.raises(TypeError, match="unsupported dtype"):
        cr.zeros(2, dtype="complex64")


def test_from_numpy_shares_memory_both_ways():
    a = np.arange(6.0).reshape(2, 3)
    t = cr.from_numpy(a)
    assert t.dtype == cr.float64 and t.shape == (2, 3)
    a[0, 0] = 42.0
    assert t[0, 0].item() == 42.0
    t.numpy()[1, 2] = -1.0
    assert a[1, 2] == -1.0
    with pytest.raises(TypeError, match="np.ndarray"):
        cr.from_numpy([1.0, 2.0])


def test_as_tensor_shares_memory_when_possible():
    a = np.array([1.0, 2.0])
    t = cr.as_tensor(a)
    a[0] = 9.0
    assert t.numpy()[0] == 9.0
    assert cr.as_tensor(t) is t


# ---------------------------------------------------------------------------- factories
@needs_torch
@pytest.mark.parametrize("expr", [
    "zeros(2, 3)", "zeros((2, 3))", "ones(4)", "ones(2, 1, dtype=DT.int64)", "full((2, 2), 7)", "full((2,), 7.5)",
    "full((3,), True)", "eye(3)", "eye(2, 4)", "eye(2, dtype=DT.float64)", "arange(5)", "arange(2, 9, 3)",
    "arange(5.0)", "arange(0, 1, 0.25)", "arange(10, 0, -3)", "linspace(0, 1, 5)", "linspace(-2, 2, 1)",
    "linspace(0, 10, 4, dtype=DT.float64)", "zeros(0, 3)", "ones(())", "zeros(2, dtype=DT.bool)",
])
def test_factories_match_torch(expr):
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        t = eval("torch." + expr.replace("DT", "torch"))
    finally:
        torch.set_default_dtype(prev)
    c = eval("cr." + expr.replace("DT", "cr"))
    assert tname(c.dtype) == tname(t.dtype), expr
    assert tuple(c.shape) == tuple(t.shape), expr
    np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=1e-6)
    assert c.is_leaf and not c.requires_grad


def test_empty_has_shape_and_dtype():
    t = cr.empty(3, 2, dtype=cr.int32)
    assert t.shape == (3, 2) and t.dtype == cr.int32


def test_factories_with_requires_grad():
    for t in (cr.zeros(2, requires_grad=True), cr.ones(2, requires_grad=True), cr.randn(2, requires_grad=True),
              cr.full((2,), 1.5, requires_grad=True), cr.eye(2, requires_grad=True),
              cr.linspace(0, 1, 3, requires_grad=True)):
        assert t.requires_grad and t.is_leaf


def test_negative_size_is_a_clear_error():
    with pytest.raises(ValueError, match=r"negative dimension.*\(2, -1\)"):
        cr.zeros(2, -1)


def test_arange_step_zero_is_a_clear_error():
    with pytest.raises(ValueError, match="step"):
        cr.arange(0, 5, 0)


@needs_torch
@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"])
@pytest.mark.parametrize("dtype", [None, "float64"])
def test_like_functions_keep_shape_and_dtype(name, dtype):
    src = cr.tensor(np.ones((2, 3), dtype=np.float32))
    ref = torch.ones(2, 3, dtype=torch.float32)
    kw = {} if dtype is None else {"dtype": getattr(cr, dtype)}
    tkw = {} if dtype is None else {"dtype": getattr(torch, dtype)}
    c, t = getattr(cr, name)(src, **kw), getattr(torch, name)(ref, **tkw)
    assert tuple(c.shape) == tuple(t.shape) and tname(c.dtype) == tname(t.dtype)
    if name in ("zeros_like", "ones_like"):
        np.testing.assert_array_equal(c.numpy(), t.numpy())


def test_full_like_and_int_like():
    src = cr.tensor([1, 2, 3])
    f = cr.full_like(src, 7)
    assert f.dtype == cr.int64 and f.tolist() == [7, 7, 7]
    z = cr.zeros_like(src)
    assert z.dtype == cr.int64 and z.tolist() == [0, 0, 0]
    r = cr.randint_like(src, 5)
    assert r.dtype == cr.int64 and r.shape == (3,) and 0 <= r.min().item() and r.max().item() < 5


# ---------------------------------------------------------------------------- random
def test_rand_randn_randint_shapes_ranges_dtypes():
    cr.manual_seed(0)
    u = cr.rand(1000)
    assert u.dtype == cr.float32 and u.shape == (1000,)
    assert 0.0 <= u.min().item() and u.max().item() < 1.0
    assert abs(u.mean().item() - 0.5) < 0.05
    n = cr.randn(4000, dtype=cr.float64)
    assert n.dtype == cr.float64
    assert abs(n.mean().item()) < 0.1 and abs(n.std().item() - 1.0) < 0.1
    r = cr.randint(3, 10, (500,))
    assert r.dtype == cr.int64 and r.min().item() == 3 and r.max().item() == 9
    assert cr.rand(2, 3).shape == (2, 3) and cr.rand((2, 3)).shape == (2, 3)


def test_randint_with_high_and_size_only():
    # torch.randint(high, size): low defaults to 0
    r = cr.randint(4, (200,))
    assert r.shape == (200,) and r.dtype == cr.int64
    assert set(r.tolist()) == {0, 1, 2, 3}


def test_randint_without_size_is_a_clear_error():
    with pytest.raises(TypeError, match="size"):
        cr.randint(0, 10)


def test_manual_seed_reproducibility():
    cr.manual_seed(123)
    a = (cr.rand(5), cr.randn(2, 2), cr.randint(0, 100, (4,)), cr.randperm(6))
    cr.manual_seed(123)
    b = (cr.rand(5), cr.randn(2, 2), cr.randint(0, 100, (4,)), cr.randperm(6))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    cr.manual_seed(124)
    assert not np.array_equal(cr.rand(5).numpy(), a[0].numpy())
    assert cr.initial_seed() == 124


def test_rng_state_round_trip():
    cr.manual_seed(7)
    state = cr.get_rng_state()
    a = cr.randn(3)
    cr.randn(10)
    cr.set_rng_state(state)
    np.testing.assert_array_equal(cr.randn(3).numpy(), a.numpy())


def test_generator_objects_are_independent_of_the_global_seed():
    g = cr.Generator().manual_seed(5)
    a = cr.rand(4, generator=g)
    cr.manual_seed(0)
    cr.rand(100)
    g2 = cr.Generator().manual_seed(5)
    np.testing.assert_array_equal(cr.rand(4, generator=g2).numpy(), a.numpy())
    assert g2.initial_seed() == 5


def test_randperm_is_a_permutation():
    cr.manual_seed(1)
    p = cr.randperm(10)
    assert p.dtype == cr.int64 and sorted(p.tolist()) == list(range(10))
