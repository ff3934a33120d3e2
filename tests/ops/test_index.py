"""Indexing: x[key] values and gradients (gradcheck, PyTorch, and NumPy's scatter-add as oracles), and
``x[key] = v`` both outside the graph (NumPy semantics) and recorded on a non-leaf (PyTorch's gradients).

PyTorch has no negative slice steps; for those the torch side flips the dims first and then slices
with the equivalent positive step.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import chainrule as cr
from oracle import arrays_for, check_gradcheck, check_torch, needs_torch, torch


# ---------------------------------------------------------------------- helpers
def torch_key_fn(key, shape):
    """A function t -> t[key] for torch, where negative-step slices become flip + positive slice."""
    parts = list(key) if isinstance(key, tuple) else [key]
    n_real = sum(1 for k in parts if k is not None and k is not Ellipsis)
    expanded = []
    for k in parts:
        if k is Ellipsis:
            expanded += [slice(None)] * (len(shape) - n_real)
        else:
            expanded.append(k)
    flips, new, dim = [], [], 0
    for k in expanded:
        if k is None:
            new.append(None)
            continue
        if isinstance(k, slice) and k.step is not None and k.step < 0:
            n = shape[dim]
            idx = list(range(n))[k]
            flips.append(dim)
            if idx:             # positions in the flipped dim: n-1-i, increasing with step -k.step
                new.append(slice(n - 1 - idx[0], n - 1 - idx[-1] + 1, -k.step))
            else:
                new.append(slice(0, 0))
        else:
            new.append(k)
        dim += 1

    def fn(t):
        if flips:
            t = torch.flip(t, flips)
        return t[tuple(new)]
    return fn


def numpy_grad(a, key, seed):
    """d(sum(x[key] * seed))/dx by scatter-add: positions read k times get k contributions."""
    g = np.zeros_like(a)
    np.add.at(g, key, seed)
    return g


def check_index(a, key, torch_key=None):
    """gradcheck, PyTorch values+grads, and NumPy values + scatter-add gradient for x[key]."""
    x = cr.tensor(a, requires_grad=True)
    out = x[key]
    np_key = tuple(k.numpy() if isinstance(k, cr.Tensor) else k for k in key) if isinstance(key, tuple) \
        else (key.numpy() if isinstance(key, cr.Tensor) else key)
    np_key = tuple(_np_list(k) for k in np_key) if isinstance(np_key, tuple) else _np_list(np_key)
    expected = a[np_key]
    np.testing.assert_array_equal(out.detach().numpy(), expected)
    seed = np.random.default_rng(0).standard_normal(expected.shape)
    (out * cr.tensor(seed)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), numpy_grad(a, np_key, seed), rtol=1e-12, atol=1e-12)
    if a.size <= 64:
        check_gradcheck(lambda t: t[key], [a])
    if torch is not None:
        tk = torch_key if torch_key is not None else torch_key_fn(key, a.shape) if _basic(key) else None
        if tk is None:
            tkey = _to_torch_key(key)
            tk = lambda t: t[tkey]      # noqa: E731
        check_torch(lambda t: t[key], tk, [a])


def _np_list(k):
    if isinstance(k, list):
        return np.asarray(k) if k else np.zeros(0, np.int64)    # an empty list indexes nothing
    return k


def _basic(key):
    parts = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (int, slice)) for k in parts)


def _to_torch_key(key):
    def one(k):
        if isinstance(k, cr.Tensor):
            return torch.tensor(k.numpy())
        if isinstance(k, np.ndarray):
            return torch.tensor(k)
        return k
    return tuple(one(k) for k in key) if isinstance(key, tuple) else one(key)


# ---------------------------------------------------------------------- basic indexing (generated)
@st.composite
def basic_key(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    parts = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "slice", "full"]))
        if kind == "int":
            parts.append(draw(st.integers(-n, n - 1)))
        elif kind == "full":
            parts.append(slice(None))
        else:
            bound = st.one_of(st.none(), st.integers(-n - 1, n + 1))
            step = draw(st.sampled_from([None, 1, 2, 3, -1, -2, -3]))
            parts.append(slice(draw(bound), draw(bound), step))
    # drop a trailing run (implicit full slices), or replace a run with `...`
    if draw(st.booleans()):
        parts = parts[:draw(st.integers(0, len(parts)))]
    elif draw(st.booleans()):
        i = draw(st.integers(0, len(parts)))
        j = draw(st.integers(i, len(parts)))
        parts = parts[:i] + [Ellipsis] + parts[j:]
    for _ in range(draw(st.integers(0, 2))):           # sprinkle new axes
        parts.insert(draw(st.integers(0, len(parts))), None)
    return shape, tuple(parts)


@needs_torch
@given(case=basic_key())
def test_basic_indexing_generated(case):
    shape, key = case
    (a,) = arrays_for([shape], seed=len(key))
    check_index(a, key)


@needs_torch
@pytest.mark.parametrize("key", [
    0, -1, (1, 2), (slice(None), 1), slice(1, None), slice(None, None, -1), (slice(None), slice(None, None, -2)),
    (Ellipsis, 0), (None, Ellipsis, None), (0, None, slice(1, 3)), (Ellipsis, slice(3, 0, -1)),
    (slice(None, None, -1), Ellipsis, slice(None, None, -1)), (), (slice(5, 10),),
])
def test_basic_indexing_examples(key):
    a = arrays_for([(3, 4, 5)], seed=1)[0]
    check_index(a, key)


def test_basic_index_is_a_view():
    x = cr.zeros(3, 4)
    v = x[1:, ::-1]
    v[0, 0] = 5.0
    assert x[1, 3].item() == 5.0
    assert x._vc is v._vc


# ---------------------------------------------------------------------- advanced indexing
ADVANCED = [
    [0, 0, 1],                                   # repeated rows accumulate
    [-1, 0, -1, -1],
    ([0, 2, 2], [1, 1, 3]),                      # two arrays, paired
    (slice(None), [3, 0, 3]),
    (Ellipsis, [0, 0]),
    ([[0, 1], [1, 1]], slice(1, 3)),              # 2-d index array
    ([[0], [2]], [0, 3, 3]),                      # index arrays broadcast
    ([0, 1], slice(None), [1, 0]),                # separated arrays -> result dims move to the front
    (1, [0, 0, 2]),
    (None, [2, 1], 0),
    (slice(None, None, 2), slice(None), [4, 4, 0]),
    [],                                           # empty index list
]


@needs_torch
@pytest.mark.parametrize("key", ADVANCED, ids=[repr(k) for k in ADVANCED])
def test_integer_array_indexing(key):
    a = arrays_for([(3, 4, 5)], seed=2)[0]
    # torch reads a bare list as one index array (as NumPy does); a tuple as one entry per dim
    check_index(a, key if isinstance(key, tuple) else key)


@needs_torch
@pytest.mark.parametrize("key_fn", [
    lambda: cr.tensor([2, 0, 2]),
    lambda: (cr.tensor([[0, 1]]), cr.tensor([[3], [3]])),
    lambda: (slice(None), cr.tensor([1, 1]), slice(0, 2)),
    lambda: cr.tensor(1),                         # a 0-d int tensor acts as an int
    lambda: (cr.tensor([0, 1], dtype=cr.int32), 0),
])
def test_tensor_indices(key_fn):
    a = arrays_for([(3, 4, 5)], seed=3)[0]
    check_index(a, key_fn())


def test_repeated_index_gradient_accumulates():
    x = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True)
    y = x[[0, 0, 1]]
    (y * cr.tensor([1.0, 10.0, 100.0], dtype=cr.float64)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [11.0, 100.0, 0.0])


@needs_torch
@given(data=st.data())
def test_integer_arrays_generated(data):
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    nd = len(shape)
    idx_shape = tuple(data.draw(st.lists(st.integers(1, 3), max_size=2)))
    key = []
    for n in shape:
        if data.draw(st.booleans()):
            key.append(np.array(data.draw(st.lists(st.integers(-n, n - 1), min_size=int(np.prod(idx_shape)),
                                                   max_size=int(np.prod(idx_shape))))).reshape(idx_shape))
        else:
            key.append(slice(None))
    if all(isinstance(k, slice) for k in key):
        key[data.draw(st.integers(0, nd - 1))] = np.zeros(idx_shape, dtype=np.int64)
    key = tuple(key)
    (a,) = arrays_for([shape], seed=4)
    check_index(a, key)


@needs_torch
@pytest.mark.parametrize("mask_of", [
    lambda a: a > 0,                              # full mask -> 1-d result
    lambda a: a[:, :, 0] > 0,                     # leading dims
    lambda a: a[:, 0, 0] > 0,
    lambda a: np.zeros(a.shape, bool),            # selects nothing
])
def test_boolean_mask_indexing(mask_of):
    a = arrays_for([(3, 4, 5)], seed=5)[0]
    check_index(a, cr.tensor(mask_of(a)))


@needs_torch
def test_boolean_mask_combinations():
    a = arrays_for([(3, 4, 5)], seed=6)[0]
    m4 = cr.tensor([True, False, True, True])
    check_index(a, (slice(None), m4))
    check_index(a, (0, m4))
    check_index(a, (Ellipsis, cr.tensor([False, True, False, True, True])))
    check_index(a, (cr.tensor([True, False, True]), slice(None), [0, 4]))
    x = cr.tensor(a, requires_grad=True)
    check_torch(lambda t: t[t > 0.5], lambda t: t[t > 0.5], [a])       # mask built from the tensor itself
    assert x[[True, False, True]].shape == (2, 4, 5)                   # a list of bools is a mask


def test_masked_select_and_fill():
    a = arrays_for([(3, 4)], seed=7)[0]
    mask = a > 0
    check_gradcheck(lambda t: t.masked_select(cr.tensor(mask)), [a])
    check_gradcheck(lambda t: t.masked_fill(cr.tensor(mask), 2.0), [a])
    if torch is not None:
        check_torch(lambda t: t.masked_fill(cr.tensor(mask), -1.0),
                    lambda t: t.masked_fill(torch.tensor(mask), -1.0), [a])
        check_torch(lambda t: t.masked_select(cr.tensor(mask[0])),
                    lambda t: t.masked_select(torch.tensor(mask[0])), [a])


@needs_torch
def test_index_select():
    a = arrays_for([(3, 4)], seed=8)[0]
    check_torch(lambda t: t.index_select(1, cr.tensor([3, 0, 3])),
                lambda t: t.index_select(1, torch.tensor([3, 0, 3])), [a])


def test_index_second_order():
    # the backward of indexing (a scatter-add) is itself differentiable
    a = arrays_for([(3, 4)], seed=9)[0]
    x = cr.tensor(a, requires_grad=True)
    assert cr.autograd.gradgradcheck(lambda t: (t[[0, 0, 2], 1:] ** 2), [x])
    assert cr.autograd.gradgradcheck(lambda t: (t[::-1, None] ** 2), [x])


# ---------------------------------------------------------------------- errors
def test_index_errors_name_the_shape():
    x = cr.zeros(2, 3, 4)
    with pytest.raises(IndexError, match=r"\(2, 3, 4\)"):
        x[5]
    with pytest.raises(IndexError, match=r"\(2, 3, 4\)"):
        x[0, 0, 0, 0]
    with pytest.raises(IndexError, match=r"\(2, 3, 4\)"):
        x[[0, 3]]
    with pytest.raises(IndexError, match=r"\(2, 3, 4\)"):
        x[cr.tensor([0.0, 1.0])]
    with pytest.raises(IndexError, match=r"mask.*\(3,\).*\(2, 3, 4\)"):
        x[cr.tensor([True, False, True])]
    with pytest.raises(IndexError, match=r"\(2, 3, 4\)"):
        x[:, :, cr.tensor([True, False, True])]
    with pytest.raises(IndexError, match=r"\(2, 3, 4\)"):
        x[1.5]


# ---------------------------------------------------------------------- setitem outside the graph
SETITEM = [
    (0, 7.0),
    ((slice(None), 1), np.array([1.0, 2.0, 3.0, 4.0, 5.0])),     # broadcast over the first dim
    ((Ellipsis, slice(None, None, -2)), 9.0),
    ((slice(1, None), slice(None), 0), np.array([[1.0], [2.0]])),
    ([0, 2], -1.0),
    (([0, 2], [1, 3]), np.array([[5.0], [6.0]])),
    ("mask", 0.0),
    ("mask", "values"),
    ((None, 1), np.arange(20.0).reshape(4, 5)),
]


@pytest.mark.parametrize("key,value", SETITEM, ids=[repr(k) for k, _ in SETITEM])
def test_setitem_numpy_semantics(key, value):
    a = arrays_for([(3, 4, 5)], seed=10)[0]
    if isinstance(key, str):
        key = a > 0
        if isinstance(value, str):
            value = np.arange(key.sum(), dtype=np.float64)
    expected = a.copy()
    expected[key] = value
    x = cr.tensor(a)
    v0 = x._vc[0]
    ckey = cr.tensor(key) if isinstance(key, np.ndarray) else key
    x[ckey] = cr.tensor(value) if isinstance(value, np.ndarray) else value
    np.testing.assert_array_equal(x.numpy(), expected)
    assert x._vc[0] > v0, "x[key] = v must bump the version counter"


def test_setitem_dtype_follows_destination():
    x = cr.tensor([1, 2, 3])
    x[0] = 2.7                   # as PyTorch (and NumPy): the value is cast to the tensor's dtype
    assert x.tolist() == [2, 2, 3]
    y = cr.zeros(3, dtype=cr.float64)
    y[1:] = cr.tensor([4, 5])
    assert y.tolist() == [0.0, 4.0, 5.0] and y.dtype == cr.float64


def test_setitem_through_a_view_writes_the_base():
    x = cr.zeros(2, 3)
    row = x[1]
    row[::2] = 1.0
    np.testing.assert_array_equal(x.numpy(), [[0, 0, 0], [1, 0, 1]])
    assert x._vc[0] == row._vc[0] == 1


def test_setitem_errors():
    x = cr.zeros(2, 3)
    with pytest.raises(ValueError, match=r"\(4,\).*\(2, 3\)"):
        x[0] = cr.zeros(4)
    with pytest.raises(IndexError, match=r"\(2, 3\)"):
        x[5] = 1.0
    with pytest.raises(RuntimeError, match="read-only.*clone"):
        cr.zeros(3).expand(2, 3)[0] = 1.0


# ---------------------------------------------------------------------- setitem recorded on a non-leaf
SETITEM_GRAD = [
    (0, (4,)),
    ((slice(None), 1), ()),                            # scalar-shaped value broadcast into a column
    ((slice(None), slice(1, 3)), (1, 2)),              # broadcast along dim 0: w's grad sums over it
    ([2, 0], (2, 4)),
    (([0, 1], [3, 3]), (2,)),
    ("mask", ()),
]


@needs_torch
@pytest.mark.parametrize("key,wshape", SETITEM_GRAD, ids=[repr(k) for k, _ in SETITEM_GRAD])
def test_setitem_on_non_leaf_matches_torch(key, wshape):
    a, w = arrays_for([(3, 4), wshape], seed=11)
    if isinstance(key, str):
        key = a > 0

    def run(mod, x, v):
        y = x * 2
        y[mod.tensor(key) if isinstance(key, np.ndarray) else key] = v
        return y * y          # y's new value is used (and saved) after the write

    check_torch(lambda x, v: run(cr, x, v), lambda x, v: run(torch, x, v), [a, w])
    check_gradcheck(lambda x, v: run(cr, x, v), [a, w])


@needs_torch
def test_setitem_constant_into_non_leaf():
    a = arrays_for([(3, 4)], seed=12)[0]

    def run(mod, x):
        y = x.exp()
        y = y * 1
        y[1:, ::2] = 0.0
        y[0] = y[2] * 3       # the value depends on y itself
        return y.sum(0)
    check_torch(lambda x: run(cr, x), lambda x: run(torch, x), [a])


def test_setitem_value_requires_grad_into_plain_tensor():
    w = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    buf = cr.zeros(3, dtype=cr.float64)
    buf[1:] = w * 3
    assert buf.requires_grad and buf.grad_fn is not None
    buf.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0])


def test_setitem_on_leaf_requiring_grad_is_an_error():
    x = cr.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf.*requires grad.*no_grad"):
        x[0] = 1.0
    with cr.no_grad():              # allowed outside recording, as in PyTorch
        x[0] = 1.0
    assert x.tolist() == [1.0, 0.0, 0.0] and x.is_leaf
