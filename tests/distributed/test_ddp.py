"""DistributedDataParallel in one process, and the engine's end-of-backward callback it relies on."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd.engine import queue_callback
from chainrule.distributed import DistributedDataParallel


def test_one_process_wrapper_is_transparent():
    cr.manual_seed(0)
    model = nn.Linear(3, 2)
    ddp = DistributedDataParallel(model)
    x = cr.randn(4, 3)
    np.testing.assert_array_equal(ddp(x).detach().numpy(), model(x).detach().numpy())
    assert list(ddp.state_dict()) == ["module.weight", "module.bias"]      # PyTorch's key layout
    ddp(x).sum().backward()
    np.testing.assert_allclose(model.bias.grad.numpy(), [4.0, 4.0])
    with ddp.no_sync():
        assert ddp.require_backward_grad_sync is False
    assert ddp.require_backward_grad_sync is True
    assert ddp.gradient_bytes() == 4 * (6 + 2 + 2)          # elements + one flag slot per parameter


@pytest.mark.parametrize("kwargs, match", [
    (dict(dim=1), "dim=1 is not supported"),
    (dict(process_group=object()), "process_group=.* is not supported"),
    (dict(bucket_cap_mb=0), "bucket_cap_mb must be a positive number"),
    (dict(check_every=-1), "check_every must be an int >= 0"),
])
def test_unsupported_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DistributedDataParallel(nn.Linear(2, 2), **kwargs)
    with pytest.raises(TypeError, match="expected a chainrule nn.Module, got function"):
        DistributedDataParallel(lambda x: x)


def test_gpu_device_ids_get_the_one_device_error():
    with pytest.raises(RuntimeError, match="'cuda:0' is not available for this DistributedDataParallel"):
        DistributedDataParallel(nn.Linear(2, 2), device_ids=[0])
    DistributedDataParallel(nn.Linear(2, 2), device_ids=["cpu"], output_device="cpu")     # the CPU is fine


def test_queue_callback_runs_once_after_every_grad_is_accumulated():
    a, b = cr.ones(2, requires_grad=True), cr.ones(3, requires_grad=True)
    seen = []

    def done():
        seen.append((a.grad is not None, b.grad is not None))

    for p in (a, b):
        p.register_hook(lambda g: queue_callback(done))
    (a.sum() + b.sum()).backward()
    assert seen == [(True, True)]                # once, with both gradients in place
    cr.autograd.grad(a.sum() + b.sum(), (a, b))  # grad() writes no .grad: the queued callback is dropped
    (a.sum() * 2).backward()
    assert seen == [(True, True), (True, True)]


def test_trainer_distributed_rejects_a_sampler_it_cannot_split():
    from chainrule.distributed.process_group import _Single
    from chainrule.distributed.training import TrainerSync
    from chainrule.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

    class Stub:                                   # what TrainerSync reads from a Trainer
        model, seed, is_global_zero = nn.Linear(2, 2), 0, True

    sync = TrainerSync(Stub())
    sync.size, sync.rank, sync.world = 2, 0, _Single(1.0, "abort")        # pretend to be rank 0 of 2
    data = TensorDataset(cr.randn(10, 2), cr.randint(0, 2, (10,)))
    weighted = DataLoader(data, batch_size=4, sampler=WeightedRandomSampler([1.0] * 10, 10))
    with pytest.raises(TypeError, match="sampler \\(WeightedRandomSampler\\) cannot be split between the ranks"):
        sync.shard(weighted, True)
    shards = sync.shard(DataLoader(data, batch_size=4, shuffle=True), True)
    assert len(shards.sampler) == 5 and shards.batch_size == 4
    assert sync.shard(DataLoader(data, batch_size=4), False).sampler._index_array().tolist() == [0, 2, 4, 6, 8]


def test_torch_nn_names():
    from chainrule.distributed import SyncBatchNorm
    assert nn.parallel.DistributedDataParallel is DistributedDataParallel
    assert nn.SyncBatchNorm is SyncBatchNorm
    DistributedDataParallel(nn.Linear(2, 2), gradient_as_bucket_view=True, static_graph=True)
    with pytest.raises(TypeError, match="static_graph must be True or False, got 'yes'"):
        DistributedDataParallel(nn.Linear(2, 2), static_graph="yes")
