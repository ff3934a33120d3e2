"""One harness over the op registry (tests/ops/opinfo.py): for every entry, float64 gradcheck and
gradgradcheck, PyTorch as the oracle (values and gradients, every exported spelling), first-order backward
vs create_graph gradients, empty and 0-d inputs, float32; and a test that fails when an exported op has no
entry. Expected values come from PyTorch or finite differences, never from chainrule itself."""
import numpy as np
import pytest

import chainrule as cr
from oracle import needs_torch, torch

import opinfo
from opinfo import OPS, call

# ---------------------------------------------------------------- converting samples
def _is_float(a):
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def _conv(a, lib, dtype, grad):
    """One sample argument -> a chainrule or torch tensor (recursing into tuples/lists)."""
    if isinstance(a, np.ndarray):
        if lib == "cr":
            if a.dtype.kind == "f":
                return cr.tensor(a, dtype=dtype, requires_grad=grad)
            return cr.tensor(a)
        if a.dtype.kind == "f":
            return torch.tensor(a, dtype=dtype, requires_grad=grad)
        return torch.tensor(a)
    if isinstance(a, (tuple, list)):
        return type(a)(_conv(x, lib, dtype, grad) for x in a)
    return a


def _args(op, sample, lib, dtype="float64", grad=True):
    dt = getattr(cr if lib == "cr" else torch, dtype)
    return [_conv(a, lib, dt, grad and op.diff and i not in sample.nograd) for i, a in enumerate(sample.args)]


def _leaves(args):
    """The tensors that require grad, in argument order (lists of tensors flattened)."""
    out = []
    for a in args:
        if isinstance(a, (tuple, list)):
            out += _leaves(a)
        elif hasattr(a, "requires_grad") and a.requires_grad:
            out.append(a)
    return out


def _outputs(out):
    """An op's result -> list of its tensors (tuples, namedtuples and lists flattened)."""
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _outputs(o)]
    return [out] if hasattr(out, "shape") else []


def _float_outputs(out):
    return [o for o in _outputs(out) if o.is_floating_point()]


def _samples(op, seed=0):
    return list(op.sample(np.random.default_rng(seed)))


def _has_empty(sample):
    return any(isinstance(a, np.ndarray) and a.size == 0 for a in sample.args)


def _as_fn(op, spelling, sample):
    """fn(*leaves) -> tuple of float outputs, with the sample's other arguments fixed (for gradcheck)."""
    args = _args(op, sample, "cr")

    def fn(*leaves):
        it = iter(leaves)

        def sub(a):
            if isinstance(a, (tuple, list)):
                return type(a)(sub(x) for x in a)
            if hasattr(a, "requires_grad") and a.requires_grad:
                return next(it)
            return a
        return tuple(_float_outputs(call(spelling, "cr", [sub(a) for a in args], sample.kwargs)))
    return fn, _leaves(args)


def _diff_samples(op):
    return [s for s in _samples(op) if s.fd and not _has_empty(s) and any(_is_float(a) for a in _flat(s.args))]


def _inplace(spelling):
    name = spelling.split(".", 1)[1]
    return (name.endswith("_") and not name.startswith("__")) or name.startswith("__i") or name == "__setitem__"


def _fits(spelling, sample):
    """An in-place spelling cannot grow its first argument: skip samples that broadcast it to a bigger shape."""
    if not _inplace(spelling):
        return True
    shapes = [np.shape(a) for a in sample.args if isinstance(a, np.ndarray)]
    return np.broadcast_shapes(*shapes) == shapes[0] if spelling != "Tensor.__setitem__" else True


def _flat(args):
    return [x for a in args for x in (_flat(a) if isinstance(a, (tuple, list)) else [a])]


# ---------------------------------------------------------------- the harness
@pytest.mark.parametrize("op", opinfo.params("test_gradcheck"))
def test_gradcheck(op):
    if not op.diff:
        pytest.skip("no gradient")
    for s in _diff_samples(op):
        fn, leaves = _as_fn(op, op.names[0], s)
        assert cr.autograd.gradcheck(fn, leaves, atol=op.grad_atol, rtol=op.grad_rtol), (op.name, s)


@pytest.mark.parametrize("op", opinfo.params("test_gradgradcheck"))
def test_gradgradcheck(op):
    if not (op.diff and op.gradgrad):
        pytest.skip("no second order")
    for s in _diff_samples(op)[:2]:
        fn, leaves = _as_fn(op, op.names[0], s)
        assert cr.autograd.gradgradcheck(fn, leaves, atol=op.grad_atol, rtol=op.grad_rtol), (op.name, s)


