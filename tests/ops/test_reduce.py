"""Reductions, softmax / log_softmax, cumsum and gather, through the public API.

Every differentiable op is checked three ways over hypothesis-drawn shapes and dims: float64 finite
differences (``check_gradcheck``), PyTorch as an oracle for values and gradients (``check_torch``), and,
for the ones the spec names, second derivatives (``gradgradcheck``). Then the edge cases: ties, huge
logits, zeros in prod, the zero vector in norm, empty and 0-d tensors, integer dtypes and error messages.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule as cr
from oracle import arrays_for, check_gradcheck, check_torch, needs_torch, shapes, torch

INF = float("inf")


# ---------------------------------------------------------------------- strategies
@st.composite
def shape_and_dims(draw, min_dims=0, max_dims=3, max_side=3, kinds=("none", "int", "neg", "tuple")):
    """A shape, a ``dim`` that fits it (None, an int, a negative int or a tuple mixing signs), keepdim."""
    shape = draw(shapes(min_dims=min_dims, max_dims=max_dims, max_side=max_side))
    nd = len(shape)
    n = max(nd, 1)                      # a 0-d tensor accepts dim 0 / -1
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        dim = None
    elif kind == "int":
        dim = draw(st.integers(0, n - 1))
    elif kind == "neg":
        dim = draw(st.integers(-n, -1))
    else:
        axes = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
        dim = tuple(a - n if draw(st.booleans()) else a for a in axes)
    return shape, dim, draw(st.booleans())


def torch_dim(dim, shape):
    """PyTorch spelling of a full reduction: every dim listed (dim 0 for a 0-d tensor)."""
    if dim is None:
        return tuple(range(len(shape))) or 0
    return dim


# name -> (chainrule call, torch call, minimum number of reduced elements for a finite result)
def _vnorm(p):
    return lambda x, d, k: torch.linalg.vector_norm(x, p, d, k)


REDUCTIONS = {
    "sum": (lambda x, d, k: x.sum(d, keepdim=k), lambda x, d, k: x.sum(d, keepdim=k), 1),
    "cr.sum": (lambda x, d, k: cr.sum(x, dim=d, keepdim=k), lambda x, d, k: torch.sum(x, dim=d, keepdim=k), 1),
    "mean": (lambda x, d, k: x.mean(d, keepdim=k), lambda x, d, k: x.mean(d, keepdim=k), 1),
    "var": (lambda x, d, k: x.var(d, keepdim=k), lambda x, d, k: x.var(d, keepdim=k), 2),
    "var_biased": (lambda x, d, k: x.var(d, unbiased=False, keepdim=k),
                   lambda x, d, k: x.var(d, unbiased=False, keepdim=k), 1),
    "var_correction2": (lambda x, d, k: cr.var(x, d, keepdim=k, correction=2),
                        lambda x, d, k: torch.var(x, d, keepdim=k, correction=2), 3),
    "std": (lambda x, d, k: x.std(d, keepdim=k), lambda x, d, k: x.std(d, keepdim=k), 2),
    "std_correction0": (lambda x, d, k: x.std(d, keepdim=k, correction=0),
                        lambda x, d, k: x.std(d, keepdim=k, correction=0), 2),
    "amax": (lambda x, d, k: x.amax(d, keepdim=k), lambda x, d, k: x.amax(d, keepdim=k), 1),
    "amin": (lambda x, d, k: cr.amin(x, d, keepdim=k), lambda x, d, k: torch.amin(x, d, keepdim=k), 1),
    "logsumexp": (lambda x, d, k: x.logsumexp(d, keepdim=k), lambda x, d, k: x.logsumexp(d, keepdim=k), 1),
    "norm_2": (lambda x, d, k: x.norm(dim=d, keepdim=k), _vnorm(2), 1),
    "norm_fro": (lambda x, d, k: cr.norm(x, "fro", d, k), _vnorm(2), 1),
    "norm_1": (lambda x, d, k: x.norm(1, d, k), _vnorm(1), 1),
    "norm_inf": (lambda x, d, k: x.norm(INF, d, k), _vnorm(INF), 1),
    "norm_-inf": (lambda x, d, k: x.norm(-INF, d, k), _vnorm(-INF), 1),
    "norm_3": (lambda x, d, k: x.norm(3, d, k), _vnorm(3), 1),
    "norm_0.5": (lambda x, d, k: x.norm(0.5, d, k), _vnorm(0.5), 1),
    "norm_-1.5": (lambda x, d, k: x.norm(-1.5, d, k), _vnorm(-1.5), 1),
}


def _draw_case(data, name):
    shape, dim, keepdim = data.draw(shape_and_dims(), label="shape, dim, keepdim")
    if REDUCTIONS[name][2] > 1:                    # var/std: >= 3 elements in every reduced slice
        shape = tuple(max(s, 3) for s in shape)
    return shape, dim, keepdim


# ---------------------------------------------------------------------- gradients over generated shapes
@pytest.mark.parametrize("name", list(REDUCTIONS))
@given(data=st.data())
def test_reduction_gradcheck(name, data):
    shape, dim, keepdim = _draw_case(data, name)
    if REDUCTIONS[name][2] > 1 and not shape:
        return                                     # var/std of one element is nan: nothing to check
    seed = data.draw(st.integers(0, 2 ** 16), label="seed")
    fn = REDUCTIONS[name][0]
    check_gradcheck(lambda x: fn(x, dim, keepdim), arrays_for([shape], seed))


@needs_torch
@pytest.mark.parametrize("name", list(REDUCTIONS))
@given(data=st.data())
def test_reduction_matches_torch(name, data):
    shape, dim, keepdim = _draw_case(data, name)
    if REDUCTIONS[name][2] > 1 and not shape:
        return
    seed = data.draw(st.integers(0, 2 ** 16), label="seed")
    fn, tfn, _ = REDUCTIONS[name]
    check_torch(lambda x: fn(x, dim, keepdim), lambda x: tfn(x, torch_dim(dim, shape), keepdim),
                arrays_for([shape], seed), atol=1e-9)


@needs_torch
@given(case=shape_and_dims())
def test_norm_p0_counts_nonzeros_without_gradient(case):
    shape, dim, keepdim = case
    a = arrays_for([shape], 3)[0]
    a[a < 0] = 0                                   # some exact zeros to count
    x = cr.tensor(a, requires_grad=True)
    out = x.norm(0, dim, keepdim)
    expect = torch.linalg.vector_norm(torch.tensor(a), 0, torch_dim(dim, shape), keepdim)
    np.testing.assert_array_equal(out.numpy(), expect.numpy())
    assert out.dtype == cr.float64
    assert not out.requires_grad                   # PyTorch's gradient of the count is 0 everywhere


GRADGRAD = {
    "sum": lambda x, d, k: x.sum(d, keepdim=k),
    "mean": lambda x, d, k: x.mean(d, keepdim=k),
    "var": lambda x, d, k: x.var(d, keepdim=k, correction=0),
    "logsumexp": lambda x, d, k: x.logsumexp(d, keepdim=k),
    "prod": lambda x, d, k: x.prod() if d is None else x.prod(d, keepdim=k),
}


@pytest.mark.parametrize("name", list(GRADGRAD))
@settings(max_examples=12)
@given(data=st.data())
def test_reduction_gradgradcheck(name, data):
    kinds = ("none", "int", "neg") if name == "prod" else ("none", "int", "neg", "tuple")
    shape, dim, keepdim = data.draw(shape_and_dims(max_dims=3, max_side=3, kinds=kinds))
    seed = data.draw(st.integers(0, 2 ** 16), label="seed")
    a = arrays_for([shape], seed)[0]
    if name == "prod":                             # with zeros too: Π_{j≠i} x_j must stay differentiable
        a[np.random.default_rng(seed).random(shape) < 0.3] = 0.0
    x = cr.tensor(a, requires_grad=True)
    assert cr.autograd.gradgradcheck(lambda t: GRADGRAD[name](t, dim, keepdim), [x])


# ---------------------------------------------------------------------- max / min with a dim
@st.composite
def shape_and_one_dim(draw, min_dims=1, max_dims=3, max_side=4):
    shape = draw(shapes(min_dims=min_dims, max_dims=max_dims, max_side=max_side))
    n = max(len(shape), 1)
    return shape, draw(st.integers(-n, n - 1)), draw(st.booleans())


@pytest.mark.parametrize("op", ["max", "min"])
@given(case=shape_and_one_dim(), seed=st.integers(0, 2 ** 16))
def test_max_min_dim_gradcheck(op, case, seed):
    shape, dim, keepdim = case
    check_gradcheck(lambda x: getattr(x, op)(dim, keepdim=keepdim).values, arrays_for([shape], seed))


@needs_torch
@pytest.mark.parametrize("op", ["max", "min"])
@given(case=shape_and_one_dim(), seed=st.integers(0, 2 ** 16))
def test_max_min_dim_with_ties_matches_torch(op, case, seed):
    """Deliberate ties (values from {0, 1, 2}): the gradient goes to the returned index only, as torch."""
    shape, dim, keepdim = case
    a = np.random.default_rng(seed).integers(0, 3, size=shape).astype(np.float64)
    res = getattr(cr, op)(cr.tensor(a), dim, keepdim)
    tres = getattr(torch, op)(torch.tensor(a), dim, keepdim)
    np.testing.assert_array_equal(res.indices.numpy(), tres.indices.numpy())
    assert res.indices.dtype == cr.int64
    values, indices = res                          # unpacks as a (values, indices) pair too
    assert values is res.values and indices is res.indices
    check_torch(lambda x: getattr(x, op)(dim, keepdim=keepdim).values,
                lambda x: getattr(x, op)(dim, keepdim=keepdim).values, [a])


@needs_torch
@pytest.mark.parametrize("op", ["max", "min"])
@given(shape=shapes(min_dims=0, max_dims=3), seed=st.integers(0, 2 ** 16))
def test_full_max_min_share_ties_evenly_as_torch(op, shape, seed):
    a = np.random.default_rng(seed).integers(0, 3, size=shape).astype(np.float64)
    check_torch(lambda x: getattr(cr, op)(x), lambda x: getattr(torch, op)(x), [a])


@needs_torch
@pytest.mark.parametrize("op", ["amax", "amin"])
@given(case=shape_and_dims(max_side=4), seed=st.integers(0, 2 ** 16))
def test_amax_amin_share_ties_evenly_as_torch(op, case, seed):
    shape, dim, keepdim = case
    a = np.random.default_rng(seed).integers(0, 3, size=shape).astype(np.float64)
    check_torch(lambda x: getattr(x, op)(dim, keepdim=keepdim),
                lambda x: getattr(x, op)(torch_dim(dim, shape), keepdim=keepdim), [a])


@needs_torch
def test_ties_by_hand():
    """A worked example, independent of any generated data."""
    x = cr.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [0, 0, 0]])
    x.grad = None
    x.amax(1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [0.5, 0.5, 0]])
    x.grad = None
    v, i = x.max(1)
    v.sum().backward()
    np.testing.assert_array_equal(i.numpy(), torch.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]).max(1).indices)
    np.testing.assert_allclose(x.grad.numpy(), [[0, 1, 0], [1, 0, 0]])


def test_max_two_tensors_is_elementwise():
    a, b = cr.tensor([1.0, 5.0]), cr.tensor([3.0, 2.0])
    np.testing.assert_array_equal(cr.max(a, b).numpy(), np.maximum(a.numpy(), b.numpy()))
    np.testing.assert_array_equal(cr.min(a, b).numpy(), np.minimum(a.numpy(), b.numpy()))


# ---------------------------------------------------------------------- argmax / argmin
@needs_torch
@pytest.mark.parametrize("op", ["argmax", "argmin"])
@given(shape=shapes(min_dims=0, max_dims=3, max_side=4), dim_kind=st.sampled_from(["none", "int"]),
       keepdim=st.booleans(), seed=st.integers(0, 2 ** 16), data=st.data())
def test_argmax_argmin_match_torch_without_grad(op, shape, dim_kind, keepdim, seed, data):
    n = max(len(shape), 1)
    dim = None if dim_kind == "none" else data.draw(st.integers(-n, n - 1))
    a = np.random.default_rng(seed).integers(0, 3, size=shape).astype(np.float64)   # ties: first index
    x = cr.tensor(a, requires_grad=True)
    out = getattr(x, op)(dim, keepdim=keepdim)
    expect = getattr(torch.tensor(a), op)(dim, keepdim=keepdim)
    np.testing.assert_array_equal(out.numpy(), expect.numpy())
    assert out.shape == tuple(expect.shape)
    assert out.dtype == cr.int64 and not out.requires_grad and out.grad_fn is None


# ---------------------------------------------------------------------- softmax / log_softmax
SOFTMAX = {
    "softmax": (lambda x, d: x.softmax(d), lambda x, d: x.softmax(d)),
    "log_softmax": (lambda x, d: cr.log_softmax(x, d), lambda x, d: torch.log_softmax(x, d)),
    "nn.functional.softmax": (lambda x, d: cr.nn.functional.softmax(x, dim=d),
                              lambda x, d: torch.nn.functional.softmax(x, dim=d)),
}


@pytest.mark.parametrize("name", list(SOFTMAX))
@given(case=shape_and_one_dim(min_dims=0, max_side=3), seed=st.integers(0, 2 ** 16))
def test_softmax_gradcheck(name, case, seed):
    shape, dim, _ = case
    check_gradcheck(lambda x: SOFTMAX[name][0](x, dim), arrays_for([shape], seed))


@needs_torch
@pytest.mark.parametrize("name", list(SOFTMAX))
@given(case=shape_and_one_dim(min_dims=0), seed=st.integers(0, 2 ** 16))
def test_softmax_matches_torch(name, case, seed):
    shape, dim, _ = case
    fn, tfn = SOFTMAX[name]
    check_torch(lambda x: fn(x, dim), lambda x: tfn(x, dim), arrays_for([shape], seed))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@settings(max_examples=12)
@given(case=shape_and_one_dim(min_dims=0, max_side=3), seed=st.integers(0, 2 ** 16))
def test_softmax_gradgradcheck(name, case, seed):
    shape, dim, _ = case
    x = cr.tensor(arrays_for([shape], seed)[0], requires_grad=True)
    assert cr.autograd.gradgradcheck(lambda t: getattr(t, name)(dim), [x])


HUGE = np.array([[1e4, -1e4, 0.0, 1e4 - 1.0],
                 [-1e4, -1e4 + 2.0, -1e4, -1e4],
                 [1e4, 1e4, 1e4, -1e4]])


@needs_torch
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_huge_logits_are_stable(name, dim):
    """Logits of ±1e4 overflow a naive exp: values and gradients must stay finite and equal torch."""
    fn = (lambda x: x.logsumexp(dim)) if name == "logsumexp" else (lambda x: getattr(x, name)(dim))
    x = cr.tensor(HUGE, requires_grad=True)
    out = fn(x)
    out.sum().backward()
    assert np.isfinite(out.detach().numpy()).all() and np.isfinite(x.grad.numpy()).all()
    check_torch(fn, fn, [HUGE], rtol=1e-12)


@needs_torch
def test_softmax_of_integers_and_default_dtype():
    out = cr.tensor([1, 2, 3]).softmax(0)
    assert out.dtype == cr.get_default_dtype()
    np.testing.assert_allclose(out.numpy(), torch.tensor([1.0, 2.0, 3.0]).softmax(0).numpy(), rtol=1e-6)


# ---------------------------------------------------------------------- logsumexp second order
@settings(max_examples=12)
@given(case=shape_and_dims(max_side=3), seed=st.integers(0, 2 ** 16))
def test_logsumexp_gradgradcheck_with_huge_logits(case, seed):
    shape, dim, keepdim = case
    x = cr.tensor(arrays_for([shape], seed)[0] * 1e3, requires_grad=True)
    assert cr.autograd.gradgradcheck(lambda t: t.logsumexp(dim, keepdim), [x], eps=1e-6, atol=1e-5)


# ---------------------------------------------------------------------- prod
@given(case=shape_and_one_dim(min_dims=0, max_side=4), use_dim=st.booleans(), seed=st.integers(0, 2 ** 16),
       zeros=st.sampled_from([0, 1, 2]))
def test_prod_gradcheck(case, use_dim, seed, zeros):
    shape, dim, keepdim = case
    a = arrays_for([shape], seed)[0]
    flat = a.reshape(-1)
    flat[np.random.default_rng(seed).permutation(flat.size)[:zeros]] = 0.0
    fn = (lambda x: x.prod(dim, keepdim=keepdim)) if use_dim else (lambda x: x.prod())
    check_gradcheck(fn, [a])


@needs_torch
@given(case=shape_and_one_dim(min_dims=0, max_side=4), use_dim=st.booleans(), seed=st.integers(0, 2 ** 16),
       zeros=st.sampled_from([0, 1, 2, 3]))
def test_prod_matches_torch_with_zeros(case, use_dim, seed, zeros):
    shape, dim, keepdim = case
    a = arrays_for([shape], seed)[0]
    flat = a.reshape(-1)
    flat[np.random.default_rng(seed).permutation(flat.size)[:zeros]] = 0.0
    fn = (lambda x: x.prod(dim, keepdim=keepdim)) if use_dim else (lambda x: x.prod())
    check_torch(fn, fn, [a])


PROD_ZEROS = {
    "one zero": [[2.0, 0.0, 3.0, -1.5], [1.0, 2.0, 3.0, 4.0]],
    "two zeros in a row": [[2.0, 0.0, 0.0, -1.5], [0.5, 2.0, 0.0, 0.0]],
    "all zeros": [[0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 3.0, 0.0]],
}


@needs_torch
@pytest.mark.parametrize("case", list(PROD_ZEROS))
@pytest.mark.parametrize("dim", [None, 0, 1, -1])
def test_prod_with_zeros_first_and_second_order(case, dim):
    a = np.array(PROD_ZEROS[case])
    fn = (lambda x: x.prod()) if dim is None else (lambda x: x.prod(dim))
    check_torch(fn, fn, [a])
    check_gradcheck(fn, [a])
    assert cr.autograd.gradgradcheck(fn, [cr.tensor(a, requires_grad=True)])


@needs_torch
def test_prod_hessian_at_two_zeros_matches_torch():
    """f = x0 x1 x2 at x0 = x1 = 0: df/dx = 0 there, but d²f/dx0dx1 = x2 is not - create_graph must see it."""
    a = np.array([0.0, 0.0, 3.0])
    x = cr.tensor(a, requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    g, = cr.autograd.grad(x.prod(), [x], create_graph=True)
    gt, = torch.autograd.grad(xt.prod(), [xt], create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), gt.detach().numpy())
    for i in range(3):
        h, = cr.autograd.grad(g[i], [x], retain_graph=True)
        ht, = torch.autograd.grad(gt[i], [xt], retain_graph=True)
        np.testing.assert_allclose(h.numpy(), ht.numpy())


def test_prod_rejects_a_tuple_of_dims_clearly():
    with pytest.raises(TypeError, match=r"prod\(\): dim must be a single int, got \(0, 1\)"):
        cr.ones(2, 3).prod((0, 1))


# ---------------------------------------------------------------------- cumsum, gather
@given(case=shape_and_one_dim(min_dims=0), seed=st.integers(0, 2 ** 16))
def test_cumsum_gradcheck(case, seed):
    shape, dim, _ = case
    check_gradcheck(lambda x: x.cumsum(dim), arrays_for([shape], seed))


@needs_torch
@given(case=shape_and_one_dim(min_dims=0), seed=st.integers(0, 2 ** 16))
def test_cumsum_matches_torch(case, seed):
    shape, dim, _ = case
    check_torch(lambda x: cr.cumsum(x, dim), lambda x: torch.cumsum(x, dim), arrays_for([shape], seed))


@st.composite
def gather_case(draw):
    shape = draw(shapes(min_dims=1, max_dims=3, max_side=4))
    nd = len(shape)
    dim = draw(st.integers(-nd, nd - 1))
    # index: same rank; along dim any length, elsewhere at most the input's size (PyTorch's rule)
    ishape = tuple(draw(st.integers(1, 5)) if i == dim % nd else draw(st.integers(1, s))
                   for i, s in enumerate(shape))
    seed = draw(st.integers(0, 2 ** 16))
    index = np.random.default_rng(seed).integers(0, shape[dim], size=ishape)   # repeats: scatter-add
    return shape, dim, index, seed


@given(case=gather_case())
def test_gather_gradcheck(case):
    shape, dim, index, seed = case
    check_gradcheck(lambda x: x.gather(dim, cr.tensor(index)), arrays_for([shape], seed))


@needs_torch
@given(case=gather_case())
def test_gather_matches_torch(case):
    shape, dim, index, seed = case
    check_torch(lambda x: cr.gather(x, dim, cr.tensor(index)), lambda x: torch.gather(x, dim, torch.tensor(index)),
                arrays_for([shape], seed))


@settings(max_examples=10)
@given(case=gather_case())
def test_gather_gradgradcheck(case):
    shape, dim, index, seed = case
    x = cr.tensor(arrays_for([shape], seed)[0], requires_grad=True)
    assert cr.autograd.gradgradcheck(lambda t: t.gather(dim, cr.tensor(index)), [x])


def test_gather_index_out_of_range_is_explained():
    with pytest.raises(cr.errors.ShapeError, match=r"gather: index of shape \(1, 1\).*input of shape \(2, 3\)"):
        cr.zeros(2, 3).gather(1, cr.tensor([[5]]))


# ---------------------------------------------------------------------- empty and 0-d tensors
@needs_torch
@pytest.mark.parametrize("dim", [0, 1, (0, 1)])
def test_sum_over_an_empty_dim_is_zero(dim):
    a = np.zeros((0, 3))
    out = cr.tensor(a).sum(dim)
    assert out.shape == tuple(torch.zeros(0, 3).sum(dim).shape)
    check_torch(lambda x: x.sum(dim), lambda x: x.sum(dim), [a])
    check_torch(lambda x: x.sum(dim, keepdim=True), lambda x: x.sum(dim, keepdim=True), [a])


@needs_torch
@pytest.mark.parametrize("name", ["mean", "prod", "logsumexp", "norm", "softmax", "log_softmax", "cumsum",
                                  "amax_nonempty_dim", "max_nonempty_dim"])
def test_empty_tensor_results_match_torch(name):
    a = np.zeros((0, 3))
    fn, tfn = {
        "mean": (lambda x: x.mean(0), lambda x: x.mean(0)),
        "prod": (lambda x: x.prod(0), lambda x: x.prod(0)),
        "logsumexp": (lambda x: x.logsumexp(0), lambda x: x.logsumexp(0)),
        "norm": (lambda x: x.norm(dim=0), lambda x: x.norm(dim=0)),
        "softmax": (lambda x: x.softmax(0), lambda x: x.softmax(0)),
        "log_softmax": (lambda x: x.log_softmax(1), lambda x: x.log_softmax(1)),
        "cumsum": (lambda x: x.cumsum(0), lambda x: x.cumsum(0)),
        "amax_nonempty_dim": (lambda x: x.amax(1), lambda x: x.amax(1)),
        "max_nonempty_dim": (lambda x: x.max(1).values, lambda x: x.max(1).values),
    }[name]
    check_torch(fn, tfn, [a])


@pytest.mark.parametrize("call, op", [
    (lambda x: x.max(), "amax"), (lambda x: cr.min(x), "amin"), (lambda x: x.max(0), "max"),
    (lambda x: x.min(dim=-2), "min"), (lambda x: x.amax(0), "amax"), (lambda x: x.amin((0, 1)), "amin"),
    (lambda x: x.argmax(), "argmax"), (lambda x: x.argmin(0), "argmin"),
])
def test_max_of_empty_is_a_clear_error(call, op):
    with pytest.raises(IndexError, match=rf"{op}\(\): expected a non-empty tensor.*shape \(0, 3\)"):
        call(cr.zeros(0, 3))


ZERO_D = {
    "sum": lambda x, d, k: x.sum(d, keepdim=k),
    "mean": lambda x, d, k: x.mean(d, keepdim=k),
    "prod": lambda x, d, k: x.prod(d, keepdim=k),
    "amax": lambda x, d, k: x.amax(d, keepdim=k),
    "amin": lambda x, d, k: x.amin(d, keepdim=k),
    "max": lambda x, d, k: x.max(d, keepdim=k).values,
    "min": lambda x, d, k: x.min(d, keepdim=k).values,
    "logsumexp": lambda x, d, k: x.logsumexp(d, keepdim=k),
    "norm": lambda x, d, k: x.norm(dim=d, keepdim=k),
    "softmax": lambda x, d, k: x.softmax(d),
    "log_softmax": lambda x, d, k: x.log_softmax(d),
    "cumsum": lambda x, d, k: x.cumsum(d),
    "gather": lambda x, d, k: x.gather(d, cr.tensor(0)) if isinstance(x, cr.Tensor) else x.gather(d, torch.tensor(0)),
}


@needs_torch
@pytest.mark.parametrize("name", list(ZERO_D))
@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_zero_dim_tensors_match_torch(name, dim, keepdim):
    a = np.array(-1.5)
    fn = ZERO_D[name]
    if name == "norm":
        tfn = lambda x, d, k: torch.linalg.vector_norm(x, 2, d, k)   # noqa: E731
    else:
        tfn = fn
    check_torch(lambda x: fn(x, dim, keepdim), lambda x: tfn(x, dim, keepdim), [a])


@needs_torch
def test_zero_dim_full_reductions_and_argmax():
    a = np.array(2.5)
    for name in ["sum", "mean", "prod", "amax", "norm"]:
        check_torch(lambda x: getattr(x, name)(), lambda x: getattr(x, name)(), [a])
    check_torch(lambda x: x.logsumexp(), lambda x: x.logsumexp(0), [a])     # torch insists on a dim
    assert cr.tensor(a).argmax().item() == torch.tensor(a).argmax().item() == 0
    assert cr.tensor(a).max(0).indices.item() == 0


@needs_torch
def test_norm_at_the_zero_vector_has_zero_gradient():
    for p in [2, "fro", 1, INF, -INF, 3, 0.5, -1.5]:
        tp = 2 if p == "fro" else p
        for shape, dim in [((4,), None), ((2, 3), 1), ((2, 3), (0, 1))]:
            a = np.zeros(shape)
            check_torch(lambda x: x.norm(p, dim), lambda x: torch.linalg.vector_norm(x, tp, dim), [a])
            x = cr.tensor(a, requires_grad=True)
            x.norm(p, dim).sum().backward()
            np.testing.assert_array_equal(x.grad.numpy(), 0.0)


@needs_torch
def test_norm_with_some_zero_elements_matches_torch():
    a = np.array([[0.0, 3.0, -4.0], [0.0, 0.0, 2.0]])
    for p in [2, 1, INF, -INF, 3, 0.5, -1.5]:
        check_torch(lambda x: x.norm(p, 1), lambda x: torch.linalg.vector_norm(x, p, 1), [a])


def test_norm_rejects_unknown_p_names():
    with pytest.raises(ValueError, match="norm: p='nuc' is not supported"):
        cr.ones(2, 2).norm("nuc")


# ---------------------------------------------------------------------- dtypes
@needs_torch
@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "int16", "int32", "int64"])
@pytest.mark.parametrize("name", ["sum", "prod", "cumsum"])
def test_integer_sums_give_int64_like_torch(dtype, name):
    a = np.array([[1, 0, 1], [1, 1, 0]]).astype(dtype)
    fn = (lambda x: x.cumsum(1)) if name == "cumsum" else (lambda x: getattr(x, name)())
    out, expect = fn(cr.tensor(a)), fn(torch.tensor(a))
    assert out.dtype.name == str(expect.dtype).replace("torch.", "") == "int64"
    np.testing.assert_array_equal(out.numpy(), expect.numpy())
    out_dim = cr.tensor(a).sum(1)
    assert out_dim.dtype == cr.int64


def test_sum_with_dtype_and_float32_results():
    assert cr.tensor([1, 2]).sum(dtype=cr.float64).dtype == cr.float64
    x = cr.tensor([1.0, 2.0, 4.0])
    for name in ["sum", "mean", "var", "std", "prod", "amax", "logsumexp", "norm"]:
        assert getattr(x, name)().dtype == cr.float32, name


def test_mean_and_var_of_integers_are_clear_errors():
    with pytest.raises(RuntimeError, match=r"mean\(\).*int64.*\.float\(\)"):
        cr.tensor([1, 2]).mean()
    with pytest.raises(RuntimeError, match=r"var/std.*int64.*\.float\(\)"):
        cr.tensor([1, 2]).std()


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize("op, bad, call", [
    ("sum", 2, lambda x: x.sum(2)), ("sum", -3, lambda x: x.sum((0, -3))), ("mean", -3, lambda x: x.mean(-3)),
    ("var", 2, lambda x: x.var(2)), ("std", 4, lambda x: x.std((4,))), ("amax", 5, lambda x: x.amax(5)),
    ("amin", -3, lambda x: x.amin(-3)), ("max", 2, lambda x: x.max(2)), ("min", -3, lambda x: cr.min(x, -3)),
    ("logsumexp", 2, lambda x: x.logsumexp(2)), ("norm", 2, lambda x: x.norm(dim=2)),
    ("softmax", 2, lambda x: x.softmax(2)), ("log_softmax", -3, lambda x: x.log_softmax(-3)),
    ("cumsum", 2, lambda x: x.cumsum(2)), ("prod", 2, lambda x: x.prod(2)), ("argmax", 2, lambda x: x.argmax(2)),
    ("argmin", -9, lambda x: x.argmin(-9)), ("gather", 2, lambda x: x.gather(2, x.long())),
])
def test_dim_out_of_range_names_the_dim_and_the_range(op, bad, call):
    with pytest.raises(IndexError) as info:
        call(cr.ones(2, 3))
    msg = str(info.value)
    assert f"dimension {bad} is out of range" in msg and "[-2, 1]" in msg
    assert msg.startswith(op) or op == "std"      # std is var's square root: var names the range


def test_repeated_dim_is_an_error():
    with pytest.raises(ValueError, match=r"sum: dimension list \(0, -2\) names a dimension more than once"):
        cr.ones(2, 3).sum((0, -2))


def test_max_with_a_tuple_of_dims_is_a_clear_error():
    with pytest.raises(TypeError, match=r"max\(\): dim must be a single int"):
        cr.ones(2, 3).max((0, 1))


@needs_torch
def test_empty_dim_tuple_reduces_everything_like_torch():
    a = arrays_for([(2, 3)], 5)[0]
    for name in ["sum", "mean", "amax"]:
        check_torch(lambda x: getattr(x, name)(()), lambda x: getattr(x, name)(()), [a])
    # torch's var(()) has the right value but an inf gradient (it divides by the size of "no dims"):
    # compare the value, and check the gradient with finite differences instead
    np.testing.assert_allclose(cr.tensor(a).var(()).numpy(), torch.tensor(a).var(()).numpy())
    check_gradcheck(lambda x: x.var(()), [a])


# ---------------------------------------------------------------------- the written-once rules
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape, dim", [((3, 5), 1), ((3, 5), 0), ((2, 3, 4), -1), ((2, 3, 4), 1), ((4,), 0), ((), 0)])
def test_softmax_first_order_equals_create_graph_grads(name, shape, dim):
    """loss.backward() runs the rule on arrays, create_graph=True on Tensors: the same numbers."""
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal(shape), dtype=cr.float64, requires_grad=True)
    gy = cr.tensor(rng.standard_normal(shape), dtype=cr.float64)
    f = getattr(cr.nn.functional, name)
    a, = cr.autograd.grad(f(x, dim=dim), x, gy)
    b, = cr.autograd.grad(f(x, dim=dim), x, gy, create_graph=True)
    assert b.grad_fn is not None or not shape
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert cr.autograd.gradgradcheck(lambda t: f(t, dim=dim), (x,))


def test_softmax_of_a_fully_masked_row_is_nan_as_torch():
    x = cr.tensor([[0.0, 1.0], [-INF, -INF]])
    y = cr.softmax(x, dim=1).numpy()
    assert np.all(np.isnan(y[1])) and np.allclose(y[0], np.exp([0, 1]) / np.exp([0, 1]).sum())


@pytest.mark.parametrize("name, args", [("sum", (1,)), ("mean", ((0, 1),)), ("var", (0,)), ("std", ()),
                                        ("amax", (1,)), ("logsumexp", (1,)), ("softmax", (1,)), ("prod", (1,)),
                                        ("cumsum", (0,)), ("norm", ())])
def test_reductions_take_raw_arrays_and_give_arrays(name, args):
    """Backward rules run on NumPy arrays at first order, so the reductions they call must too."""
    a = np.random.default_rng(1).standard_normal((3, 4))
    f = getattr(cr.ops.reduce, name)
    r = f(a, *args)
    assert type(r) is np.ndarray
    np.testing.assert_allclose(r, f(cr.tensor(a), *args).numpy(), rtol=1e-12)
    values, indices = cr.ops.reduce.max(a, 1)
    assert type(values) is np.ndarray and np.array_equal(indices, a.argmax(1))
