"""lr_find: the sweep, its suggestions, and a bit-identical restore of model and optimiser."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.insight import lr_find
from chainrule.utils.data import DataLoader, TensorDataset


def _setup(seed=0):
    cr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = cr.tensor(rng.standard_normal((128, 8)).astype(np.float32))
    y = cr.tensor((rng.standard_normal(128) > 0).astype(np.int64))
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, generator=cr.Generator().manual_seed(1))
    return model, nn.CrossEntropyLoss(), loader, x, y


def _state(model, opt):
    arrays = [t._data.copy() for t in list(model.parameters()) + list(model.buffers())]
    grads = [None if p.grad is None else p.grad._data.copy() for p in model.parameters()]
    st = {id(p): {k: (v._data.copy() if hasattr(v, "_data") else v) for k, v in s.items()}
          for p, s in opt.state.items()}
    groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    return arrays, grads, st, groups, [m.training for m in model.modules()]


def _same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and \
            a.tobytes() == b.tobytes()
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def test_restores_model_and_optimiser_bit_identically():
    model, loss_fn, loader, x, y = _setup()
    opt = cr.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    for xb, yb in list(loader)[:3]:               # real state: moments, step counts, running stats, grads
        opt.zero_grad()
        loss_fn(model(xb), yb).backward()
        opt.step()
    model.eval()
    before = _state(model, opt)
    state_objects = {id(p): dict(s) for p, s in opt.state.items()}
    group_objects = [id(g) for g in opt.param_groups]
    rng_before = cr.get_rng_state()
    result = lr_find(model, loss_fn, loader, opt, start=1e-6, end=10, steps=40)
    assert len(result.lrs) > 5
    assert _same(before, _state(model, opt))
    assert not model.training                      # the eval flag is back too
    assert [id(g) for g in opt.param_groups] == group_objects          # restored in place
    assert all(opt.state[p][k] is state_objects[id(p)][k] for p in opt.state for k in opt.state[p])
    a = cr.rand(3).numpy()                         # the random stream continues as if no sweep had run
    cr.set_rng_state(rng_before)
    assert np.array_equal(a, cr.rand(3).numpy())


def test_restores_fresh_optimiser_without_state():
    model, loss_fn, loader, x, y = _setup()
    opt = cr.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    before = _state(model, opt)
    lr_find(model, loss_fn, loader, opt, steps=20)
    assert _same(before, _state(model, opt)) and len(opt.state) == 0


def test_sweep_is_exponential_stops_on_divergence_and_names_rules():
    model, loss_fn, loader, x, y = _setup()
    r = lr_find(model, loss_fn, loader, start=1e-5, end=1e4, steps=60)
    ratios = np.array(r.lrs[1:]) / np.array(r.lrs[:-1])
    np.testing.assert_allclose(ratios, (1e4 / 1e-5) ** (1 / 59), rtol=1e-9)
    assert r.stopped_early and len(r.lrs) < 60
    assert set(r.suggestions) <= {"steepest", "valley", "min/10"} and "min/10" in r.suggestions
    i_min = int(np.argmin(r.smoothed))
    assert r.suggestions["min/10"] == pytest.approx(r.lrs[i_min] / 10)
    text = str(r)
    assert "steepest descent" in text or "valley" in text


def test_plot(tmp_path):
    pytest.importorskip("matplotlib")
    model, loss_fn, loader, x, y = _setup()
    r = lr_find(model, loss_fn, loader, steps=20)
    r.plot(tmp_path / "lr.png")
    assert (tmp_path / "lr.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_arguments():
    model, loss_fn, loader, x, y = _setup()
    with pytest.raises(ValueError, match="0 < start < end"):
        lr_find(model, loss_fn, loader, start=1.0, end=0.1)
    with pytest.raises(ValueError, match="steps must be an int"):
        lr_find(model, loss_fn, loader, steps=2)
    with pytest.raises(ValueError, match="no batch"):
        lr_find(model, loss_fn, [], steps=10)
