"""Containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict, Identity, Flatten, Unflatten -
behaviour (indexing, slicing, mutation, naming) checked against the same operations on PyTorch's."""
from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from oracle import needs_torch, torch

if torch is not None:
    import torch.nn as tnn


def _names(m):
    return list(m._modules.keys())


def _same_structure(cm, tm):
    assert repr(cm) == repr(tm)
    assert _names(cm) == _names(tm)
    assert [n for n, _ in cm.named_parameters()] == [n for n, _ in tm.named_parameters()]


# ------------------------------------------------------------------ Sequential
def test_sequential_forward_composes():
    a, b = nn.Linear(3, 4), nn.Tanh()
    x = cr.randn(5, 3)
    np.testing.assert_array_equal(nn.Sequential(a, b)(x).detach().numpy(), b(a(x)).detach().numpy())
    assert nn.Sequential()(x) is x


def test_sequential_indexing_and_slicing():
    mods = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1), nn.Sigmoid()]
    s = nn.Sequential(*mods)
    assert len(s) == 4 and list(s) == mods
    assert s[0] is mods[0] and s[-1] is mods[3] and s[-4] is mods[0]
    sub = s[1:3]
    assert isinstance(sub, nn.Sequential) and list(sub) == mods[1:3]
    assert _names(sub) == ["1", "2"]                    # slicing keeps the names, as PyTorch
    assert list(s[::-1]) == mods[::-1]
    with pytest.raises(IndexError, match="out of range"):
        s[4]
    with pytest.raises(IndexError):
        s[-5]
    with pytest.raises(TypeError, match="integers or slices"):
        s["0"]


def test_sequential_ordered_dict_names():
    s = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert _names(s) == ["fc", "act"]
    assert s.fc is s[0] and list(s.state_dict()) == ["fc.weight", "fc.bias"]


@needs_torch
@pytest.mark.parametrize("edit", ["append", "insert0", "insert_neg", "insert_end", "extend", "del0", "del_slice",
                                  "del_then_append", "setitem", "pop", "add", "iadd", "mul"])
def test_sequential_mutations_match_torch(edit):
    def make(N):
        return N.Sequential(N.Linear(1, 2), N.ReLU(), N.Linear(2, 3))

    def do(N, s):
        if edit == "append":
            return s.append(N.Tanh())
        if edit == "insert0":
            return s.insert(0, N.Tanh())
        if edit == "insert_neg":
            return s.insert(-1, N.Tanh())
        if edit == "insert_end":
            return s.insert(len(s), N.Tanh())
        if edit == "extend":
            return s.extend([N.Tanh(), N.Sigmoid()])
        if edit == "del0":
            del s[0]
        elif edit == "del_slice":
            del s[0:2]
        elif edit == "del_then_append":        # renumbering after delete: append must not overwrite
            del s[0]
            s.append(N.Tanh())
        elif edit == "setitem":
            s[1] = N.Sigmoid()
        elif edit == "pop":
            assert type(s.pop(1)).__name__ == "ReLU"
        elif edit == "add":
            return s + N.Sequential(N.Tanh())
        elif edit == "iadd":
            s += N.Sequential(N.Tanh())
        elif edit == "mul":
            return s * 2
        return s

    _same_structure(do(nn, make(nn)), do(tnn, make(tnn)))


def test_sequential_insert_errors():
    s = nn.Sequential(nn.ReLU())
    with pytest.raises(IndexError, match="out of range"):
        s.insert(3, nn.ReLU())
    with pytest.raises(TypeError, match="Module"):
        s.insert(0, lambda x: x)
    with pytest.raises(ValueError, match="Sequential"):
        s + [nn.ReLU()]


def test_sequential_mul_repeats_the_same_modules():
    lin = nn.Linear(2, 2)
    s = nn.Sequential(lin) * 3
    assert len(s) == 3 and all(m is lin for m in s)
    assert len(list(s.parameters())) == 2
    with pytest.raises(ValueError):
        nn.Sequential(lin) * 0


# ------------------------------------------------------------------ ModuleList
def test_module_list_registers_and_indexes():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and layers[-1] is layers[2]
    assert [n for n, _ in layers.named_parameters()][:2] == ["0.weight", "0.bias"]
    assert isinstance(layers[1:], nn.ModuleList) and len(layers[1:]) == 2
    layers.append(nn.ReLU()).extend([nn.Tanh()])
    assert len(layers) == 5
    layers += [nn.Sigmoid()]
    assert isinstance(layers[5], nn.Sigmoid)
    with pytest.raises(IndexError):
        layers[6]
    with pytest.raises(NotImplementedError, match="iterate"):
        layers(cr.ones(2))

    class Stack(nn.Module):               # the reason for ModuleList: a plain list would hide the params
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(2)])
            self.hidden = [nn.Linear(4, 4)]

    assert len(list(Stack().parameters())) == 4


@needs_torch
@pytest.mark.parametrize("edit", ["insert", "del", "del_slice", "setitem", "pop", "add", "none"])
def test_module_list_mutations_and_repr_match_torch(edit):
    def make(N):
        return N.ModuleList([N.Linear(2, 2), N.Linear(2, 2), N.Linear(2, 2), N.ReLU(), N.ReLU(), N.Linear(2, 1)])

    def do(N, ml):
        if edit == "insert":
            ml.insert(1, N.Tanh())
        elif edit == "del":
            del ml[1]
        elif edit == "del_slice":
            del ml[1:4]
        elif edit == "setitem":
            ml[0] = N.Tanh()
        elif edit == "pop":
            ml.pop(2)
        elif edit == "add":
            ml = ml + N.ModuleList([N.Sigmoid()])
        return ml

    _same_structure(do(nn, make(nn)), do(tnn, make(tnn)))
    assert repr(nn.ModuleList()) == repr(tnn.ModuleList())


