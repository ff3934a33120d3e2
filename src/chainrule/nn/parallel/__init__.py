"""``torch.nn.parallel``: ``DataParallel`` and ``DistributedDataParallel`` on chainrule's single CPU device.

Both wrap a module the way PyTorch does (the wrapped module is ``.module``; ``state_dict`` keys gain the
``module.`` prefix, so checkpoints match PyTorch's), and forward calls straight through:

* ``DataParallel``: PyTorch splits the batch across GPUs; with one device it just runs the module.
* ``DistributedDataParallel``: ``chainrule.distributed.DistributedDataParallel`` - averages gradients across
  the MPI processes (in one process, world size 1, training is exactly the module's own).
"""
from ...device import check_device
from ..module import Module

__all__ = ["DataParallel", "DistributedDataParallel"]


def _check_devices(name, device_ids, output_device):
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


def __getattr__(name):
    # chainrule.distributed's DistributedDataParallel (imported on first use: it imports nn itself)
    if name == "DistributedDataParallel":
        from ...distributed.ddp import DistributedDataParallel
        return DistributedDataParallel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
