"""Matrix products: matmul in all its forms (1-D, 2-D, batched, broadcast batch dims), mm, bmm, mv, dot,
outer and einsum. Gradients against finite differences and PyTorch, second order via gradgradcheck,
and the error messages for operands that cannot be multiplied."""
import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule as cr
from oracle import arrays_for, broadcast_shapes, check_gradcheck, check_torch, needs_torch, shapes, torch

KINDS = ["1d@1d", "1d@nd", "nd@1d", "2d@2d", "batched", "broadcast"]


@st.composite
def matmul_shapes(draw, kind=None):
    """Two shapes that matmul accepts, of the given kind (drawn when None)."""
    kind = kind or draw(st.sampled_from(KINDS))
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    if kind == "1d@1d":
        return (k,), (k,)
    if kind == "1d@nd":
        return (k,), draw(shapes(min_dims=0, max_dims=2, max_side=3)) + (k, m)
    if kind == "nd@1d":
        return draw(shapes(min_dims=0, max_dims=2, max_side=3)) + (n, k), (k,)
    if kind == "2d@2d":
        return (n, k), (k, m)
    if kind == "batched":
        batch = draw(shapes(min_dims=1, max_dims=2, max_side=3))
        return batch + (n, k), batch + (k, m)
    ba, bb = draw(broadcast_shapes(max_dims=2, max_side=3))    # batch dims of different ranks / size 1
    return ba + (n, k), bb + (k, m)


def _matmul(a, b):
    return a @ b


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_matmul_gradcheck(kind, data):
    sa, sb = data.draw(matmul_shapes(kind))
    seed = data.draw(st.integers(0, 2 ** 16))
    requires = data.draw(st.sampled_from([None, [True, False], [False, True]]))
    check_gradcheck(_matmul, arrays_for([sa, sb], seed), requires=requires)


@needs_torch
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_matmul_matches_torch(kind, data):
    sa, sb = data.draw(matmul_shapes(kind))
    seed = data.draw(st.integers(0, 2 ** 16))
    check_torch(cr.matmul, torch.matmul, arrays_for([sa, sb], seed))
    check_torch(lambda a, b: a.matmul(b), _matmul, arrays_for([sa, sb], seed + 1))


@settings(max_examples=10)
@given(shapes_=matmul_shapes(), seed=st.integers(0, 2 ** 16))
def test_matmul_gradgradcheck(shapes_, seed):
    xs = [cr.tensor(a, requires_grad=True) for a in arrays_for(shapes_, seed)]
    assert cr.autograd.gradgradcheck(_matmul, xs)


@needs_torch
def test_matmul_broadcasts_batch_dims_like_torch():
    """(2, 1, 3, 4) @ (5, 4, 2): the batch dims (2, 1) and (5,) broadcast to (2, 5)."""
    arrays = arrays_for([(2, 1, 3, 4), (5, 4, 2)], 11)
    out = cr.tensor(arrays[0]) @ cr.tensor(arrays[1])
    assert out.shape == (2, 5, 3, 2)
    check_torch(_matmul, _matmul, arrays)
    check_gradcheck(_matmul, arrays)
    assert cr.autograd.gradgradcheck(_matmul, [cr.tensor(a, requires_grad=True) for a in arrays])


@needs_torch
@pytest.mark.parametrize("sa, sb", [((0,), (0,)), ((2, 0), (0, 3)), ((0, 2), (2, 3)), ((4, 2, 0), (0, 1))])
def test_matmul_with_empty_dims_matches_torch(sa, sb):
    check_torch(_matmul, _matmul, arrays_for([sa, sb], 1))


@needs_torch
def test_matmul_dtypes_like_torch():
    a, b = np.array([[1, 2], [3, 4]]), np.array([[5], [6]])
    out, expect = cr.tensor(a) @ cr.tensor(b), torch.tensor(a) @ torch.tensor(b)
    assert out.dtype == cr.int64 and str(expect.dtype) == "torch.int64"
    np.testing.assert_array_equal(out.numpy(), expect.numpy())
    f32 = cr.ones(2, 3) @ cr.ones(3)
    assert f32.dtype == cr.float32


def test_matmul_of_raw_arrays_stays_raw():
    """A backward rule's first-order carrier: arrays in, an array out (no Tensor wrapped around it)."""
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    from chainrule.ops.linalg import matmul
    out = matmul(a, b)
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, a @ b)
    with pytest.raises(Exception, match=r"matmul: shapes \(2, 3\) and \(2, 2\)"):
        matmul(a, np.ones((2, 2), np.float32))


