"""Module: registration of parameters / buffers / submodules, traversal (names and order as PyTorch's for the
same model), train/eval, zero_grad, requires_grad_, apply, to(dtype), state_dict / load_state_dict (names as
PyTorch's, weights moved across both ways, clear errors), repr identical to PyTorch's, copy and pickle."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from oracle import needs_torch, torch

if torch is not None:
    import torch.nn as tnn


def _lib(N):
    """(tensor module, nn module) for chainrule or torch, so one model definition builds in both."""
    return (cr, nn) if N is nn else (torch, tnn)


def build_nested(N):
    """The same nested model in either library: Sequential, ModuleList, ModuleDict, buffers (persistent and
    not), a shared submodule, a direct Parameter and a None parameter."""
    T, _ = _lib(N)

    class Block(N.Module):
        def __init__(self):
            super().__init__()
            self.lin = N.Linear(3, 3)
            self.register_buffer("count", T.zeros(1))
            self.register_parameter("unused", None)

        def forward(self, x):
            return self.lin(x) + self.count

    class Net(N.Module):
        def __init__(self):
            super().__init__()
            self.scale = N.Parameter(T.ones(2))
            self.seq = N.Sequential(N.Linear(4, 8), N.ReLU(), N.Linear(8, 3, bias=False))
            self.blocks = N.ModuleList([Block(), N.Tanh(), Block()])
            self.heads = N.ModuleDict({"a": N.Linear(3, 2), "b": N.LeakyReLU(0.2)})
            self.register_buffer("running", T.arange(3.0))
            self.register_buffer("scratch", T.ones(2), persistent=False)
            self.tied = self.seq[0]                       # shared: counted once in parameters()

        def forward(self, x):
            x = self.seq(x)
            for b in self.blocks:
                x = b(x)
            return self.heads["b"](self.heads["a"](x)) * self.scale

    return Net()


def _copy_torch_into(cm, tm):
    sd = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    cm.load_state_dict(sd)


# ------------------------------------------------------------------ registration and traversal
def test_assigning_registers_parameters_modules_buffers():
    m = nn.Module()
    m.w = nn.Parameter(cr.ones(2))
    m.sub = nn.Linear(2, 2)
    m.register_buffer("b", cr.zeros(3))
    m.plain = cr.ones(2)                        # a plain Tensor attribute is neither
    assert [n for n, _ in m.named_parameters()] == ["w", "sub.weight", "sub.bias"]
    assert [n for n, _ in m.named_buffers()] == ["b"]
    assert list(m.state_dict()) == ["w", "b", "sub.weight", "sub.bias"]
    assert m.w.requires_grad and not m.b.requires_grad
    m.w = None                                  # a parameter slot can be emptied
    assert [n for n, _ in m.named_parameters()] == ["sub.weight", "sub.bias"]
    del m.sub
    assert list(m.children()) == [] and not hasattr(m, "sub")
    with pytest.raises(TypeError, match="parameter 'w'"):
        m.w = cr.ones(2)                        # a plain tensor into a parameter slot
    with pytest.raises(KeyError):
        m.register_buffer("a.b", cr.ones(1))
    with pytest.raises(TypeError, match="Tensor or None"):
        m.register_buffer("c", np.ones(2))


def test_assigning_before_super_init_is_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.lin = nn.Linear(2, 2)
            super().__init__()

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Bad()


def test_attribute_error_names_the_module():
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'wieght'"):
        nn.Linear(2, 2).wieght


@needs_torch
def test_traversal_names_and_order_match_torch():
    cm, tm = build_nested(nn), build_nested(tnn)
    for meth in ("named_parameters", "named_buffers", "named_children", "named_modules"):
        assert [n for n, _ in getattr(cm, meth)()] == [n for n, _ in getattr(tm, meth)()], meth
    assert [n for n, _ in cm.named_parameters(remove_duplicate=False)] == \
           [n for n, _ in tm.named_parameters(remove_duplicate=False)]
    assert [n for n, _ in cm.named_modules(remove_duplicate=False)] == \
           [n for n, _ in tm.named_modules(remove_duplicate=False)]
    assert [n for n, _ in cm.named_parameters(prefix="net", recurse=False)] == \
           [n for n, _ in tm.named_parameters(prefix="net", recurse=False)]
    assert [tuple(p.shape) for p in cm.parameters()] == [tuple(p.shape) for p in tm.parameters()]
    assert [tuple(b.shape) for b in cm.buffers()] == [tuple(b.shape) for b in tm.buffers()]
    assert [type(m).__name__ for m in cm.modules()] == [type(m).__name__ for m in tm.modules()]
    assert [type(m).__name__ for m in cm.children()] == [type(m).__name__ for m in tm.children()]
    assert sum(p.numel() for p in cm.parameters()) == sum(p.numel() for p in tm.parameters())


def test_shared_parameters_are_deduplicated():
    a = nn.Linear(3, 3)
    m = nn.Sequential(a, nn.ReLU(), a)
    assert len(list(m.parameters())) == 2
    assert len(list(m.named_parameters(remove_duplicate=False))) == 4
    b = nn.Linear(3, 3)
    b.weight = a.weight                               # tied weights across two different layers
    m2 = nn.Sequential(a, b)
    assert [n for n, _ in m2.named_parameters()] == ["0.weight", "0.bias", "1.bias"]


def test_get_submodule_and_parameter():
    m = build_nested(nn)
    assert m.get_submodule("blocks.0.lin") is m.blocks[0].lin
    assert m.get_parameter("seq.2.weight") is m.seq[2].weight
    with pytest.raises(AttributeError, match="nope"):
        m.get_submodule("blocks.nope")


# ------------------------------------------------------------------ modes and bulk changes
def test_train_eval_propagate():
    m = build_nested(nn)
    assert all(x.training for x in m.modules())
    assert m.eval() is m
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    m.blocks.train(False)
    assert m.training and not m.blocks[0].training and not m.blocks[0].lin.training and m.seq.training
    with pytest.raises(ValueError):
        m.train("yes")


def test_train_calls_overridden_train_of_children():
    class Frozen(nn.Module):              # a common trick: keep a submodule in eval mode forever
        def train(self, mode=True):
            return super().train(False)

    m = nn.Sequential(nn.Linear(2, 2), Frozen())
    m.train()
    assert m.training and m[0].training and not m[1].training


def test_zero_grad_and_requires_grad_():
    m = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1))
    m(cr.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    for p in m.parameters():
        assert p.grad is not None and not np.any(p.grad.numpy())
    m(cr.randn(4, 3)).sum().backward()
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    assert m.requires_grad_(False) is m
    assert not any(p.requires_grad for p in m.parameters())
    assert not m(cr.randn(4, 3)).requires_grad
    m[0].requires_grad_()
    assert [p.requires_grad for p in m.parameters()] == [True, True, False, False]


def test_apply_visits_children_first_then_self():
    m = build_nested(nn)
    seen = []
    assert m.apply(lambda mod: seen.append(mod)) is m
    assert seen[-1] is m
    assert seen.index(m.seq[0]) < seen.index(m.seq) < seen.index(m)
    assert {id(x) for x in seen} == {id(x) for x in m.modules()}

    def init(mod):                        # the usual custom-init idiom
        if isinstance(mod, nn.Linear):
            nn.init.constant_(mod.weight, 0.5)
    m.apply(init)
    assert np.all(m.heads["a"].weight.detach().numpy() == 0.5)


def test_to_dtype_and_double():
    m = build_nested(nn)
    m.register_buffer("steps", cr.tensor([3]))          # an integer buffer is left alone
    x = cr.randn(5, 4)
    ref = m(x).detach().numpy()
    assert m.double() is m
    assert all(p.dtype == cr.float64 for p in m.parameters())
    assert m.running.dtype == cr.float64 and m.steps.dtype == cr.int64
    out = m(x.double())
    assert out.dtype == cr.float64
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-5, atol=1e-6)
    m.to(cr.float32)
    assert all(p.dtype == cr.float32 for p in m.parameters())
    m.to("cpu", dtype="float64")
    assert m.seq[0].weight.dtype == cr.float64
    m.to(cr.zeros(1, dtype=cr.float32))                  # .to(other_tensor) takes its dtype
    assert m.seq[0].weight.dtype == cr.float32
    with pytest.raises(TypeError, match="floating point"):
        m.to(cr.int32)
    with pytest.raises(RuntimeError, match="CPU"):
        m.to("cuda")


def test_to_keeps_parameter_identity_and_grad():
    lin = nn.Linear(2, 2)
    w = lin.weight
    lin(cr.randn(3, 2)).sum().backward()
    lin.double()
    assert lin.weight is w and isinstance(w, nn.Parameter) and w.requires_grad
    assert w.grad.dtype == cr.float64


# ------------------------------------------------------------------ state_dict
@needs_torch
def test_state_dict_names_match_torch_and_round_trip():
    cm, tm = build_nested(nn).double(), build_nested(tnn)
    assert list(cm.state_dict()) == list(tm.state_dict())
    assert "scratch" not in cm.state_dict()                  # non-persistent buffer
    with torch.no_grad():
        tm.running.copy_(torch.tensor([0.5, -1.0, 2.0]))
        tm.blocks[0].count.fill_(0.25)
    _copy_torch_into(cm, tm)
    x = np.random.default_rng(0).standard_normal((6, 4))
    np.testing.assert_allclose(cm(cr.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12, atol=1e-12)
    # ... and back: chainrule's state dict into a fresh torch model
    for p in cm.parameters():
        p.detach().numpy()[...] = np.random.default_rng(1).standard_normal(p.shape)
    t2 = build_nested(tnn)
    t2.load_state_dict({k: torch.tensor(v.numpy()) for k, v in cm.state_dict().items()})
    np.testing.assert_allclose(cm(cr.tensor(x)).detach().numpy(), t2(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12, atol=1e-12)


def test_state_dict_values_are_detached_views():
    lin = nn.Linear(2, 3)
    sd = lin.state_dict()
    assert isinstance(sd, OrderedDict) and not sd["weight"].requires_grad
    assert np.shares_memory(sd["weight"].numpy(), lin.weight.detach().numpy())
    kv = lin.state_dict(keep_vars=True)
    assert kv["weight"] is lin.weight


def test_load_state_dict_errors_list_missing_unexpected_and_shapes():
    lin = nn.Linear(3, 2)
    w0 = lin.weight.detach().numpy().copy()
    with pytest.raises(RuntimeError) as ei:
        lin.load_state_dict({"weight": np.zeros((2, 4)), "extra": np.zeros(1)})
    msg = str(ei.value)
    assert "Linear" in msg and 'Missing key(s) in state_dict: "bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra"' in msg
    assert "size mismatch for weight" in msg and "(2, 4)" in msg and "(2, 3)" in msg
    np.testing.assert_array_equal(lin.weight.detach().numpy(), w0)      # nothing was half-loaded
    res = lin.load_state_dict({"weight": np.ones((2, 3)), "extra": np.zeros(1)}, strict=False)
    assert res.missing_keys == ["bias"] and res.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(lin.weight.detach().numpy(), 1.0)
    with pytest.raises(RuntimeError, match="size mismatch"):       # shapes are checked even when not strict
        lin.load_state_dict({"weight": np.ones((3, 3))}, strict=False)


def test_load_state_dict_casts_to_the_parameter_dtype_and_bumps_version():
    lin = nn.Linear(2, 2)
    v = lin.weight._vc[0]
    lin.load_state_dict({"weight": np.ones((2, 2), np.float64), "bias": [1.0, 2.0]})
    assert lin.weight.dtype == cr.float32 and lin.weight._vc[0] > v
    np.testing.assert_array_equal(lin.bias.detach().numpy(), [1.0, 2.0])
    lin.load_state_dict({"weight": np.ones((2, 2), np.float64), "bias": [1.0, 2.0]}, assign=True)
    assert lin.weight.dtype == cr.float64 and isinstance(lin.weight, nn.Parameter)


@needs_torch
def test_load_state_dict_accepts_torch_tensors_directly():
    tm, cm = tnn.Linear(3, 2, dtype=torch.float32), nn.Linear(3, 2)
    cm.load_state_dict(tm.state_dict())
    np.testing.assert_array_equal(cm.weight.detach().numpy(), tm.weight.detach().numpy())


# ------------------------------------------------------------------ repr
@needs_torch
def test_repr_matches_torch():
    assert repr(build_nested(nn)) == repr(build_nested(tnn))
    for make in (lambda N: N.Linear(3, 4), lambda N: N.Linear(3, 4, bias=False),
                 lambda N: N.Sequential(N.Linear(2, 3), N.ReLU(), N.Sequential(N.Linear(3, 1), N.Sigmoid())),
                 lambda N: N.Sequential(OrderedDict([("fc", N.Linear(1, 1)), ("act", N.Softmax(dim=-1))])),
                 lambda N: N.ModuleList([N.Linear(2, 2) for _ in range(3)] + [N.ReLU()]),
                 lambda N: N.Bilinear(2, 3, 4), lambda N: N.Flatten(0, 2), lambda N: N.Unflatten(1, [2, 3]),
                 lambda N: N.Identity(), lambda N: N.Module()):
        assert repr(make(nn)) == repr(make(tnn))


def test_repr_of_custom_extra_repr_and_multiline():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(1, 1)

        def extra_repr(self):
            return "factor=2"

    assert repr(Scaled()) == "Scaled(\n  factor=2\n  (inner): Linear(in_features=1, out_features=1, bias=True)\n)"


# ------------------------------------------------------------------ copying, pickling, calling
class TiedNet(nn.Module):                  # module level, so pickle can find the class
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
        self.again = self.body[0]
        self.head = nn.Linear(4, 2)
        self.register_buffer("steps", cr.zeros(1))

    def forward(self, x):
        return self.head(self.again(self.body(x))) + self.steps


def test_deepcopy_and_pickle():
    m = TiedNet()
    x = cr.randn(2, 4)
    for m2 in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert list(m2.state_dict()) == list(m.state_dict())
        assert m2.again is m2.body[0]                                 # sharing survives the copy
        assert m2.again.weight is not m.again.weight
        assert isinstance(m2.again.weight, nn.Parameter) and m2.again.weight.requires_grad
        np.testing.assert_array_equal(m2(x).detach().numpy(), m(x).detach().numpy())
        with cr.no_grad():
            m2.again.weight.add_(1.0)
        assert not np.allclose(m2(x).detach().numpy(), m(x).detach().numpy())


def test_missing_forward_is_a_clear_error():
    with pytest.raises(NotImplementedError, match="missing the required \"forward\""):
        nn.Module()(cr.ones(1))


def test_forward_can_be_replaced_per_instance_and_kwargs_pass_through():
    class Affine(nn.Module):
        def forward(self, x, scale=1.0, *, shift=0.0):
            return x * scale + shift

    m = Affine()
    assert m(cr.tensor([1.0]), 2.0, shift=3.0).item() == 5.0
    m.forward = lambda x: x - 1
    assert m(cr.tensor([1.0])).item() == 0.0


def test_call_without_hooks_is_a_direct_forward_call():
    """Module.__call__ must stay tiny: with no hooks, calling the module costs about a forward call."""
    class Id(nn.Module):
        def forward(self, x):
            return x

    m, x = Id(), cr.ones(1)
    assert m(x) is x
    assert m.__call__ == m.forward                     # calling the module *is* calling forward
    h = m.register_forward_hook(lambda mod, a, o: None)
    assert m.__call__ != m.forward and m(x) is x
    h.remove()
    assert m.__call__ == m.forward                     # back on the direct path once the hooks are gone
    # (the cost itself is measured in benchmarks/module_call.py, not asserted here)


# ------------------------------------------------------------------ Parameter and Buffer
def test_parameter_basics():
    t = cr.randn(2, 3)
    p = nn.Parameter(t)
    assert isinstance(p, cr.Tensor) and p.requires_grad and p.grad_fn is None and p.is_leaf
    assert np.shares_memory(p.detach().numpy(), t.numpy())             # shares memory, as torch
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:\ntensor(") and "requires_grad=True" in repr(p)
    assert tuple(nn.Parameter().shape) == (0,)
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(cr.tensor([1, 2]))
    assert (p * 2).grad_fn is not None and type(p * 2) is cr.Tensor   # ops on a Parameter give Tensors


@needs_torch
def test_buffer_assignment_matches_torch():
    def make(N):
        T, _ = _lib(N)
        m = N.Module()
        m.a = N.Buffer(T.ones(2))
        m.b = N.Buffer(T.zeros(3), persistent=False)
        m.w = N.Parameter(T.ones(1))
        m.a = T.full((2,), 5.0)              # assigning a Tensor to a buffer name replaces the buffer
        return m
    cm, tm = make(nn), make(tnn)
    assert [n for n, _ in cm.named_buffers()] == [n for n, _ in tm.named_buffers()] == ["a", "b"]
    assert list(cm.state_dict()) == list(tm.state_dict()) == ["w", "a"]
    np.testing.assert_array_equal(cm.a.numpy(), 5.0)
    assert not cm.a.requires_grad


def test_wrong_constructor_argument_names_the_public_class():
    """Layers whose constructor comes from a private base (Conv2d from _Conv, MSELoss from _Loss, ...)
    name themselves in a binding TypeError, as PyTorch's do; a TypeError raised inside a constructor passes
    through unchanged."""
    import inspect
    inherited = [c for c in vars(nn).values() if inspect.isclass(c) and issubclass(c, nn.Module)
                 and not c.__name__.startswith("_")
                 and any(b.__name__.startswith("_") and "__init__" in vars(b) for b in c.__mro__[1:]
                         if b is not nn.Module and issubclass(b, nn.Module))]
    assert {"Conv2d", "MSELoss", "BatchNorm2d", "Dropout"} <= {c.__name__ for c in inherited}
    for cls in inherited:
        with pytest.raises(TypeError, match=rf"^{cls.__name__}\.__init__\(\) got an unexpected keyword "
                                            rf"argument 'no_such_option'$"):
            cls(no_such_option=1)
    with pytest.raises(TypeError, match=r"^Conv2d\.__init__\(\) missing 2 required positional arguments"):
        nn.Conv2d(3)
    assert str(inspect.signature(nn.Conv2d)).startswith("(in_channels, out_channels, kernel_size, stride=1")
