"""Shape ops: float64 gradcheck over generated shapes, and PyTorch as the oracle for values and gradients.

Most ops are called as methods, so one lambda runs on both a chainrule and a torch tensor; functional
ones (cat, stack, pad) take the module (``cr`` or ``torch``) as an argument.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import chainrule as cr
from oracle import arrays_for, check_gradcheck, check_torch, needs_torch, shapes, torch

SMALL = dict(max_dims=3, max_side=3)          # gradcheck builds full Jacobians: keep inputs small


def both(fn, arrays, fn_torch=None):
    """gradcheck ``fn`` and compare it (values and gradients) with PyTorch running ``fn_torch or fn``."""
    check_gradcheck(fn, arrays)
    check_torch(fn, fn_torch or fn, arrays)


def dims_of(draw, nd, min_size=0):
    """A set of distinct dims of an ``nd``-d tensor, each written positive or negative at random."""
    if nd == 0:
        return ()
    ds = draw(st.lists(st.integers(0, nd - 1), min_size=min_size, max_size=nd, unique=True))
    return tuple(d - nd if draw(st.booleans()) else d for d in ds)


# ---------------------------------------------------------------------- reshape family
@needs_torch
@given(shape=shapes(**SMALL), data=st.data())
def test_reshape_and_view(shape, data):
    n = int(np.prod(shape))
    target = list(data.draw(st.permutations(shape)))        # same numel, different layout
    if target and data.draw(st.booleans()):
        target[data.draw(st.integers(0, len(target) - 1))] = -1   # one inferred size
    target = tuple(target)
    (a,) = arrays_for([shape], seed=n)
    both(lambda x: x.reshape(target), [a])
    both(lambda x: (x.view(*target) if target else x.view(())) * 2, [a])
    both(lambda x: x.reshape(-1), [a])
    both(lambda x: x.view_as(x.reshape(-1)), [a])


@needs_torch
@given(shape=shapes(**SMALL), data=st.data())
def test_flatten_and_unflatten(shape, data):
    nd = len(shape)
    (a,) = arrays_for([shape], seed=1)
    if nd == 0:
        both(lambda x: x.flatten(), [a])
        return
    s = data.draw(st.integers(-nd, nd - 1))
    e = data.draw(st.integers(s % nd, nd - 1))
    both(lambda x: x.flatten(s, e), [a])
    d = data.draw(st.integers(-nd, nd - 1))
    size = shape[d]
    sizes = data.draw(st.sampled_from([(size,), (1, size), (size, 1), (-1, 1), (1, -1, 1)]))
    both(lambda x: x.unflatten(d, sizes), [a])


@needs_torch
@given(shape=shapes(max_dims=4, max_side=2), data=st.data())
def test_squeeze_and_unsqueeze(shape, data):
    nd = len(shape)
    (a,) = arrays_for([shape], seed=2)
    both(lambda x: x.squeeze(), [a])
    if nd:
        d = data.draw(st.integers(-nd, nd - 1))
        both(lambda x: x.squeeze(d), [a])
        ds = dims_of(data.draw, nd)
        both(lambda x: x.squeeze(ds), [a])
    u = data.draw(st.integers(-nd - 1, nd))
    both(lambda x: x.unsqueeze(u), [a])


# ---------------------------------------------------------------------- axis reordering
@needs_torch
@given(shape=shapes(**SMALL), data=st.data())
def test_permute_transpose_movedim(shape, data):
    nd = len(shape)
    (a,) = arrays_for([shape], seed=3)
    perm = tuple(data.draw(st.permutations(range(nd))))
    if nd:                      # (torch's permute/expand take no empty size list)
        both(lambda x: x.permute(perm), [a])
        both(lambda x: x.permute(*perm) * x.permute(*perm), [a])
        d0, d1 = data.draw(st.integers(-nd, nd - 1)), data.draw(st.integers(-nd, nd - 1))
        both(lambda x: x.transpose(d0, d1), [a])
        src = dims_of(data.draw, nd, min_size=1)
        dst = tuple(data.draw(st.permutations(range(nd))))[:len(src)]
        both(lambda x: x.movedim(src, dst), [a])
        both(lambda x: x.movedim(src[0], dst[0]), [a])


@needs_torch
@given(shape=shapes(min_dims=0, max_dims=2, max_side=4))
def test_t_and_T(shape):
    (a,) = arrays_for([shape], seed=4)
    both(lambda x: x.t(), [a])
    both(lambda x: x.T, [a])


@needs_torch
@given(shape=shapes(min_dims=2, max_dims=4, max_side=3))
def test_mT_and_T_nd(shape):
    (a,) = arrays_for([shape], seed=5)
    both(lambda x: x.mT, [a])
    # torch deprecates .T beyond 2-d; its meaning is "reverse all dims"
    both(lambda x: x.T, [a], fn_torch=lambda x: x.permute(*range(x.ndim - 1, -1, -1)))


def test_t_rejects_3d():
    with pytest.raises(ValueError, match=r"t\(\).*\(2, 3, 4\)"):
        cr.zeros(2, 3, 4).t()


# ---------------------------------------------------------------------- copies: expand / repeat / flip
@needs_torch
@given(shape=shapes(**SMALL), data=st.data())
def test_expand_and_expand_as(shape, data):
    target = tuple(data.draw(st.integers(1, 3)) if s == 1 else s for s in shape)
    lead = tuple(data.draw(st.lists(st.integers(1, 3), max_size=2)))
    written = tuple(-1 if data.draw(st.booleans()) else s for s in target)  # -1 keeps the size
    (a,) = arrays_for([shape], seed=6)
    if not lead + target:
        lead = (2,)
    both(lambda x: x.expand(lead + written), [a])
    both(lambda x: x.expand(*(lead + target)) * 1.5, [a])
    other = arrays_for([lead + target], seed=7)[0]
    both(lambda x, y: x.expand_as(y) * y, [a, other])


@needs_torch
@given(shape=shapes(**SMALL), data=st.data())
def test_repeat_and_tile(shape, data):
    nd = len(shape)
    reps = tuple(data.draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd + 1)))
    (a,) = arrays_for([shape], seed=8)
    both(lambda x: x.repeat(reps), [a])
    if reps:
        both(lambda x: x.repeat(*reps), [a])
    tile_reps = tuple(data.draw(st.lists(st.integers(1, 2), max_size=nd + 1)))   # may be shorter than ndim
    both(lambda x: x.tile(tile_reps), [a])


@needs_torch
@given(shape=shapes(**SMALL), data=st.data())
def test_flip(shape, data):
    ds = dims_of(data.draw, len(shape))
    (a,) = arrays_for([shape], seed=9)
    both(lambda x: x.flip(ds), [a])
    if ds:
        both(lambda x: x.flip(*ds), [a])


# ---------------------------------------------------------------------- joining and splitting
@needs_torch
@given(shape=shapes(min_dims=1, **SMALL), data=st.data())
def test_cat(shape, data):
    nd = len(shape)
    d = data.draw(st.integers(-nd, nd - 1))
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    shs = [tuple(k if i == d % nd else s for i, s in enumerate(shape)) for k in sizes]
    arrays = arrays_for(shs, seed=10)
    req = [True] * len(arrays)
    if any(0 in s for s in shs):          # gradcheck needs an element to perturb; torch still compares
        check_torch(lambda *xs: cr.cat(xs, dim=d), lambda *xs: torch.cat(xs, dim=d), arrays, requires=req)
        return
    both(lambda *xs: cr.cat(xs, dim=d), arrays, fn_torch=lambda *xs: torch.cat(xs, dim=d))
    both(lambda *xs: cr.cat(list(xs), d), arrays, fn_torch=lambda *xs: torch.cat(list(xs), d))


@needs_torch
def test_cat_mixed_requires_grad_and_dtype():
    a, b = arrays_for([(2, 3), (1, 3)], seed=11)
    check_torch(lambda x, y: cr.cat([x, y]), lambda x, y: torch.cat([x, y]), [a, b], requires=[False, True])
    ci = cr.cat([cr.tensor([[1, 2, 3]]), cr.tensor(a)])          # int64 + float64 -> float64
    ti = torch.cat([torch.tensor([[1, 2, 3]]), torch.tensor(a)])
    assert str(ci.dtype).split(".")[-1] == str(ti.dtype).split(".")[-1]
    np.testing.assert_allclose(ci.numpy(), ti.numpy())


@needs_torch
@given(shape=shapes(**SMALL), data=st.data())
def test_stack(shape, data):
    nd = len(shape)
    d = data.draw(st.integers(-nd - 1, nd))
    k = data.draw(st.integers(1, 3))
    arrays = arrays_for([shape] * k, seed=12)
    both(lambda *xs: cr.stack(xs, dim=d), arrays, fn_torch=lambda *xs: torch.stack(xs, dim=d))


@needs_torch
@given(shape=shapes(min_dims=1, max_dims=3, max_side=5), data=st.data())
def test_split_chunk_unbind_narrow(shape, data):
    nd = len(shape)
    d = data.draw(st.integers(-nd, nd - 1))
    n = shape[d]
    (a,) = arrays_for([shape], seed=13)
    size = data.draw(st.integers(1, n + 1))
    both(lambda x: x.split(size, d), [a])
    sections = []
    left = n
    while left:
        sections.append(data.draw(st.integers(1, left)))
        left -= sections[-1]
    if data.draw(st.booleans()):
        sections.insert(data.draw(st.integers(0, len(sections))), 0)     # empty pieces are allowed
    both(lambda x: x.split(sections, d), [a])
    chunks = data.draw(st.integers(1, n + 1))
    both(lambda x: x.chunk(chunks, d), [a])
    both(lambda x: x.unbind(d), [a])
    both(lambda x: cr.unbind(x, d) if isinstance(x, cr.Tensor) else torch.unbind(x, d), [a])
    start = data.draw(st.integers(-n, n - 1))
    length = data.draw(st.integers(0, n - start % n))
    both(lambda x: x.narrow(d, start, length), [a])


def test_split_keeps_each_piece_independent():
    # gradients from several pieces of one split accumulate into the single source
    x = cr.arange(6.0, dtype=cr.float64).requires_grad_()
    a, b, c = x.split(2)
    (a * 1 + b * 2 + c * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 1, 2, 2, 3, 3])


# ---------------------------------------------------------------------- pad
@st.composite
def pad_case(draw, mode):
    """(shape, pad) valid for ``mode`` in PyTorch: non-constant modes pad the last 1-3 dims of a tensor
    with one or two leading (batch, channel) dims."""
    k = draw(st.integers(1, 2 if mode != "constant" else 3))
    lead = draw(st.integers(1 if mode != "constant" else 0, 2))
    shape = tuple(draw(st.integers(2, 4)) for _ in range(lead + k))
    pad = []
    for i in range(k):
        n = shape[-1 - i]
        lo = draw(st.integers(-1, 2))
        hi = draw(st.integers(-1, 2))
        kept = n - max(-lo, 0) - max(-hi, 0)      # torch rejects an empty result: keep >= 1 element
        if kept < 1:
            lo, hi, kept = max(lo, 0), hi, n - max(-hi, 0)
        if mode == "reflect":            # reflect needs pad < the (cropped) size
            lo, hi = min(lo, kept - 1), min(hi, kept - 1)
        if mode == "circular":           # circular needs pad <= the (cropped) size
            lo, hi = min(lo, kept), min(hi, kept)
        pad += [lo, hi]
    return shape, tuple(pad)


@needs_torch
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@given(data=st.data())
def test_pad(mode, data):
    shape, p = data.draw(pad_case(mode))
    value = data.draw(st.sampled_from([0.0, -1.5, 2.0])) if mode == "constant" else None
    (a,) = arrays_for([shape], seed=14)
    F = torch.nn.functional

    def fc(x):
        return cr.nn.functional.pad(x, p, mode=mode, **({"value": value} if value is not None else {}))

    def ft(x):
        return F.pad(x, p, mode=mode, **({"value": value} if value is not None else {}))
    both(fc, [a], fn_torch=ft)


@needs_torch
def test_pad_fixed_examples():
    F = torch.nn.functional
    x = np.arange(10.0).reshape(1, 2, 5)
    for mode in ["constant", "reflect", "replicate", "circular"]:
        for p in [(-1, 2), (2, -1), (-2, -1), (1, 3), (0, 0)]:
            np.testing.assert_array_equal(cr.nn.functional.pad(cr.tensor(x), p, mode=mode).numpy(),
                                          F.pad(torch.tensor(x), p, mode=mode).numpy(), err_msg=f"{mode} {p}")
    np.testing.assert_array_equal(cr.nn.functional.pad(cr.tensor(x), (1, 1, 1, 0), value=7.0).numpy(),
                                  F.pad(torch.tensor(x), (1, 1, 1, 0), value=7.0).numpy())


def test_pad_errors():
    x = cr.zeros(1, 2, 3)
    with pytest.raises(ValueError, match="even"):
        cr.nn.functional.pad(x, (1, 2, 3))
    with pytest.raises(ValueError, match="reflect.*3"):
        cr.nn.functional.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="mode"):
        cr.nn.functional.pad(x, (1, 1), mode="mirror")


# ---------------------------------------------------------------------- views share memory and versions
def test_views_share_memory():
    x = cr.zeros(2, 3)
    for v in (x.reshape(6), x.view(3, 2), x.transpose(0, 1), x.t(), x.unsqueeze(0), x[0], x.permute(1, 0)):
        v_arr = v.numpy()
        assert np.shares_memory(v_arr, x.numpy())


def test_view_of_a_non_contiguous_tensor_raises_instead_of_copying():
    """x.t().view(6) used to return a copy, so a later in-place change silently missed x; PyTorch raises."""
    x = cr.arange(6.0).reshape(2, 3)
    with pytest.raises(RuntimeError, match=r"view: size \(6,\) is not compatible with the input's size \(3, 2\) "
                                           r"and strides \(1, 3\).*Fix: use \.reshape\(\.\.\.\)"):
        x.t().view(6)
    with pytest.raises(RuntimeError, match="not compatible"):
        x.t().view_as(cr.zeros(6))
    with pytest.raises(RuntimeError, match="not compatible"):
        x.t().view(-1)
    r = x.t().reshape(6)                                       # reshape may copy, as in PyTorch
    assert r.tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    # views that the strides can express stay views, writes included
    v = x.t().view(3, 1, 2)
    v.add_(1.0)
    assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert x[:, :2].view(2, 1, 2).shape == (2, 1, 2)          # splitting a dim never needs a copy
    assert cr.zeros(0, 3).t().view(0).shape == (0,)


@needs_torch
@pytest.mark.parametrize("make, shape", [(lambda m: m.arange(6.0).reshape(2, 3).t(), (6,)),
                                          (lambda m: m.arange(24.0).reshape(2, 3, 4).permute(2, 0, 1), (4, 6)),
                                          (lambda m: m.arange(24.0).reshape(2, 3, 4).permute(2, 0, 1), (2, 2, 6)),
                                          (lambda m: m.arange(24.0).reshape(4, 6)[:, ::2], (12,)),
                                          (lambda m: m.arange(24.0).reshape(4, 6)[:, ::2], (2, 2, 3)),
                                          (lambda m: m.arange(24.0).reshape(2, 3, 4).permute(2, 0, 1), (8, 3)),
                                          (lambda m: m.arange(24.0).reshape(4, 6)[:, :3], (4, 3, 1)),
                                          (lambda m: m.arange(24.0).reshape(4, 6)[:, :3], (12,)),
                                          (lambda m: m.arange(24.0).reshape(4, 6)[1:3], (12,))])
def test_view_raises_exactly_where_torch_does(make, shape):
    t = make(torch)
    try:
        expected = t.view(shape)
    except RuntimeError:
        with pytest.raises(RuntimeError, match="not compatible"):
            make(cr).view(shape)
    else:
        np.testing.assert_array_equal(make(cr).view(shape).numpy(), expected.numpy())


# ---------------------------------------------------------------------- error messages
def test_reshape_error_names_shape_and_numel():
    x = cr.zeros(2, 3, 4)
    with pytest.raises(RuntimeError, match=r"\(5, 5\).*\(2, 3, 4\).*24"):
        x.reshape(5, 5)
    with pytest.raises(ValueError, match=r"\(-1, 5\).*\(2, 3, 4\).*24"):
        x.view(-1, 5)


def test_cat_error_names_all_shapes():
    with pytest.raises(RuntimeError, match=r"\(2, 3\).*\(3, 4\).*\(2, 5\)"):
        cr.cat([cr.zeros(2, 3), cr.zeros(3, 4), cr.zeros(2, 5)])
    with pytest.raises(RuntimeError, match=r"\(2, 3\).*\(3, 4, 1\)"):
        cr.cat([cr.zeros(2, 3), cr.zeros(3, 4, 1)])
    with pytest.raises(RuntimeError, match=r"stack.*\(2,\).*\(3,\)"):
        cr.stack([cr.zeros(2), cr.zeros(3)])


def test_expand_error_names_dim():
    with pytest.raises(RuntimeError, match=r"expand.*\(2, 3\).*\(4, 3\).*size 1"):
        cr.zeros(2, 3).expand(4, 3)
    with pytest.raises(RuntimeError, match=r"expand.*\(2, 3\)"):
        cr.zeros(2, 3).expand(3)
    with pytest.raises(RuntimeError, match=r"expand.*-1.*leading.*\(3,\)"):
        cr.zeros(3).expand(-1, 3)


def test_shape_arg_errors_are_clear():
    x = cr.zeros(2, 3, 4)
    with pytest.raises(RuntimeError, match=r"permute.*\(2, 3, 4\)"):
        x.permute(0, 1)
    with pytest.raises(ValueError, match="permute.*repeated"):
        x.permute(0, 1, 1)
    with pytest.raises(IndexError, match="transpose.*out of range"):
        x.transpose(0, 5)
    with pytest.raises(IndexError, match="flip.*out of range"):
        x.flip(3)
    with pytest.raises(RuntimeError, match=r"repeat.*\(2,\).*3"):
        x.repeat(2)
    with pytest.raises(RuntimeError, match=r"split.*\[1, 1\].*3"):
        x.split([1, 1], 1)
    with pytest.raises(ValueError, match=r"chunk.*0"):
        x.chunk(0)
    with pytest.raises(ValueError, match=r"narrow.*start.*length.*3"):
        x.narrow(1, 2, 3)
    with pytest.raises(RuntimeError, match=r"unflatten.*\(2, 2\).*3"):
        x.unflatten(1, (2, 2))
    with pytest.raises(ValueError, match=r"movedim.*distinct"):
        x.movedim((0, 1), (1, 1))
    for op in ("unbind", "split", "chunk"):
        with pytest.raises(IndexError, match=rf"{op}.*0-d"):
            getattr(cr.tensor(1.0), op)(1) if op != "unbind" else cr.tensor(1.0).unbind()
    with pytest.raises(IndexError, match=r"narrow.*0-d"):
        cr.tensor(1.0).narrow(0, 0, 1)


@needs_torch
@pytest.mark.parametrize("fn", [lambda x: x.flip(0), lambda x: x.permute(()), lambda x: x.transpose(0, -1),
                                lambda x: x.squeeze(0), lambda x: x.unsqueeze(-1), lambda x: x.flatten(),
                                lambda x: x.repeat(2, 3), lambda x: x.expand(2, 1), lambda x: x.movedim(0, 0)])
def test_zero_dim_shape_ops(fn):
    both(fn, [np.array(1.5)])


@needs_torch
@pytest.mark.parametrize("fn", [lambda x: x.reshape(-1, 3), lambda x: x.flatten(), lambda x: x.repeat(0, 2, 1),
                                lambda x: x.tile(2), lambda x: x.narrow(1, 0, 0), lambda x: x.transpose(0, 1)])
def test_empty_tensor_shape_ops(fn):
    check_torch(fn, fn, [np.zeros((2, 0, 3))])


def test_contiguous_of_a_transpose_is_contiguous_so_view_works():
    """nanoGPT's ``y.transpose(1, 2).contiguous().view(B, T, C)``: contiguous() must lay the copy out in C
    order (a strided clone keeps the transpose's strides and view then refuses)."""
    x = cr.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    y = x.transpose(1, 2).contiguous()
    assert y.is_contiguous() and cr.tensor(np.arange(24.0)).view(2, 3, 4)[:, :, ::2].contiguous().is_contiguous()
    w = np.arange(24.0).reshape(2, 12)
    (y.view(2, 12) * cr.tensor(w)).sum().backward()
    assert np.array_equal(x.grad.numpy(), w.reshape(2, 4, 3).transpose(0, 2, 1))


@pytest.mark.parametrize("src,dst", [((), (4,)), ((3, 1), (3, 5)), ((1, 4), (2, 3, 4)), ((2, 3), (2, 3)),
                                     ((1,), (0,)), ((3, 1), (3, 0))])
def test_broadcast_array_is_numpys_read_only_view(src, dst):
    """expand's raw kernel: the same values, strides and read-only flag as np.broadcast_to, sharing memory."""
    from chainrule.ops._util import broadcast_array
    x = np.arange(int(np.prod(src)), dtype=np.float32).reshape(src)
    got, want = broadcast_array(x, dst), np.broadcast_to(x, dst)
    assert got.shape == want.shape and got.strides == want.strides and not got.flags.writeable
    np.testing.assert_array_equal(got, want)
    assert got.size == 0 or np.shares_memory(got, x)


def test_expand_of_a_raw_array_is_a_read_only_view_with_expands_error():
    """expand on a backward rule's raw carrier skips the op machinery, not its checks."""
    from chainrule.ops.shape import expand
    x = np.arange(3, dtype=np.float32).reshape(3, 1)
    y = expand(x, (2, 3, 4))
    assert type(y) is np.ndarray and not y.flags.writeable and np.shares_memory(x, y)
    np.testing.assert_array_equal(y, np.broadcast_to(x, (2, 3, 4)))
    np.testing.assert_array_equal(expand(x, (-1, 4)), np.broadcast_to(x, (3, 4)))      # -1: the general path
    with pytest.raises(cr.errors.ShapeError, match=r"expand: a tensor of shape \(3, 1\) cannot be expanded to \(2, 4\)"):
        expand(x, (2, 4))


def test_broadcast_array_raises_numpys_error():
    from chainrule.ops._util import broadcast_array
    with pytest.raises(ValueError):
        broadcast_array(np.ones((3, 2), np.float32), (3, 4))
    t = cr.ones(3, 2)
    with pytest.raises(Exception, match="expand"):
        t.expand(3, 4)


def test_stack_promotes_dtypes_and_splits_its_gradient():
    """One Stack node: mixed dtypes promote as cat does; each input gets its slice of the gradient."""
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3, 4])                                    # int64: promoted to float32
    y = cr.stack([a, b, a], dim=1)
    assert y.dtype == cr.float32 and tuple(y.shape) == (2, 3)
    assert y.grad_fn.name() != "CatBackward0" and len(y.grad_fn.next_functions) == 3
    (y * cr.tensor([[1.0, 10.0, 100.0], [2.0, 20.0, 200.0]])).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [101.0, 202.0])
    with pytest.raises(ValueError, match="non-negative"):
        cr.split(cr.arange(10.0), [3, -1, 8])