def _torch_spelling(op, spelling):
    return op.torch.get(spelling, spelling)


def _compare(c, t, op, where, atol, rtol):
    assert tuple(c.shape) == tuple(t.shape), f"{where}: shape {tuple(c.shape)} vs torch {tuple(t.shape)}"
    np.testing.assert_allclose(c.detach().numpy().astype(np.float64) if c.dtype != cr.bool else c.numpy(),
                               t.detach().numpy(), atol=atol, rtol=rtol, err_msg=where)


@needs_torch
@pytest.mark.parametrize("op", opinfo.params("test_torch_oracle"))
def test_torch_oracle(op):
    """Every spelling the entry covers: forward values and input gradients equal PyTorch's (float64)."""
    for spelling in op.names:
        for k, s in enumerate(_samples(op)):
            if not _fits(spelling, s):
                continue
            where = f"{spelling} sample {k}"
            ac, at = _args(op, s, "cr"), _args(op, s, torch)
            oc = _outputs(call(spelling, "cr", ac, s.kwargs))
            ot = _outputs(call(_torch_spelling(op, spelling), torch, at, s.kwargs))
            assert len(oc) == len(ot), f"{where}: {len(oc)} outputs vs torch {len(ot)}"
            for c, t in zip(oc, ot):
                assert str(c.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], f"{where}: {c.dtype} vs {t.dtype}"
                _compare(c, t, op, where, op.atol, op.rtol)
            pairs = [(c, t) for c, t in zip(oc, ot) if t.requires_grad]
            if not op.diff or not op.torch_grad or not pairs:
                continue
            rng = np.random.default_rng(7)
            seeds = [rng.standard_normal(tuple(t.shape)) for _, t in pairs]
            sum((c * cr.tensor(g)).sum() for (c, _), g in zip(pairs, seeds)).backward()
            sum((t * torch.tensor(g)).sum() for (_, t), g in zip(pairs, seeds)).backward()
            for i, (lc, lt) in enumerate(zip(_leaves(ac), _leaves(at))):
                if lt.grad is None:
                    assert lc.grad is None or not np.any(lc.grad.numpy()), f"{where}: input {i} grad, torch none"
                    continue
                assert lc.grad is not None, f"{where}: torch has a gradient for input {i}, chainrule none"
                _compare(lc.grad, lt.grad, op, f"{where}: gradient of input {i}", op.atol, op.rtol)


@pytest.mark.parametrize("op", opinfo.params("test_backward_matches_create_graph"))
def test_backward_matches_create_graph(op):
    """First-order loss.backward() (raw arrays) equals autograd.grad(create_graph=True) (Tensors)."""
    if not op.diff:
        pytest.skip("no gradient")
    for k, s in enumerate(_samples(op)):
        rng = np.random.default_rng(3)
        results = []
        for create_graph in (False, True):
            args = _args(op, s, "cr")
            leaves = _leaves(args)
            outs = _float_outputs(call(op.names[0], "cr", args, s.kwargs))
            outs = [o for o in outs if o.requires_grad]
            if not outs:
                assert not leaves or not any(o.is_floating_point() for o in _outputs(call(op.names[0], "cr", args, s.kwargs))), \
                    f"sample {k}: inputs require grad, the float output has no grad_fn"
                break
            if not results:
                seeds = [cr.tensor(rng.standard_normal(tuple(o.shape))) for o in outs]
            loss = sum((o * g).sum() for o, g in zip(outs, seeds))
            if create_graph:
                grads = cr.autograd.grad(loss, leaves, create_graph=True, allow_unused=True)
            else:
                loss.backward()
                grads = [x.grad for x in leaves]
            results.append([None if g is None else g.detach().numpy() for g in grads])
        if len(results) == 2:
            for i, (a, b) in enumerate(zip(*results)):
                if a is None or b is None:
                    assert (a is None or not a.any()) and (b is None or not b.any()), f"sample {k} input {i}"
                    continue
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"sample {k} input {i}")