# ------------------------------------------------------------------ ModuleDict
@needs_torch
def test_module_dict_matches_torch():
    def make(N):
        d = N.ModuleDict({"enc": N.Linear(3, 2), "act": N.ReLU()})
        d["dec"] = N.Linear(2, 3)
        d.update([("out", N.Sigmoid())])
        return d

    cd, td = make(nn), make(tnn)
    _same_structure(cd, td)
    assert list(cd.keys()) == list(td.keys()) and len(cd) == len(td) == 4
    assert "enc" in cd and "nope" not in cd
    assert list(iter(cd)) == list(iter(td))
    assert [type(v).__name__ for v in cd.values()] == [type(v).__name__ for v in td.values()]
    cd.pop("act")
    td.pop("act")
    del cd["out"]
    del td["out"]
    _same_structure(cd, td)
    cd.clear()
    assert len(cd) == 0 and list(cd.parameters()) == []
    with pytest.raises(KeyError):
        cd["enc"]


# ------------------------------------------------------------------ ParameterList / ParameterDict
@needs_torch
def test_parameter_list_and_dict_names_and_repr():
    pl = nn.ParameterList([nn.Parameter(cr.ones(2)), cr.zeros(3, 4)])      # a Tensor becomes a Parameter
    assert isinstance(pl[1], nn.Parameter) and pl[1].requires_grad
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"] and len(pl) == 2
    pl.append(cr.ones(1))
    assert len(list(pl.parameters())) == 3 and list(pl)[2] is pl[-1]
    assert isinstance(pl[:2], nn.ParameterList) and len(pl[:2]) == 2
    tpl = tnn.ParameterList([tnn.Parameter(torch.ones(2, dtype=torch.float32)),
                             torch.zeros(3, 4, dtype=torch.float32), torch.ones(1, dtype=torch.float32)])
    assert repr(pl) == repr(tpl).replace("torch.", "chainrule.")
    one = nn.ParameterList([cr.ones(2)])
    assert repr(one) == repr(tnn.ParameterList([torch.ones(2, dtype=torch.float32)])).replace("torch.", "chainrule.")

    pd = nn.ParameterDict({"a": cr.ones(2, 3), "b": nn.Parameter(cr.zeros(2, dtype=cr.float64))})
    tpd = tnn.ParameterDict({"a": torch.ones(2, 3, dtype=torch.float32), "b": torch.zeros(2)})
    assert repr(pd) == repr(tpd).replace("torch.", "chainrule.")
    assert list(pd.keys()) == ["a", "b"] and "a" in pd and len(pd) == 2
    assert pd.get("zz") is None
    pd.update({"c": cr.ones(1)})
    assert [n for n, _ in pd.named_parameters()] == ["a", "b", "c"]

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.ps = nn.ParameterList([cr.ones(2)])
            self.pd = nn.ParameterDict({"w": cr.ones(1)})

    assert list(M().state_dict()) == ["ps.0", "pd.w"]


# ------------------------------------------------------------------ Identity, Flatten, Unflatten
def test_identity_returns_input_and_ignores_arguments():
    x = cr.randn(3, requires_grad=True)
    m = nn.Identity(54, unused="argument")
    assert m(x) is x and list(m.parameters()) == []


@needs_torch
@pytest.mark.parametrize("shape,args", [((2, 3, 4, 5), ()), ((2, 3, 4, 5), (0, 2)), ((2, 3, 4, 5), (2, -1)),
                                        ((6,), (0,)), ((2, 3, 4), (-2, -1))])
def test_flatten_matches_torch_with_grad(shape, args):
    a = np.random.default_rng(0).standard_normal(shape)
    xc, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    yc, yt = nn.Flatten(*args)(xc), tnn.Flatten(*args)(xt)
    assert tuple(yc.shape) == tuple(yt.shape)
    np.testing.assert_array_equal(yc.detach().numpy(), yt.detach().numpy())
    g = np.random.default_rng(1).standard_normal(tuple(yt.shape))
    yc.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(xc.grad.numpy(), xt.grad.numpy())
    assert repr(nn.Flatten(*args)) == repr(tnn.Flatten(*args))


@needs_torch
@pytest.mark.parametrize("shape,dim,size", [((2, 12), 1, (3, 4)), ((2, 12), -1, [2, -1, 3]), ((6, 5), 0, (2, 3))])
def test_unflatten_matches_torch_with_grad(shape, dim, size):
    a = np.random.default_rng(0).standard_normal(shape)
    xc, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    yc, yt = nn.Unflatten(dim, size)(xc), tnn.Unflatten(dim, size)(xt)
    assert tuple(yc.shape) == tuple(yt.shape)
    np.testing.assert_array_equal(yc.detach().numpy(), yt.detach().numpy())
    (yc * 2).sum().backward()
    (yt * 2).sum().backward()
    np.testing.assert_array_equal(xc.grad.numpy(), xt.grad.numpy())
    assert repr(nn.Unflatten(dim, size)) == repr(tnn.Unflatten(dim, size))


def test_flatten_unflatten_round_trip_in_a_model():
    m = nn.Sequential(nn.Flatten(), nn.Linear(12, 12), nn.Unflatten(1, (3, 4)))
    assert tuple(m(cr.randn(5, 3, 4)).shape) == (5, 3, 4)
