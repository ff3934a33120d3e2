"""chainrule.distributed: data-parallel training on MPI (``pip install "chainrule[mpi]"``).

    # train.py - run with: mpiexec -n 4 python train.py   (or plain `python train.py`: world size 1)
    import chainrule as cr
    import chainrule.distributed as dist

    dist.init()
    model = dist.DistributedDataParallel(model)
    sampler = dist.DistributedSampler(dataset)          # each rank its shard, reshuffled every epoch
    loader = cr.utils.data.DataLoader(dataset, batch_size=32, sampler=sampler)
    ...
    dist.save({"model": model.module.state_dict()}, "ckpt.safetensors")    # rank 0 writes

Pieces: ``process_group`` (init, rank, world_size, barrier, collectives with a stall deadline, abort on an
uncaught exception), ``ddp`` (gradient averaging over persistent buckets), ``sampler``, ``sync_batchnorm``,
``checkpoint``. Without an MPI launch nothing imports mpi4py.
"""
from ._mpi import launched_by_mpi
from .checkpoint import load, save
from .ddp import DistributedDataParallel
from .process_group import (DEFAULT_TIMEOUT, DistributedError, all_reduce, barrier, broadcast, comm_stats,
                            destroy_process_group, get_rank, get_world_size, init, init_process_group,
                            is_initialized, rank, reset_comm_stats, world_size)
from .sampler import DistributedSampler
from .sync_batchnorm import SyncBatchNorm

__all__ = ["init", "is_initialized", "rank", "world_size", "barrier", "all_reduce", "broadcast", "comm_stats",
           "reset_comm_stats", "launched_by_mpi", "DistributedDataParallel", "DistributedSampler", "SyncBatchNorm",
           "DistributedError", "DEFAULT_TIMEOUT", "save", "load",
           # PyTorch's names
           "init_process_group", "get_rank", "get_world_size", "destroy_process_group"]