@needs_torch
@pytest.mark.parametrize("op", opinfo.params("test_empty_and_0d"))
def test_empty_and_0d(op):
    """Samples with an empty or 0-d input: forward shape and dtype as torch; backward runs."""
    edge = [s for s in _samples(op) if any(isinstance(a, np.ndarray) and (a.size == 0 or a.ndim == 0)
                                           for a in _flat(s.args))]
    if not edge:
        pytest.skip("the op takes no empty or 0-d input")
    for s in edge:
        ac, at = _args(op, s, "cr"), _args(op, s, torch)
        oc = _outputs(call(op.names[0], "cr", ac, s.kwargs))
        ot = _outputs(call(_torch_spelling(op, op.names[0]), torch, at, s.kwargs))
        for c, t in zip(oc, ot):
            assert tuple(c.shape) == tuple(t.shape)
            assert str(c.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        fl = [c for c in oc if c.requires_grad]
        if fl:
            sum(c.sum() for c in fl).backward()
            for x in _leaves(ac):
                assert x.grad is None or tuple(x.grad.shape) == tuple(x.shape)


@pytest.mark.parametrize("op", opinfo.params("test_float32"))
def test_float32(op):
    """float32 in: float32 out and float32 gradients, values close to the float64 run."""
    if not op.float32:
        pytest.skip("integer/bool op")
    for k, s in enumerate(_samples(op)):
        if not any(_is_float(a) for a in _flat(s.args)):
            continue
        runs = {}
        for dtype in ("float64", "float32"):
            args = _args(op, s, "cr", dtype)
            outs = _outputs(call(op.names[0], "cr", args, s.kwargs))
            fl = [o for o in outs if o.requires_grad]
            if fl:
                sum(o.sum() for o in fl).backward()
            runs[dtype] = (outs, [x.grad for x in _leaves(args)])
        for o64, o32 in zip(runs["float64"][0], runs["float32"][0]):
            if o64.dtype == cr.float64:
                assert o32.dtype == cr.float32, f"sample {k}: float32 input gave {o32.dtype}"
            np.testing.assert_allclose(o32.detach().numpy().astype(np.float64), o64.detach().numpy(),
                                       rtol=1e-4, atol=1e-4, err_msg=f"sample {k}")
        for g64, g32 in zip(*[runs[d][1] for d in ("float64", "float32")]):
            if g64 is None:
                continue
            assert g32.dtype == cr.float32
            np.testing.assert_allclose(g32.numpy(), g64.numpy(), rtol=1e-3, atol=1e-4, err_msg=f"sample {k} grad")


def test_every_exported_op_has_an_entry():
    missing = sorted(opinfo.exported() - opinfo.covered() - set(opinfo.EXCLUDED))
    assert not missing, f"exported ops with no registry entry in tests/ops/opinfo.py: {missing}"


def test_registry_names_exist():
    """An entry that names a spelling nobody exports is a typo (and would cover nothing)."""
    stale = sorted((opinfo.covered() | set(opinfo.EXCLUDED)) - opinfo.exported())
    assert not stale, f"registry or exclusion spellings that are not exported: {stale}"


def test_the_ops_issue_10_named_untested_have_entries():
    named = {"expm1", "log2", "log10", "tan", "reciprocal", "swapaxes", "count_nonzero", "index_put",
             "logical_and", "logical_or"}
    have = {n.split(".", 1)[1] for n in opinfo.covered()}
    assert named <= have, sorted(named - have)


@pytest.mark.parametrize("fn", ["expm1", "log1p"])
def test_expm1_log1p_tiny_arguments_to_one_ulp(fn):
    """exp(x) - 1 and log(1 + x) lose every digit below 1e-8; the ops must not (NumPy's are correctly rounded
    to ~1 ulp)."""
    x = np.array([1e-10, -3e-12, 1e-300, 5e-17, 2e-8, -1e-5, 0.3])
    for dtype, npdt in ((cr.float64, np.float64), (cr.float32, np.float32)):
        got = getattr(cr, fn)(cr.tensor(x.astype(npdt), dtype=dtype)).numpy()
        want = getattr(np, fn)(x.astype(npdt))
        ulp = np.spacing(np.abs(want).astype(npdt))
        assert np.all(np.abs(got - want) <= 2 * ulp), (fn, dtype, got, want)


def test_gradcheck_accepts_an_empty_input():
    """An empty input has nothing to perturb (np.shares_memory is False for empty arrays: it was refused as
    'must be contiguous')."""
    x = cr.zeros(0, 3, dtype=cr.float64, requires_grad=True)
    y = cr.randn(2, 3, dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(lambda a, b: cr.cat([a, b]) * 2, [x, y])
