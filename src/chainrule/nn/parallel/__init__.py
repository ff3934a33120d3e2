"""``torch.nn.parallel``: ``DataParallel`` and ``DistributedDataParallel`` on chainrule's single CPU device.

Both wrap a module the way PyTorch does (the wrapped module is ``.module``; ``state_dict`` keys gain the
``module.`` prefix, so checkpoints match PyTorch's), and forward calls straight through:

* ``DataParallel``: PyTorch splits the batch across GPUs; with one device it just runs the module.
* ``DistributedDataParallel``: averages gradients across the processes of ``chainrule.distributed``. In one
  process (world size 1) the average of one gradient is that gradient, so training is exactly the
  module's own. With more processes it refuses (rather than silently not syncing) - see the class.
"""
from ..module import Module

__all__ = ["DataParallel", "DistributedDataParallel"]


def _check_devices(name, device_ids, output_device):
    from ...device import check_device
    for d in list(device_ids or []) + ([output_device] if output_device is not None else []):
        check_device(d if not isinstance(d, int) else f"cuda:{d}", name)


class DataParallel(Module):
    """Runs ``module`` on the one device chainrule has (PyTorch's batch split across GPUs has nothing to split
    across here)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        _check_devices("DataParallel", device_ids, output_device)
        self.module = module
        self.device_ids = []
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def _world_size():
    """The size of chainrule.distributed's process group, 1 when it is absent or not initialised."""
    try:
        from ... import distributed
    except ImportError:
        return 1
    is_init = getattr(distributed, "is_initialized", None)
    if is_init is None or not is_init():
        return 1
    return distributed.get_world_size()


class DistributedDataParallel(Module):
    """Data-parallel training: each process holds a replica, gradients are averaged after backward.

    At world size 1 (a single process, with or without ``init_process_group``) the average is the gradient
    itself and the wrapper only forwards. A multi-process group needs the all-reduce of
    ``chainrule.distributed``; until it provides its own DistributedDataParallel, this one raises for world
    size > 1 instead of training replicas that silently drift apart."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False, **kwargs):
        super().__init__()
        _check_devices("DistributedDataParallel", device_ids, output_device)
        world = _world_size()
        if world != 1:
            raise NotImplementedError(
                f"nn.parallel.DistributedDataParallel: world size {world} needs gradient all-reduce; use "
                f"chainrule.distributed's DistributedDataParallel for multi-process training")
        self.module = module
        self.device_ids = []
        self.dim = dim
        self.find_unused_parameters = find_unused_parameters

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)

    def no_sync(self):
        """Skip gradient synchronisation for the block (nothing to skip in one process)."""
        import contextlib
        return contextlib.nullcontext()