def test_numpy_array_on_the_left_of_at():
    a = np.arange(6.0).reshape(2, 3)
    x = cr.tensor(np.ones((3, 2)), requires_grad=True)
    out = a @ x
    assert isinstance(out, cr.Tensor)
    np.testing.assert_allclose(out.detach().numpy(), a @ np.ones((3, 2)))
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), a.T @ np.ones((2, 2)))


# ---------------------------------------------------------------------- mm, bmm, mv, dot, outer
sizes = st.integers(1, 4)


@needs_torch
@given(n=sizes, k=sizes, m=sizes, b=sizes, seed=st.integers(0, 2 ** 16))
def test_mm_bmm_mv_dot_outer(n, k, m, b, seed):
    cases = [
        (cr.mm, torch.mm, [(n, k), (k, m)]),
        (lambda x, y: x.mm(y), lambda x, y: x.mm(y), [(n, k), (k, m)]),
        (cr.bmm, torch.bmm, [(b, n, k), (b, k, m)]),
        (cr.mv, torch.mv, [(n, k), (k,)]),
        (lambda x, y: x.mv(y), lambda x, y: x.mv(y), [(n, k), (k,)]),
        (cr.dot, torch.dot, [(k,), (k,)]),
        (lambda x, y: x.dot(y), lambda x, y: x.dot(y), [(k,), (k,)]),
        (cr.outer, torch.outer, [(n,), (m,)]),
        (lambda x, y: x.outer(y), lambda x, y: x.outer(y), [(n,), (m,)]),
    ]
    for i, (fn, tfn, shp) in enumerate(cases):
        arrays = arrays_for(shp, seed + i)
        check_torch(fn, tfn, arrays)
        check_gradcheck(fn, arrays)


@pytest.mark.parametrize("fn, shp", [
    (cr.mm, [(2, 3), (3, 2)]), (cr.bmm, [(2, 2, 3), (2, 3, 2)]), (cr.mv, [(2, 3), (3,)]),
    (cr.dot, [(3,), (3,)]), (cr.outer, [(2,), (3,)]),
])
def test_products_gradgradcheck(fn, shp):
    assert cr.autograd.gradgradcheck(fn, [cr.tensor(a, requires_grad=True) for a in arrays_for(shp, 4)])


