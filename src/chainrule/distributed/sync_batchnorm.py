"""SyncBatchNorm: BatchNorm whose batch statistics are those of the global batch (all ranks together).

With plain BatchNorm under DistributedDataParallel each rank normalises with its own shard's mean and
variance (what PyTorch does by default; fine for large per-rank batches). SyncBatchNorm makes two ranks
with batch B compute exactly what one process computes on the 2B samples.

Forward (per channel, A = every dim but dim 1): each rank sends (n_r, μ_r, M2_r = Σ(x - μ_r)²) - one
Allgather of 2C+1 numbers - and all combine them (Chan et al.'s parallel variance, stable unlike
E[x²] - E[x]²):

    n = Σ n_r,   μ = Σ n_r μ_r / n,   σ² = (Σ M2_r + Σ n_r (μ_r - μ)²) / n,   x̂ = (x - μ) / √(σ² + ε)

Backward: the textbook batch-norm gradient with the means taken over the global batch, which needs
Σ ĝ and Σ ĝ x̂ from every rank (one Allreduce of 2C numbers), ĝ = g w:

    dL/dx = (ĝ - Σ_all ĝ / n - x̂ Σ_all(ĝ x̂) / n) / √(σ² + ε),   dL/dw = Σ_local g x̂,   dL/db = Σ_local g

(dL/dw, dL/db stay local: DistributedDataParallel averages them with the other gradients.)
In eval mode, or in a world of one process, it is exactly BatchNorm.
"""
import numpy as np

from ..autograd.function import Function, once_differentiable
from ..autograd.grad_mode import no_grad
from ..nn.normalization import _BatchNorm
from ..tensor import _make
from . import process_group as pg

__all__ = ["SyncBatchNorm"]


class _SyncBatchNormFn(Function):
    """y = (x - μ_global) / √(σ²_global + ε) · w + b   (statistics over every rank's batch)"""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, eps, momentum, world):
        xd = x._data
        c = xd.shape[1]
        axes = (0,) + tuple(range(2, xd.ndim))
        bshape = (1, c) + (1,) * (xd.ndim - 2)
        n_local = xd.size // c if c else 0
        mean_l = xd.mean(axis=axes, dtype=np.float64) if n_local else np.zeros(c)
        m2_l = ((xd - mean_l.reshape(bshape)) ** 2).sum(axis=axes, dtype=np.float64) if n_local else np.zeros(c)
        mine = np.concatenate([[float(n_local)], mean_l, m2_l])
        every = world.allgather_bytes(mine.tobytes(), name="allgather (SyncBatchNorm statistics)")
        stats = np.stack([np.frombuffer(b, np.float64) for b in every])          # (R, 2C + 1)
        counts, means, m2s = stats[:, 0], stats[:, 1:c + 1], stats[:, c + 1:]
        n = counts.sum()
        if n <= 1:
            raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel over all {len(every)} "
                             f"ranks when training, got {int(n)} (input of shape {tuple(xd.shape)} on this "
                             f"rank). Fix: a larger batch, or eval mode")
        mean = (counts[:, None] * means).sum(0) / n
        var = (m2s.sum(0) + (counts[:, None] * (means - mean) ** 2).sum(0)) / n
        with no_grad():
            if running_mean is not None:
                running_mean._data *= 1 - momentum
                running_mean._data += (momentum * mean).astype(running_mean._data.dtype)
                running_mean._vc[0] += 1
            if running_var is not None:
                running_var._data *= 1 - momentum
                running_var._data += (momentum * var * n / (n - 1)).astype(running_var._data.dtype)
                running_var._vc[0] += 1
        rstd = (1.0 / np.sqrt(var + eps)).astype(xd.dtype).reshape(bshape)
        xhat = (xd - mean.astype(xd.dtype).reshape(bshape)) * rstd
        y = xhat * weight._data.reshape(bshape) if weight is not None else xhat.copy()
        if bias is not None:
            y += bias._data.reshape(bshape)
        ctx.xhat, ctx.rstd, ctx.n, ctx.axes, ctx.bshape, ctx.world = xhat, rstd, n, axes, bshape, world
        ctx.weight = None if weight is None else weight._data
        return _make(y)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        gd, xhat, axes, bshape = grad._data, ctx.xhat, ctx.axes, ctx.bshape
        c = bshape[1]
        gh = gd * ctx.weight.reshape(bshape) if ctx.weight is not None else gd
        sums = np.concatenate([gh.sum(axis=axes, dtype=np.float64), (gh * xhat).sum(axis=axes, dtype=np.float64)])
        ctx.world.allreduce(sums, "sum", name="allreduce (SyncBatchNorm gradient)")   # every rank, always
        mean_gh = (sums[:c] / ctx.n).astype(gd.dtype).reshape(bshape)
        mean_ghx = (sums[c:] / ctx.n).astype(gd.dtype).reshape(bshape)
        nx, nw, nb = ctx.needs_input_grad[:3]
        gx = _make((gh - mean_gh - xhat * mean_ghx) * ctx.rstd) if nx else None
        gw = _make((gd * xhat).sum(axis=axes)) if nw else None
        gb = _make(gd.sum(axis=axes)) if nb else None
        return gx, gw, gb, None, None, None, None, None


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over (N, C, *) inputs whose training statistics span every rank's batch."""
    _dims = (2, 3, 4, 5)
    _expected = "an (N, C) or (N, C, *) up to 5D"

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None, device=None, dtype=None):
        if process_group is not None:
            raise ValueError("SyncBatchNorm: process_group is not supported (chainrule syncs over "
                             "MPI.COMM_WORLD); leave it out")
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, x):
        world = pg._get()
        if not self.training or world.size == 1:
            return super().forward(x)
        self._check_input(x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats and self.num_batches_tracked is not None:
            nbt = self.num_batches_tracked
            nbt._data += 1
            nbt._vc[0] += 1
            factor = 1.0 / int(nbt._data) if self.momentum is None else self.momentum
        if self.weight is not None and x.dtype != self.weight.dtype:
            x = x.to(self.weight.dtype)
        return _SyncBatchNormFn.apply(x, self.weight, self.bias, self.running_mean, self.running_var,
                                      float(self.eps), float(factor), world)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm1d/2d/3d replaced by a SyncBatchNorm sharing its parameters and
        buffers (the same tensor objects, so an optimiser built before still updates them)."""
        if process_group is not None:
            raise ValueError("convert_sync_batchnorm: process_group is not supported; leave it out")
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats)
            for name in ("weight", "bias"):
                out.register_parameter(name, getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                out.register_buffer(name, getattr(module, name))
            out.train(module.training)
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child))
        return out
