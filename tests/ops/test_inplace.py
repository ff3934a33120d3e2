"""In-place ops: values (PyTorch oracle), the version counter, dtype and read-only errors, the
"modified by an inplace operation" contract at backward time, and in-place ops recorded on non-leaves
(PyTorch's gradients)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import chainrule as cr
from oracle import arrays_for, broadcast_shapes, check_gradcheck, check_torch, needs_torch, torch


def to_torch(a):
    return torch.tensor(a)


# ---------------------------------------------------------------------- values outside the graph
# name -> (call(module, x, others), number of extra tensor operands); the same call runs on both libraries
INPLACE = {
    "add_": (lambda m, x, o: x.add_(o[0]), 1),
    "add_alpha": (lambda m, x, o: x.add_(o[0], alpha=-2.5), 1),
    "add_scalar": (lambda m, x, o: x.add_(3), 0),
    "sub_": (lambda m, x, o: x.sub_(o[0]), 1),
    "sub_alpha": (lambda m, x, o: x.sub_(o[0], alpha=0.5), 1),
    "mul_": (lambda m, x, o: x.mul_(o[0]), 1),
    "mul_scalar": (lambda m, x, o: x.mul_(-1.5), 0),
    "div_": (lambda m, x, o: x.div_(o[0].abs() + 1), 1),
    "pow_": (lambda m, x, o: x.abs_().pow_(o[0]), 1),
    "pow_scalar": (lambda m, x, o: x.pow_(2), 0),
    "zero_": (lambda m, x, o: x.zero_(), 0),
    "fill_": (lambda m, x, o: x.fill_(-0.25), 0),
    "copy_": (lambda m, x, o: x.copy_(o[0]), 1),
    "clamp_": (lambda m, x, o: x.clamp_(-0.5, 0.5), 0),
    "clamp_min": (lambda m, x, o: x.clamp_(min=0.0), 0),
    "clip_": (lambda m, x, o: x.clip_(max=0.1), 0),
    "addcmul_": (lambda m, x, o: x.addcmul_(o[0], o[1], value=0.5), 2),
    "addcdiv_": (lambda m, x, o: x.addcdiv_(o[0], o[1].abs() + 1, value=-2), 2),
    "neg_": (lambda m, x, o: x.neg_(), 0),
    "exp_": (lambda m, x, o: x.exp_(), 0),
    "sqrt_": (lambda m, x, o: x.abs_().sqrt_(), 0),
    "abs_": (lambda m, x, o: x.abs_(), 0),
    "relu_": (lambda m, x, o: x.relu_(), 0),
    "sigmoid_": (lambda m, x, o: x.sigmoid_(), 0),
    "tanh_": (lambda m, x, o: x.tanh_(), 0),
    "masked_fill_": (lambda m, x, o: x.masked_fill_(o[0] > 0, 7.0), 1),
    "lerp_": (lambda m, x, o: x.lerp_(o[0], 0.25), 1),
    "iadd": (lambda m, x, o: x.__iadd__(o[0]), 1),
    "isub": (lambda m, x, o: x.__isub__(o[0]), 1),
    "imul": (lambda m, x, o: x.__imul__(o[0]), 1),
    "itruediv": (lambda m, x, o: x.__itruediv__(o[0].abs() + 1), 1),
}


@needs_torch
@pytest.mark.parametrize("name", list(INPLACE))
@given(shapes=broadcast_shapes(num_shapes=3))
def test_inplace_values_match_torch(name, shapes):
    call, n_other = INPLACE[name]
    out_shape = np.broadcast_shapes(*shapes)
    arrays = arrays_for([out_shape] + list(shapes[1:1 + n_other]), seed=len(out_shape))
    xc, xt = cr.tensor(arrays[0]), to_torch(arrays[0])
    oc, ot = [cr.tensor(a) for a in arrays[1:]], [to_torch(a) for a in arrays[1:]]
    v0 = xc._vc[0]
    rc = call(cr, xc, oc)
    call(torch, xt, ot)
    assert rc is xc, f"{name} must return the tensor itself"
    np.testing.assert_allclose(xc.numpy(), xt.numpy(), rtol=1e-12, atol=1e-12)
    assert xc._vc[0] > v0, f"{name} must bump the version counter"
    assert xc.dtype == cr.float64 and xc.is_leaf and not xc.requires_grad


def test_python_augmented_assignment_is_in_place():
    x = cr.tensor([1.0, 2.0])
    alias = x
    x += 1
    x *= 3
    x -= cr.tensor([1.0, 1.0])
    x /= 2
    assert x is alias
    np.testing.assert_array_equal(alias.numpy(), [2.5, 4.0])
    assert x._vc[0] == 4


@needs_torch
def test_integer_inplace_values():
    a = np.array([[1, -2, 3]])
    for call in (lambda x: x.add_(2), lambda x: x.mul_(3), lambda x: x.sub_(1, alpha=2),
                 lambda x: x.clamp_(0, 2), lambda x: x.pow_(2), lambda x: x.fill_(2.5), lambda x: x.zero_(),
                 lambda x: x.copy_(x.float() * 1.5 if isinstance(x, cr.Tensor) else x.double() * 1.5)):
        xc, xt = cr.tensor(a), torch.tensor(a)
        call(xc)
        call(xt)
        np.testing.assert_array_equal(xc.numpy(), xt.numpy())
        assert xc.dtype == cr.int64


def test_random_fills():
    cr.manual_seed(0)
    x = cr.empty(2000, dtype=cr.float64)
    v = x._vc[0]
    assert x.uniform_(-2, 3) is x
    assert x._vc[0] > v
    assert x.min().item() >= -2 and x.max().item() < 3 and abs(x.mean().item() - 0.5) < 0.15
    x.normal_(mean=1.0, std=2.0)
    assert abs(x.mean().item() - 1.0) < 0.2 and abs(x.std().item() - 2.0) < 0.2
    assert x.dtype == cr.float64
    w = cr.zeros(3, requires_grad=True)
    w.uniform_()                       # init writes are never recorded, even on a leaf requiring grad
    assert w.is_leaf and w.requires_grad


# ---------------------------------------------------------------------- errors
def test_integer_tensor_rejects_float_results():
    i = cr.tensor([1, 2, 3])
    for call, name in ((lambda: i.add_(1.5), "add_"), (lambda: i.add_(cr.tensor([0.5, 1, 1])), "add_"),
                       (lambda: i.mul_(1.5), "mul_"), (lambda: i.sub_(0.5), "sub_"), (lambda: i.div_(2), "div_"),
                       (lambda: i.pow_(0.5), "pow_"), (lambda: i.clamp_(0.5, 2.0), "clamp_")):
        with pytest.raises(TypeError, match=rf"{name}.*int64"):
            call()
    assert i.tolist() == [1, 2, 3] and i._vc[0] == 0          # nothing was written
    b = cr.tensor([True, False])
    with pytest.raises(TypeError, match="add_.*bool"):
        b.add_(1)


def test_integer_tensor_rejects_random_fill():
    with pytest.raises(TypeError, match=r"uniform_.*int64.*float"):
        cr.tensor([1, 2]).uniform_()
    with pytest.raises(TypeError, match=r"normal_.*int64.*float"):
        cr.tensor([1, 2]).normal_()


def test_integer_tensor_with_grad_operand_is_an_error():
    w = cr.tensor([0.5, 1.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"add_.*float32.*int64"):
        cr.tensor([1, 2]).add_(w)


def test_inplace_cannot_change_shape():
    x = cr.zeros(3)
    with pytest.raises(RuntimeError, match=r"add_.*\(2, 3\).*\(3,\)"):
        x.add_(cr.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"mul_.*\(2, 3\).*\(3,\)"):
        x.mul_(cr.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"sub_.*\(2, 3\).*\(3,\)"):
        x.sub_(cr.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"copy_.*\(4,\).*\(3,\)"):
        x.copy_(cr.ones(4))


@pytest.mark.parametrize("call", [lambda e: e.add_(1), lambda e: e.mul_(2), lambda e: e.zero_(),
                                  lambda e: e.fill_(1), lambda e: e.copy_(cr.ones(2, 3)),
                                  lambda e: e.uniform_(), lambda e: e.clamp_(0, 1), lambda e: e.sub_(1)])
def test_expand_view_is_read_only(call):
    base = cr.zeros(3)
    e = base.expand(2, 3)
    with pytest.raises(RuntimeError, match="read-only.*expand.*clone"):
        call(e)
    assert base.tolist() == [0.0, 0.0, 0.0]
    call(e.clone())                      # a copy is writable


def test_leaf_requiring_grad_rejects_recorded_inplace():
    w = cr.ones(3, requires_grad=True)
    for call in (lambda: w.add_(1), lambda: w.mul_(2), lambda: w.zero_(), lambda: w.exp_(), lambda: w.copy_(w)):
        with pytest.raises(RuntimeError, match="leaf.*requires grad.*no_grad"):
            call()
    with cr.no_grad():
        w.mul_(2).add_(1)                # the optimiser's way
    assert w.tolist() == [3.0, 3.0, 3.0] and w.is_leaf and w.requires_grad


# ---------------------------------------------------------------------- the version-counter contract
def _wx():
    w = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True)
    x = cr.tensor([4.0, 5.0, 6.0], dtype=cr.float64, requires_grad=True)
    return w, x


@pytest.mark.parametrize("modify", [
    lambda w: w.mul_(2),
    lambda w: w.add_(1),
    lambda w: w.view(-1).mul_(2),            # through a view
    lambda w: w.reshape(3, 1).zero_(),
    lambda w: w[0].fill_(5.0),
    lambda w: w.__setitem__(0, 5.0),
    lambda w: w[1:].copy_(cr.zeros(2)),
    lambda w: w.detach().add_(1),            # detach shares the version counter
    lambda w: w.unsqueeze(0).transpose(0, 1).add_(1),
], ids=["mul_", "add_", "view", "reshape", "slice-fill_", "setitem", "slice-copy_", "detach", "transpose"])
def test_modifying_a_saved_input_raises_at_backward(modify):
    w, x = _wx()
    y = w * x
    with cr.no_grad():
        modify(w)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_modifying_a_saved_output_raises_at_backward():
    w, _ = _wx()
    y = w.exp()                              # exp saves its output
    with cr.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    w2, _ = _wx()
    z = w2.sigmoid()
    with cr.no_grad():
        z[0] = 0.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (z * 1).sum().backward()


@pytest.mark.parametrize("build", [
    lambda m, w, x: w + x,                     # add saves nothing
    lambda m, w, x: w - x,
    lambda m, w, x: w * 2.0,                   # a product needs w's value only for the other factor's grad
    lambda m, w, x: w / 4.0,
    lambda m, w, x: w.reshape(3, 1).sum(),
    lambda m, w, x: w[1:] * x[1:].detach(),    # only the constant factor is needed, and it is not w
    lambda m, w, x: m.cat([w, x]),
], ids=["add", "sub", "mul-scalar", "div-scalar", "reshape-sum", "mul-const", "cat"])
def test_modifying_an_unsaved_input_does_not_raise(build):
    w, x = _wx()
    y = build(cr, w, x)
    with cr.no_grad():
        w.mul_(2)
    y.sum().backward()
    assert w.grad is not None
    if torch is not None:                    # and PyTorch agrees that this is fine, with the same gradient
        tw = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        tx = torch.tensor([4.0, 5.0, 6.0], requires_grad=True)
        ty = build(torch, tw, tx)
        with torch.no_grad():
            tw.mul_(2)
        ty.sum().backward()
        np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())


def test_data_does_not_share_the_version_counter():
    w, x = _wx()
    y = w * x
    with cr.no_grad():
        w.data.mul_(2)                       # as PyTorch: .data writes are invisible to autograd
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])   # the new value of w was used


def test_views_share_the_version_counter():
    base = cr.zeros(2, 3)
    views = [base.reshape(6), base.view(3, 2), base[0], base[:, ::2], base.transpose(0, 1), base.t(),
             base.detach(), base.unsqueeze(0), base.permute(1, 0), base.squeeze()]
    for v in views:
        before = base._vc[0]
        with cr.no_grad():
            v.add_(1)
        assert base._vc[0] == before + 1
        assert all(o._vc[0] == base._vc[0] for o in views)
    np.testing.assert_array_equal(base.numpy()[0], [10, 9, 10])
    assert base.data._vc is not base._vc
    copy = base[[0, 1]]                      # advanced indexing copies: its own counter
    copy.add_(1)
    assert base._vc[0] == 10


def test_optimizer_style_update_between_forwards():
    # a step between two forwards is fine: the second graph saves the new version
    w, x = _wx()
    (w * x).sum().backward()
    with cr.no_grad():
        w.sub_(w.grad, alpha=0.1)
    w.grad = None
    (w * x).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [4.0, 5.0, 6.0])


# ---------------------------------------------------------------------- recorded in-place on non-leaves
RECORDED = {
    "add_": lambda m, x, w: (x * 2).add_(w),
    "add_alpha": lambda m, x, w: (x * 2).add_(w, alpha=3),
    "add_const": lambda m, x, w: (x * w).add_(1),
    "sub_": lambda m, x, w: (x * 2).sub_(w, alpha=0.5),
    "mul_": lambda m, x, w: (x + 1).mul_(w),
    "div_": lambda m, x, w: (x * 3).div_(w.abs() + 1),
    "pow_": lambda m, x, w: (x * x + 1).pow_(w),
    "exp_": lambda m, x, w: (x * w).exp_(),
    "sigmoid_": lambda m, x, w: (x - w).sigmoid_(),
    "tanh_": lambda m, x, w: (x - w).tanh_() * 2,
    "clamp_": lambda m, x, w: (x * w).clamp_(-0.3, 0.4),
    "relu_": lambda m, x, w: (x + w).relu_(),
    "copy_": lambda m, x, w: (x * 2).copy_(w),
    "fill_": lambda m, x, w: (x * w).fill_(2.0) * x,
    "zero_": lambda m, x, w: (x * w).zero_() + x,
    "addcmul_": lambda m, x, w: (x * 1).addcmul_(x, w, value=0.5),
    "addcdiv_": lambda m, x, w: (x * 1).addcdiv_(x, w.abs() + 1, value=2),
    "masked_fill_": lambda m, x, w: (x * w).masked_fill_(x > 0, 0.5),
    "chain": lambda m, x, w: (x * 1).add_(w).mul_(w).sub_(x).div_(2),
    "iadd": lambda m, x, w: _iadd(x * 2, w),
}


def _mul_self(y):
    y.mul_(y)          # the old value, on both sides
    return y


def _iadd(y, w):
    y += w
    return y


@needs_torch
@pytest.mark.parametrize("name", list(RECORDED))
def test_recorded_inplace_on_non_leaf_matches_torch(name):
    fn = RECORDED[name]
    a, w = arrays_for([(2, 3), (3,)], seed=21)
    check_torch(lambda x, v: fn(cr, x, v), lambda x, v: fn(torch, x, v), [a, w])
    check_gradcheck(lambda x, v: fn(cr, x, v), [a, w])


def test_recorded_inplace_rebases_history():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    v = y._vc[0]
    out = y.add_(1)
    assert out is y and not y.is_leaf and y._vc[0] == v + 1
    assert "Add" in y.grad_fn.name()


@needs_torch
def test_inplace_with_grad_operand_into_plain_tensor():
    # y does not require grad, but the operand does: y joins the graph (as PyTorch)
    def run(m, w):
        y = m.zeros(3, dtype=m.float64)
        y.add_(w)
        y.mul_(w)
        return y
    a = arrays_for([(3,)], seed=22)[0]
    check_torch(lambda w: run(cr, w), lambda w: run(torch, w), [a])


@needs_torch
def test_inplace_on_advanced_index_copy_is_allowed():
    # x[[0, 1]] is a copy, not a view, so an in-place op on it is an ordinary in-place op
    def run(m, x):
        y = (x * 1)[[0, 1, 1]]
        y.mul_(2)
        return y
    a = arrays_for([(3, 2)], seed=23)[0]
    check_torch(lambda x: run(cr, x), lambda x: run(torch, x), [a])


def test_inplace_on_view_of_non_leaf_is_a_clear_error_or_correct():
    # PyTorch supports this through view tracking; chainrule must either match it or refuse clearly
    a = arrays_for([(2, 3)], seed=24)[0]
    x = cr.tensor(a, requires_grad=True)
    y = x * 1
    try:
        y[0].mul_(3)
    except RuntimeError as exc:
        assert "view" in str(exc) and "out-of-place" in str(exc)
        return
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[3, 3, 3], [1, 1, 1]])


@needs_torch
@given(names=st.lists(st.sampled_from(["add_", "mul_", "sub_", "div_", "tanh_", "exp_", "copy_", "addcmul_",
                                        "mul_self", "setitem"]), min_size=1, max_size=4))
def test_recorded_inplace_sequences_match_torch(names):
    """A random sequence of in-place ops on a non-leaf: where PyTorch refuses (an op saved a value that a
    later op overwrote) chainrule must refuse too; otherwise the gradients must agree."""
    def fn(x, w):
        y = x * 1
        for n in names:
            if n == "div_":
                y.div_(w * w + 1)
            elif n in ("tanh_", "exp_"):
                getattr(y, n)()
            elif n == "copy_":
                y.copy_(y * w)
            elif n == "addcmul_":
                y.addcmul_(w, x)
            elif n == "mul_self":
                y.mul_(y)
            elif n == "setitem":
                y[0] = w
            else:
                getattr(y, n)(w)
        return y
    a, w = arrays_for([(2, 2), (2,)], seed=len(names))
    tx, tw = torch.tensor(a, requires_grad=True), torch.tensor(w, requires_grad=True)
    try:
        fn(tx, tw).sum().backward()
    except RuntimeError as exc:
        assert "modified by an inplace operation" in str(exc)
        x, v = cr.tensor(a, requires_grad=True), cr.tensor(w, requires_grad=True)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            fn(x, v).sum().backward()
        return
    check_torch(fn, fn, [a, w])
    check_gradcheck(fn, [a, w])


@needs_torch
@pytest.mark.parametrize("fn", [
    lambda x, w: _mul_self(x * 1),                   # mul_ saved y's old value, then overwrote it
    lambda x, w: (x - w).tanh_().mul_(2),            # tanh_ saved its output, mul_ overwrote it
    lambda x, w: (x * 1).exp_().add_(w),
    lambda x, w: _copy_from_self(x * 1, w),
], ids=["mul_self", "tanh_-mul_", "exp_-add_", "copy_-self"])
def test_recorded_inplace_that_torch_refuses(fn):
    a, w = arrays_for([(2, 3), (3,)], seed=25)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        fn(torch.tensor(a, requires_grad=True), torch.tensor(w, requires_grad=True)).sum().backward()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        fn(cr.tensor(a, requires_grad=True), cr.tensor(w, requires_grad=True)).sum().backward()


def _copy_from_self(y, w):
    y.copy_(y * w)
    return y


def test_view_used_after_its_base_was_rebased_in_place_raises():
    """y.mul_(x) while recording re-bases y; a view of y taken before would carry the old history, so using
    it afterwards must raise instead of giving a silently wrong gradient."""
    x = cr.randn(4, dtype=cr.float64, requires_grad=True)
    y = x * 2
    v = y[1:]
    y.mul_(x)
    with pytest.raises(RuntimeError, match="used after the tensor it views was modified in place"):
        (v * 2).sum()


def test_view_consumed_before_the_rebase_is_fine():
    x = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True)
    y = x * 2
    z = y[1:] * 3          # the view is used (and its value saved) before y changes
    y.mul_(x)
    (z.sum() + y.sum()).backward()
    # d/dx [3 * 2x[1:]] + d/dx [2x²] = [0, 6, 6] + 4x
    np.testing.assert_allclose(x.grad.numpy(), np.array([0.0, 6.0, 6.0]) + 4 * np.array([1.0, 2.0, 3.0]))
