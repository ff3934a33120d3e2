"""Run under ``mpiexec -n 2``: ``python mpi_worker.py SCENARIO OUT_DIR``. Writes OUT_DIR/rank<r>.npz/.json.

Scenarios: ``train`` (every run of mpi_scenarios.RUNS, a checkpoint for a resume in one process, the
mismatch and drift checks), ``raise`` (rank 1 raises between two collectives), ``stall`` (rank 1 sleeps
before a collective, the others have a 1 s timeout).
"""
import json
import os
import sys
import time

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
from chainrule import nn

import mpi_scenarios as sc


def train_scenario(out):
    dist.init(timeout=60)
    r = dist.rank()
    arrays, notes = {}, {"rank": r, "world_size": dist.world_size()}
    for name, kwargs in sc.RUNS.items():
        for k, v in sc.train(**kwargs).items():
            arrays[f"{name}/{k}"] = v
    # checkpoint after one epoch (10 steps) on 2 ranks; the test resumes it in one process
    ckpt = os.path.join(out, "ckpt.safetensors")
    sc.train("sgd", steps=10, save_to=ckpt)
    notes["wrote_checkpoint"] = r == 0 and os.path.exists(ckpt)
    notes["files_after_save"] = sorted(os.listdir(out))
    # bytes per gradient average: every trainable element + one "got a gradient" slot per parameter
    model, ddp, _ = sc.build("sgd")
    notes["gradient_bytes"] = ddp.gradient_bytes()
    notes["n_params"] = len(list(model.parameters()))
    notes["n_elements"] = sum(p.numel() for p in model.parameters())
    # a model that differs on rank 1 is caught at wrap time, on every rank
    cr.manual_seed(0)
    try:
        dist.DistributedDataParallel(sc.Net(hidden=17 if r == 1 else 16))
        notes["mismatch"] = None
    except dist.DistributedError as exc:
        notes["mismatch"] = str(exc)
    # replicas that drift apart are caught by the checksum
    model, ddp, _ = sc.build("sgd")
    notes["check_before_drift"] = _check(ddp)
    if r == 1:
        with cr.no_grad():
            model.fc2.bias.add_(1e-3)
    notes["check_after_drift"] = _check(ddp)
    # check_every=N runs the checksum from forward by itself
    model, ddp, _ = sc.build("sgd")
    ddp.check_every = 2
    ddp(cr.zeros(4, sc.N_FEATURES, dtype=cr.float64))
    if r == 1:
        with cr.no_grad():
            model.fc1.weight.mul_(2)
    try:
        ddp(cr.zeros(4, sc.N_FEATURES, dtype=cr.float64))
        notes["check_every"] = None
    except dist.DistributedError as exc:
        notes["check_every"] = str(exc)
    np.savez(os.path.join(out, f"rank{r}.npz"), **arrays)
    with open(os.path.join(out, f"rank{r}.json"), "w") as f:
        json.dump(notes, f)


def _check(ddp):
    try:
        ddp.check_replicas()
        return None
    except dist.DistributedError as exc:
        return str(exc)


def trainer_scenario(out):
    dist.init(timeout=60)
    r = dist.rank()
    arrays, notes = {}, {}
    for accumulate in (1, 2):
        weights, history, grads = sc.fit_with_trainer(os.path.join(out, f"log{accumulate}"), True, accumulate)
        for k, v in weights.items():
            arrays[f"acc{accumulate}/{k}"] = v
        arrays[f"acc{accumulate}/first_grad"] = grads[0]
        notes[f"acc{accumulate}/history"] = history
    # one epoch on 2 ranks, checkpointed by rank 0; the test resumes it in one process
    sc.fit_with_trainer(os.path.join(out, "log_resume"), True, epochs=1, save_to=os.path.join(out, "trainer.ckpt"))
    notes["trainer_ckpt_by_rank"] = os.path.exists(os.path.join(out, "trainer.ckpt"))
    np.savez(os.path.join(out, f"rank{r}.npz"), **arrays)
    with open(os.path.join(out, f"rank{r}.json"), "w") as f:
        json.dump(notes, f)


def raise_scenario(out):
    dist.init(timeout=120)
    t = cr.ones(3)
    dist.all_reduce(t)
    if dist.rank() == 1:
        raise RuntimeError("deliberate failure on rank 1")
    dist.all_reduce(t)                           # rank 0 would wait here forever without the abort
    print("rank 0 passed the second all_reduce: the abort did not happen", flush=True)


def stall_scenario(out):
    dist.init(timeout=1.0)
    model = dist.DistributedDataParallel(nn.Linear(3, 2))
    if dist.rank() == 1:
        time.sleep(120)                          # far longer than the test's subprocess timeout
    model(cr.ones(4, 3)).sum().backward()


if __name__ == "__main__":
    scenario, out_dir = sys.argv[1], sys.argv[2]
    {"train": train_scenario, "trainer": trainer_scenario, "raise": raise_scenario, "stall": stall_scenario}[scenario](out_dir)