# ---------------------------------------------------------------------- einsum
EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("i,i->", [(3,), (3,)]),
    ("i,j->ij", [(2,), (3,)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("ij,jk", [(2, 3), (3, 2)]),               # implicit output: letters used once, sorted
    ("ik,jk", [(2, 3), (4, 3)]),
    ("ijk->kji", [(2, 3, 2)]),
    ("ij,k->ijk", [(2, 3), (2,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("ii->i", [(3, 3)]),                       # diagonal
    ("ii", [(3, 3)]),                          # trace
    ("iij->j", [(2, 2, 3)]),
    ("ii,i->i", [(3, 3), (3,)]),
    ("i j , j k -> i k", [(2, 3), (3, 2)]),    # spaces are ignored
]


@needs_torch
@pytest.mark.parametrize("eq, shp", EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum_matches_torch_and_gradcheck(eq, shp):
    arrays = arrays_for(shp, 9)
    check_torch(lambda *xs: cr.einsum(eq, *xs), lambda *xs: torch.einsum(eq, *xs), arrays)
    check_torch(lambda *xs: cr.einsum(eq, list(xs)), lambda *xs: torch.einsum(eq, *xs), arrays)
    check_gradcheck(lambda *xs: cr.einsum(eq, *xs), arrays)


@pytest.mark.parametrize("eq, shp", EINSUM[::2], ids=[e for e, _ in EINSUM[::2]])
def test_einsum_gradgradcheck(eq, shp):
    xs = [cr.tensor(a, requires_grad=True) for a in arrays_for(shp, 2)]
    assert cr.autograd.gradgradcheck(lambda *t: cr.einsum(eq, *t), xs)


def test_einsum_promotes_dtypes_like_other_binary_ops():
    out = cr.einsum("ij,jk->ik", cr.ones(2, 3), cr.ones(3, 2, dtype=cr.int64))
    assert out.dtype == cr.float32


def test_einsum_errors_are_clear():
    with pytest.raises(NotImplementedError, match="ellipsis"):
        cr.einsum("...ij,...jk->...ik", cr.ones(2, 2), cr.ones(2, 2))
    with pytest.raises(cr.errors.ShapeError, match=r"einsum: inputs \(2, 3\).*\(4, 5\).*'j'"):
        cr.einsum("ij,jk->ik", cr.ones(2, 3), cr.ones(4, 5))


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize("sa, sb", [
    ((2, 3), (4, 5)), ((3,), (4,)), ((2, 3), (4,)), ((4,), (3, 2)), ((5, 2, 3), (5, 4, 2)), ((2, 3), (7, 4, 2)),
])
def test_matmul_shape_mismatch_names_the_op_and_both_shapes(sa, sb):
    with pytest.raises(RuntimeError) as info:
        cr.ones(*sa) @ cr.ones(*sb)
    msg = str(info.value)
    assert msg.startswith("matmul:")
    assert str(sa) in msg and str(sb) in msg
    assert f"({sa[-1]})" in msg and "transpose" in msg         # the contracted sizes and a fix


def test_matmul_batch_mismatch_names_the_batch_dims():
    with pytest.raises(cr.errors.ShapeError, match=re.escape("matmul: batch dims (2,) and (3,) of shapes "
                                                             "(2, 2, 3) and (3, 3, 5) cannot be broadcast")):
        cr.matmul(cr.ones(2, 2, 3), cr.ones(3, 3, 5))


def test_matmul_of_a_0d_tensor_is_an_error():
    with pytest.raises(cr.errors.ShapeError, match=re.escape("matmul: both arguments need at least 1 "
                                                             "dimension, got shapes () and (4,)")):
        cr.matmul(cr.tensor(2.0), cr.ones(4))


@pytest.mark.parametrize("call, pattern", [
    (lambda: cr.mm(cr.ones(2, 3), cr.ones(4, 5)), r"mm: shapes \(2, 3\) and \(4, 5\) cannot be multiplied \(3 != 4\)"),
    (lambda: cr.mm(cr.ones(2, 3, 1), cr.ones(1, 5)), r"mm: both arguments must be 2-D, got shapes \(2, 3, 1\)"),
    (lambda: cr.bmm(cr.ones(2, 2, 3), cr.ones(3, 3, 5)), r"bmm: batch sizes of shapes \(2, 2, 3\) and \(3, 3, 5\)"),
    (lambda: cr.bmm(cr.ones(1, 2, 3), cr.ones(3, 3, 5)), r"bmm: .*does not broadcast"),
    (lambda: cr.bmm(cr.ones(2, 2, 3), cr.ones(2, 4, 5)), r"bmm: shapes \(2, 2, 3\) and \(2, 4, 5\).*\(3 != 4\)"),
    (lambda: cr.bmm(cr.ones(2, 3), cr.ones(3, 2)), r"bmm: both arguments must be 3-D"),
    (lambda: cr.mv(cr.ones(2, 3), cr.ones(4)), r"mv: shapes \(2, 3\) and \(4,\).*\(3 != 4\)"),
    (lambda: cr.mv(cr.ones(2, 2, 3), cr.ones(3)), r"mv: the matrix .* must be 2-D, got shape \(2, 2, 3\)"),
    (lambda: cr.mv(cr.ones(2, 3), cr.ones(3, 1)), r"mv: the vector .* must be 1-D, got shape \(3, 1\)"),
    (lambda: cr.dot(cr.ones(3), cr.ones(4)), r"dot: shapes \(3,\) and \(4,\).*\(3 != 4\)"),
    (lambda: cr.dot(cr.ones(3, 1), cr.ones(3)), r"dot: 1D tensors expected, got shapes \(3, 1\) and \(3,\)"),
    (lambda: cr.outer(cr.ones(3, 2), cr.ones(4)), r"outer: 1D tensors expected, got shapes \(3, 2\) and \(4,\)"),
])
def test_product_errors_name_the_op_and_shapes(call, pattern):
    with pytest.raises(cr.errors.ShapeError, match=pattern):
        call()


@needs_torch
@pytest.mark.parametrize("call", [
    lambda m: m.mm(m.ones(2, 3), m.ones(4, 5)), lambda m: m.bmm(m.ones(1, 2, 3), m.ones(3, 3, 5)),
    lambda m: m.mv(m.ones(2, 2, 3), m.ones(3)), lambda m: m.dot(m.ones(3), m.ones(4)),
    lambda m: m.outer(m.ones(3, 2), m.ones(4)), lambda m: m.matmul(m.ones(2, 2, 3), m.ones(3, 3, 5)),
])
def test_rejected_exactly_where_torch_rejects(call):
    with pytest.raises(RuntimeError):
        call(torch)
    with pytest.raises(RuntimeError):
        call(cr)
