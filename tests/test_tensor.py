"""The Tensor object: attributes, conversions, graph attributes (is_leaf, grad_fn, next_functions), repr."""
import copy

import numpy as np
import pytest

import chainrule as cr
from oracle import needs_torch, torch


# ---------------------------------------------------------------------------- attributes
def test_shape_size_ndim_numel_dtype():
    t = cr.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and isinstance(t.shape, tuple)
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.ndim == 3 and t.dim() == 3
    assert t.numel() == 24 and t.shape.numel() == 24
    assert t.dtype == cr.float32
    assert repr(t.shape) == "chainrule.Size([2, 3, 4])"
    s = cr.tensor(5.0)
    assert s.shape == () and s.ndim == 0 and s.numel() == 1


def test_item_and_tolist():
    assert cr.tensor(3.5).item() == 3.5 and isinstance(cr.tensor(3.5).item(), float)
    assert cr.tensor([7]).item() == 7 and isinstance(cr.tensor([7]).item(), int)
    assert cr.tensor([[True]]).item() is True
    assert cr.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert cr.tensor(2.5).tolist() == 2.5
    with pytest.raises(ValueError, match=r"one element.*shape \(2,\)"):
        cr.tensor([1.0, 2.0]).item()


def test_item_works_on_tensors_that_require_grad():
    x = cr.tensor(2.0, requires_grad=True)
    assert (x * 3).item() == 6.0


def test_transpose_property():
    t = cr.tensor([[1, 2, 3], [4, 5, 6]])
    assert t.T.tolist() == [[1, 4], [2, 5], [3, 6]]
    assert t.T.shape == (3, 2)


def test_len_and_iteration():
    t = cr.tensor([[1, 2], [3, 4], [5, 6]])
    assert len(t) == 3
    rows = list(t)
    assert len(rows) == 3 and all(isinstance(r, cr.Tensor) for r in rows)
    assert [r.tolist() for r in rows] == [[1, 2], [3, 4], [5, 6]]
    with pytest.raises(TypeError, match="0-d"):
        len(cr.tensor(1.0))
    with pytest.raises(TypeError, match="0-d"):
        iter(cr.tensor(1.0))


def test_iteration_is_differentiable():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    sum(v * v for v in x).backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])


def test_python_number_conversions():
    assert float(cr.tensor([2.5])) == 2.5
    assert int(cr.tensor(3.9)) == 3
    assert bool(cr.tensor([0.0])) is False
    assert [10, 20, 30][cr.tensor(1)] == 20           # __index__
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(cr.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="integer"):
        [1, 2][cr.tensor(1.0)]
    assert f"{cr.tensor(3.14159):.2f}" == "3.14"


def test_numpy_on_requires_grad_is_a_clear_error():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"requires grad.*detach\(\)\.numpy\(\)"):
        x.numpy()
    with pytest.raises(RuntimeError, match="requires grad"):
        (x * 2).numpy()
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 2.0])


def test_numpy_shares_memory():
    t = cr.tensor([1.0, 2.0])
    t.numpy()[0] = 5.0
    assert t[0].item() == 5.0
    assert np.asarray(t).dtype == np.float32


def test_device_helpers():
    t = cr.tensor([1.0])
    assert t.device == "cpu" and t.cpu() is t and t.to("cpu") is t
    with pytest.raises(RuntimeError, match="CPU"):
        t.cuda()
    with pytest.raises(RuntimeError, match="cuda"):
        t.to("cuda")


# ---------------------------------------------------------------------------- dtype conversion
@pytest.mark.parametrize("method, dtype", [("float", cr.float32), ("double", cr.float64), ("long", cr.int64),
                                           ("int", cr.int32), ("half", cr.float16), ("bool", cr.bool)])
def test_conversion_methods(method, dtype):
    t = cr.tensor([1.7, -2.5, 0.0], dtype=cr.float64)
    out = getattr(t, method)()
    assert out.dtype == dtype
    np.testing.assert_array_equal(out.numpy(), np.array([1.7, -2.5, 0.0]).astype(dtype.np))


