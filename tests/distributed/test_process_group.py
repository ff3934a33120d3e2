"""The process group in one process (no MPI launch): world size 1, collectives are identities."""
import builtins

import numpy as np
import pytest

import chainrule as cr
import chainrule.distributed as dist
from chainrule.distributed import _mpi


def test_single_process_fallback():
    dist.init()
    assert dist.is_initialized() and dist.rank() == 0 and dist.world_size() == 1
    t = cr.tensor([1.0, 2.0])
    assert dist.all_reduce(t, op="mean") is t
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
    a = np.arange(3)
    dist.broadcast(a, src=0)
    np.testing.assert_array_equal(a, [0, 1, 2])
    dist.barrier()


def test_launch_detection():
    assert not _mpi.launched_by_mpi({})
    assert _mpi.launched_by_mpi({"PMI_RANK": "0"})               # MPICH / Intel MPI
    assert _mpi.launched_by_mpi({"OMPI_COMM_WORLD_SIZE": "4"})   # Open MPI
    assert _mpi.launched_by_mpi({"PMIX_RANK": "1"})              # srun --mpi=pmix


def test_missing_mpi4py_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_mpi4py(name, *args, **kwargs):
        if name.startswith("mpi4py"):
            raise ImportError("No module named 'mpi4py'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mpi4py)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[mpi\]"'):
        _mpi.import_mpi()


@pytest.mark.parametrize("kwargs, match", [
    (dict(timeout=0), "timeout must be a positive"),
    (dict(timeout="1"), "timeout must be a positive"),
    (dict(on_timeout="ignore"), "on_timeout must be 'abort' or 'warn'"),
])
def test_init_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dist.init(**kwargs)


def test_collective_argument_errors():
    with pytest.raises(ValueError, match="all_reduce: op must be one of"):
        dist.all_reduce(cr.ones(2), op="avg")
    with pytest.raises(TypeError, match="needs a floating tensor"):
        dist.all_reduce(np.arange(3), op="mean")
    with pytest.raises(TypeError, match="expected a chainrule Tensor or a NumPy array, got list"):
        dist.all_reduce([1.0, 2.0])
    with pytest.raises(ValueError, match="contiguous and writable"):
        dist.all_reduce(np.ones((3, 3))[:, 0])
    with pytest.raises(ValueError, match=r"broadcast: src must be a rank in 0..0"):
        dist.broadcast(cr.ones(2), src=1)


def test_checkpoint_save_and_load_in_one_process(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    assert dist.save({"w": cr.tensor([1.0, 2.0]), "epoch": 3}, path) is True
    state = dist.load(path)
    assert state["epoch"] == 3
    np.testing.assert_array_equal(state["w"].numpy(), [1.0, 2.0])


def test_pytorch_names():
    import datetime
    dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=30))
    assert dist.get_rank() == 0 and dist.get_world_size() == 1
    dist.destroy_process_group()
    with pytest.raises(ValueError, match="backend 'nccl' is not available in chainrule; use backend='mpi'"):
        dist.init_process_group("nccl")
    with pytest.raises(ValueError, match="world_size=4 but mpiexec started this process with world_size 1"):
        dist.init_process_group("mpi", world_size=4)
    dist.init(timeout=300)
