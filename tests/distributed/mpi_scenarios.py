"""Training runs shared by the MPI worker (``mpiexec -n 2 python mpi_worker.py ...``) and the tests, which
run the same function in one process (world size 1) as the reference.

The data set has 640 samples: 10 steps of a global batch of 64 per epoch, so 20 steps cross an epoch
boundary (and the sampler's automatic reshuffle). Every rank takes global_batch / world_size samples.
"""
import numpy as np

import chainrule as cr
import chainrule.distributed as dist
from chainrule import nn
from chainrule.utils.data import DataLoader, TensorDataset

N_SAMPLES, N_FEATURES, N_CLASSES, GLOBAL_BATCH = 640, 6, 3, 64


def dataset(n=N_SAMPLES):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, N_FEATURES))
    y = rng.integers(0, N_CLASSES, n)
    return TensorDataset(cr.tensor(x), cr.tensor(y))


class Net(nn.Module):
    """6 -> 16 (-> SyncBatchNorm) -> tanh -> 3, plus a layer forward never uses (its grad stays None)."""

    def __init__(self, batchnorm=False, hidden=16):
        super().__init__()
        self.fc1 = nn.Linear(N_FEATURES, hidden)
        self.bn = dist.SyncBatchNorm(hidden) if batchnorm else None
        self.fc2 = nn.Linear(hidden, N_CLASSES)
        self.unused = nn.Linear(2, 2)

    def forward(self, x):
        h = self.fc1(x)
        if self.bn is not None:
            h = self.bn(h)
        return self.fc2(h.tanh())


def build(optimizer, batchnorm=False, hidden=16):
    cr.manual_seed(0)
    model = Net(batchnorm, hidden).double()
    ddp = dist.DistributedDataParallel(model)
    if optimizer == "sgd":
        opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    else:
        opt = cr.optim.Adam(model.parameters(), lr=0.01)
    return model, ddp, opt


def train(optimizer="sgd", accumulate=False, batchnorm=False, steps=20, save_to=None, resume_from=None,
          n_samples=N_SAMPLES):
    """Train for ``steps`` optimiser steps; the final parameters and buffers as {name: array}.
    ``accumulate``: each rank's batch as two halves, the first under ``no_sync()``.
    ``save_to``: write a checkpoint (rank 0) after the steps; ``resume_from``: start from one."""
    model, ddp, opt = build(optimizer, batchnorm)
    data = dataset(n_samples)
    sampler = dist.DistributedSampler(data, seed=1)
    if resume_from is not None:
        state = dist.load(resume_from)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optim"])
        sampler.load_state_dict(state["sampler"])
    batch = GLOBAL_BATCH // dist.world_size()
    loader = DataLoader(data, batch_size=batch, sampler=sampler)
    criterion = nn.CrossEntropyLoss()
    done = 0
    while done < steps:
        for x, y in loader:
            if accumulate:
                half = len(x) // 2
                with ddp.no_sync():
                    (criterion(ddp(x[:half]), y[:half]) / 2).backward()
                (criterion(ddp(x[half:]), y[half:]) / 2).backward()
            else:
                criterion(ddp(x), y).backward()
            opt.step()
            opt.zero_grad()
            done += 1
            if done == steps:
                break
    if save_to is not None:
        dist.save({"model": model.state_dict(), "optim": opt.state_dict(), "sampler": sampler.state_dict()},
                  save_to)
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


RUNS = {  # name -> keyword arguments of train()
    "sgd": dict(optimizer="sgd"),
    "adam": dict(optimizer="adam"),
    "sgd_accumulate": dict(optimizer="sgd", accumulate=True),
    "adam_accumulate": dict(optimizer="adam", accumulate=True),
    "sgd_syncbn": dict(optimizer="sgd", batchnorm=True),
    # 100 samples: batches of 64 then 36 in one process, 32 then 18 on each of 2 ranks (no rank waits)
    "adam_short_last_batch": dict(optimizer="adam", n_samples=100, steps=6),
}


class GradientProbe:
    """A callback that keeps the gradient each optimiser step is about to use (what a gradient alarm sees)."""

    def __init__(self):
        self.grads = []

    def on_before_optimizer_step(self, trainer, optimizer):
        self.grads.append(trainer.model.fc1.weight.grad.numpy().copy())


def fit_with_trainer(log_dir, distributed, accumulate=1, epochs=2, resume=None, save_to=None):
    """Trainer on (x, y) arrays, 2 epochs, accuracy, validation. Distributed: batch 64 / world size per rank
    from (x, y) arrays; the one-process reference gets batch 64 in the DistributedSampler order."""
    from chainrule.train import Callback, Trainer
    from chainrule.utils.data import DataLoader

    class Probe(GradientProbe, Callback):
        pass

    data = dataset()
    x, y = data.tensors
    cr.manual_seed(0)
    model = Net().double()
    opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    probe = Probe()
    trainer = Trainer(model, opt, nn.CrossEntropyLoss(), metrics=["accuracy"], callbacks=[probe], seed=5,
                      log_dir=log_dir, verbose=1, distributed=distributed, accumulate=accumulate)
    val = (x[:100], y[:100])
    if distributed:
        history = trainer.fit((x, y), val=val, epochs=epochs, resume=resume,
                              batch_size=GLOBAL_BATCH // dist.world_size() // accumulate)
    else:
        loader = DataLoader(data, batch_size=GLOBAL_BATCH // accumulate, sampler=dist.DistributedSampler(
            data, num_replicas=1, rank=0, seed=5))
        history = trainer.fit(loader, val=val, epochs=epochs, resume=resume)
    if save_to is not None:
        trainer.save_checkpoint(save_to)
    weights = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    return weights, history.history, probe.grads
