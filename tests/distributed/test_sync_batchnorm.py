"""SyncBatchNorm's math in one process (a world of one rank): equals BatchNorm, gradients checked."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.distributed import SyncBatchNorm
from chainrule.distributed.process_group import _Single
from chainrule.distributed.sync_batchnorm import _SyncBatchNormFn

WORLD = _Single(1.0, "abort")


def sync_bn(x, w, b, rm=None, rv=None, momentum=0.1):
    return _SyncBatchNormFn.apply(x, w, b, rm, rv, 1e-5, momentum, WORLD)


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (2, 3, 4, 5)])
def test_matches_batch_norm_values_grads_and_running_stats(shape):
    rng = np.random.default_rng(0)
    xs = rng.standard_normal(shape) * 3 + 1
    ws, bs, g = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(shape)
    outs = []
    for fn in (sync_bn, lambda x, w, b, rm, rv: nn.functional.batch_norm(x, rm, rv, w, b, True, 0.1, 1e-5)):
        x, w, b = (cr.tensor(a, requires_grad=True) for a in (xs, ws, bs))
        rm, rv = cr.zeros(3, dtype=cr.float64), cr.ones(3, dtype=cr.float64)
        y = fn(x, w, b, rm, rv)
        (y * cr.tensor(g)).sum().backward()
        outs.append([y.detach().numpy(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy(), rm.numpy(), rv.numpy()])
    for got, want in zip(*outs):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_gradcheck():
    rng = np.random.default_rng(1)
    x, w, b = (cr.tensor(rng.standard_normal(s), requires_grad=True) for s in ((4, 3, 2), (3,), (3,)))
    assert cr.autograd.gradcheck(lambda x, w, b: sync_bn(x, w, b), (x, w, b))


def test_single_batch_value_is_rejected():
    with pytest.raises(ValueError, match="SyncBatchNorm: expected more than 1 value per channel"):
        sync_bn(cr.ones(1, 3, dtype=cr.float64), None, None)


def test_module_in_one_process_is_batchnorm():
    cr.manual_seed(0)
    x = cr.randn(8, 4, 5)
    a, b = SyncBatchNorm(4), nn.BatchNorm1d(4)
    np.testing.assert_allclose(a(x).detach().numpy(), b(x).detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(a.running_var.numpy(), b.running_var.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="process_group is not supported"):
        SyncBatchNorm(4, process_group=object())


def test_convert_sync_batchnorm_shares_parameters():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Sequential(nn.BatchNorm2d(2)))
    weight = model[1].weight
    conv = SyncBatchNorm.convert_sync_batchnorm(model)
    assert isinstance(conv[1], SyncBatchNorm) and isinstance(conv[2][0], SyncBatchNorm)
    assert conv[1].weight is weight and conv[1].running_mean is model[1].running_mean
    assert list(conv.state_dict()) == list(model.state_dict())
