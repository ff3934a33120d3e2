"""Where MPI comes from: ``mpi4py`` (optional extra ``chainrule[mpi]``), imported only when it is needed.

A process counts as MPI-launched when the launcher left its marks in the environment (``mpiexec`` of MPICH
/ Intel MPI / Open MPI / MVAPICH, ``srun --mpi=pmi2|pmix``). A plain ``python train.py`` is not, and then
chainrule never imports mpi4py: world size 1, every collective a no-op.
"""
import os

__all__ = ["launched_by_mpi", "import_mpi", "MPI_MISSING"]

# set by the launchers for every process they start (PMI: MPICH/Hydra, Intel MPI, srun --mpi=pmi2;
# PMIx: srun --mpi=pmix, Open MPI 5; OMPI_*: Open MPI; MV2_*: MVAPICH)
_LAUNCH_VARS = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")

MPI_MISSING = 'chainrule.distributed needs mpi4py and an MPI library: pip install "chainrule[mpi]"'


def launched_by_mpi(environ=None):
    """True when an MPI launcher (mpiexec, mpirun, srun) started this process."""
    env = os.environ if environ is None else environ
    return any(var in env for var in _LAUNCH_VARS)


def import_mpi():
    """``mpi4py.MPI``, or an ImportError whose one line names the extra to install."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError(MPI_MISSING) from exc
    return MPI