@needs_torch
def test_float_to_int_truncates_like_torch():
    v = [1.7, -2.5, -0.4, 3.0]
    assert cr.tensor(v).long().tolist() == torch.tensor(v).long().tolist()


def test_to_dtype_forms():
    t = cr.tensor([1, 2])
    assert t.to(cr.float64).dtype == cr.float64
    assert t.to("float32").dtype == cr.float32
    assert t.to(dtype=cr.float16).dtype == cr.float16
    assert t.to(cr.tensor([1.0], dtype=cr.float64)).dtype == cr.float64      # like another tensor
    assert t.to("cpu", cr.float64).dtype == cr.float64
    assert t.to(cr.int64) is t                                              # no-op returns self
    c = t.to(cr.int64, copy=True)
    assert c is not t and not np.shares_memory(c.numpy(), t.numpy())
    assert t.type(cr.float64).dtype == cr.float64
    assert t.type_as(cr.tensor([1.0])).dtype == cr.float32


def test_conversion_is_differentiable():
    x = cr.tensor([1.0, 2.0], requires_grad=True)               # float32
    y = x.double()
    assert y.requires_grad and y.grad_fn is not None
    (y * y).sum().backward()
    assert x.grad.dtype == cr.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


@pytest.mark.parametrize("to", [cr.int64, cr.int32, cr.bool, cr.uint8])
def test_conversion_to_int_cuts_the_graph(to):
    x = cr.tensor([1.5, 2.5], requires_grad=True)
    y = x.to(to)
    assert not y.requires_grad and y.grad_fn is None
    assert (y * x).requires_grad                      # and the float path still records


# ---------------------------------------------------------------------------- graph attributes
def test_is_leaf_and_grad_fn():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    c = cr.tensor([1.0, 2.0])
    y = x * 2
    assert x.is_leaf and x.grad_fn is None
    assert c.is_leaf and c.grad_fn is None
    assert not y.is_leaf and y.grad_fn is not None
    assert y.grad_fn.name() == "MulBackward0"
    assert (c * 2).is_leaf                          # made from tensors without grad: a leaf, no grad_fn
    assert x.detach().is_leaf


def test_next_functions_walk_the_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    c = cr.tensor([5.0, 6.0])
    h = x * w
    y = (h + c).sum()
    (add_node, _), = y.grad_fn.next_functions
    assert add_node.name() == "AddBackward0"
    (mul_node, _), (none_node, _) = add_node.next_functions
    assert mul_node is h.grad_fn and none_node is None          # c needs no gradient
    (acc_x, _), (acc_w, _) = mul_node.next_functions
    assert acc_x.name() == "AccumulateGrad" and acc_x.variable is x
    assert acc_w.variable is w
    assert acc_x.next_functions == ()


@needs_torch
def test_graph_structure_matches_torch():
    def walk(node):
        if node is None:
            return None
        name = node.name().split("::")[-1].rstrip("0123456789")     # torch: MulBackward0, ...::AccumulateGrad
        return (name, tuple(walk(n) for n, _ in node.next_functions))

    def build(lib, x, w):
        return ((x * w).exp() + x).sum()

    xv, wv = np.array([0.1, 0.2]), np.array([1.0, -1.0])
    gc = build(cr, cr.tensor(xv, requires_grad=True), cr.tensor(wv, requires_grad=True)).grad_fn
    gt = build(torch, torch.tensor(xv, requires_grad=True), torch.tensor(wv, requires_grad=True)).grad_fn
    assert walk(gc) == walk(gt)


def test_data_attribute_is_outside_the_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    d = x.data
    assert not d.requires_grad and d.is_leaf
    d.numpy()[0] = 10.0                         # shares memory, untracked
    assert x.detach().numpy()[0] == 10.0
    x.data = cr.tensor([7.0, 8.0])
    np.testing.assert_array_equal(x.detach().numpy(), [7.0, 8.0])
    assert x.requires_grad


def test_deepcopy_of_leaf_copies_data_and_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    y = copy.deepcopy(x)
    assert y is not x and y.requires_grad and y.is_leaf
    y.detach().numpy()[0] = -1.0
    assert x.detach().numpy()[0] == 1.0
    np.testing.assert_array_equal(y.grad.numpy(), [3.0, 3.0])
    assert not np.shares_memory(y.grad.numpy(), x.grad.numpy())
    with pytest.raises(RuntimeError, match="leaves"):
        copy.deepcopy(x * 2)


# ---------------------------------------------------------------------------- repr
def test_repr_basic_forms():
    assert repr(cr.tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    assert repr(cr.tensor([1.0, 2.0], requires_grad=True) * 2) == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    assert repr(cr.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(cr.tensor([1.0, 2.0], dtype=cr.float64)) == "tensor([1., 2.], dtype=chainrule.float64)"
    assert str(cr.tensor(3.0)) == "tensor(3.)"


REPR_CASES = [
    "[1., 2.]", "[1.5, 2.25]", "3.", "-0.5", "[1, 2]", "[[1., 2.], [3., 4.]]", "[[1.5, 2.], [3., 4.]]",
    "[1e-5, 1.]", "[1e10, 1.]", "[1., float('nan'), float('inf')]", "[True, False]", "[]", "[1.23456789]",
    "[0., -1.]", "[123456., 1.5]", "[1e-3, 5.]", "[[[1, 2]], [[3, 4]]]", "[-1.5, float('-inf')]",
    "[0.1, 0.25, 100.5]", "[0., float('nan')]", "[1., 10000.]", "[[-1.5, 2.], [300.25, -0.5]]", "[0.]",
    "[True]", "[[True, True], [False, True]]", "True", "[3e9, -1.]",
]


@needs_torch
@pytest.mark.parametrize("data", REPR_CASES)
@pytest.mark.parametrize("kw", ["", ", requires_grad=True", ", dtype=DT.float64", ", dtype=DT.int32"])
def test_repr_matches_torch(data, kw):
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        try:
            expected = repr(eval(f"torch.tensor({data}{kw.replace('DT', 'torch')})"))
        except RuntimeError:                    # requires_grad on ints, nan into int32...: both must refuse
            with pytest.raises(RuntimeError):
                eval(f"cr.tensor({data}{kw.replace('DT', 'cr')})")
            return
    finally:
        torch.set_default_dtype(prev)
    got = repr(eval(f"cr.tensor({data}{kw.replace('DT', 'cr')})"))
    assert got == expected.replace("torch.", "chainrule.")


@needs_torch
@pytest.mark.parametrize("expr", ["zeros(0, 3)", "zeros(0)", "zeros(2, 0)", "tensor([], dtype=DT.int64)",
                                  "tensor([], dtype=DT.bool)", "arange(12).reshape(3, 4)",
                                  "zeros(3, dtype=DT.float16)", "ones(2, 2, dtype=DT.uint8)",
                                  "linspace(-3, 3, 7)", "tensor(3., requires_grad=True) * 2"])
def test_repr_of_factories_matches_torch(expr):
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        expected = repr(eval("torch." + expr.replace("DT", "torch")))
    finally:
        torch.set_default_dtype(prev)
    expected = expected.replace("torch.", "chainrule.")
    assert repr(eval("cr." + expr.replace("DT", "cr"))) == expected


def test_repr_respects_the_default_dtype():
    try:
        cr.set_default_dtype(cr.float64)
        assert repr(cr.tensor([1.5])) == "tensor([1.5000])"
        assert repr(cr.tensor([1.5], dtype=cr.float32)) == "tensor([1.5000], dtype=chainrule.float32)"
    finally:
        cr.set_default_dtype(cr.float32)


def test_repr_of_a_large_tensor_is_summarised():
    r = repr(cr.arange(10_000.0))
    assert "..." in r and len(r) < 300
