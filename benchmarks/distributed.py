"""Data-parallel training on MPI: samples/s on 1 and 2 ranks, bytes per step, time in Allreduce vs compute.

    python benchmarks/distributed.py                       # MNIST MLP and LeNet-5, 1 and 2 ranks, 5 rounds
    python benchmarks/distributed.py --cases mlp --rounds 3 --data /work/shared/data/mnist

Each measurement is a fresh ``mpiexec -n R python benchmarks/distributed.py --worker CASE`` (rounds
interleave the cases and rank counts, as the shared harness does for libraries; the median over rounds is
reported). Every rank is pinned to one thread (OMP/OPENBLAS/MKL_NUM_THREADS=1) and trains on its shard of
real MNIST (the first 12,800 training images) with a per-rank batch of 64 (weak scaling: the global batch
is 64 x R), SGD with momentum, through DistributedDataParallel + DistributedSampler.

Per run the worker reports (rank 0; times are the slowest rank's):
  samples/s      global samples per second over the timed steps
  step ms        wall time per optimiser step
  allreduce ms   time per step inside DistributedDataParallel's gradient average (copy into the bucket,
                 Allreduce, scale) - includes waiting for the slower rank
  compute ms     step ms - allreduce ms (forward, backward, optimiser, loading)
  bytes/step     the gradient bucket(s) one Allreduce carries (per rank)
  pure us        one Allreduce of that buffer right after a barrier (no load imbalance): the transport alone
  cpu ms         CPU time per step of rank 0 (steadier than wall time on a shared machine)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CASES = {"mlp": "MNIST MLP 784-200-10 (ReLU), batch 64 per rank", "lenet5": "LeNet-5, batch 64 per rank"}
BATCH, N_IMAGES = 64, 12800
STEPS = {"mlp": 150, "lenet5": 30}
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _model(case, nn):
    if case == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 200), nn.ReLU(), nn.Linear(200, 10))
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def worker(case, root):
    import numpy as np

    import chainrule as cr
    import chainrule.distributed as dist
    from chainrule import nn
    from chainrule.utils.data import DataLoader, TensorDataset

    dist.init(timeout=120)
    x, y = cr.datasets.MNIST(root, train=True).arrays()
    data = TensorDataset(x[:N_IMAGES], y[:N_IMAGES])
    cr.manual_seed(0)
    model = _model(case, nn)
    ddp = dist.DistributedDataParallel(model)
    opt = cr.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    loader = DataLoader(data, batch_size=BATCH, sampler=dist.DistributedSampler(data, seed=0), drop_last=True)

    def batches():
        while True:
            yield from loader

    it = batches()

    def step():
        xb, yb = next(it)
        criterion(ddp(xb), yb).backward()
        opt.step()
        opt.zero_grad()

    for _ in range(5):                                     # warm-up
        step()
    dist.barrier()
    ddp.stats.update(seconds=0.0, reductions=0, bytes=0)
    steps = STEPS[case]
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    comm = ddp.stats["seconds"]
    # the transport alone: the gradient buffer's Allreduce right after a barrier, best of 20
    buf = np.zeros(ddp.gradient_bytes() // 4, np.float32)
    pure = float("inf")
    for _ in range(20):
        dist.barrier()
        t = time.perf_counter()
        dist.all_reduce(buf)
        pure = min(pure, time.perf_counter() - t)
    slowest = np.array([wall, comm, pure], np.float64)
    dist.all_reduce(slowest, op="max")
    wall, comm, pure = slowest
    if dist.rank() == 0:
        R = dist.world_size()
        print(json.dumps({"samples_s": steps * BATCH * R / wall, "step_ms": 1e3 * wall / steps,
                          "allreduce_ms": 1e3 * comm / steps if R > 1 else 0.0,
                          "bytes": ddp.gradient_bytes() if R > 1 else 0,
                          "pure_us": 1e6 * pure if R > 1 else 0.0, "cpu_ms": 1e3 * cpu / steps}))


def _launch(case, ranks, root):
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if not os.access(mpiexec, os.X_OK):
        mpiexec = "mpiexec"
    env = dict(os.environ, **{v: "1" for v in _THREAD_VARS})
    out = subprocess.run([mpiexec, "-n", str(ranks), sys.executable, os.path.abspath(__file__), "--worker", case,
                          "--data", root], env=env, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"{case} on {ranks} rank(s) failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="*", default=list(CASES))
    ap.add_argument("--ranks", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--data", default=os.environ.get("CHAINRULE_DATA", "/work/shared/data/mnist"))
    ap.add_argument("--worker", metavar="CASE")
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.data)
        return
    runs = {(c, r): [] for c in args.cases for r in args.ranks}
    for _ in range(args.rounds):
        for c in args.cases:
            for r in args.ranks:
                runs[(c, r)].append(_launch(c, r, args.data))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f}; "
          f"median over {args.rounds} interleaved rounds; 1 thread per rank, batch {BATCH} per rank")
    print(f"{'case':8}{'ranks':>6}{'samples/s':>11}{'speedup':>9}{'step ms':>9}{'allreduce ms':>14}"
          f"{'compute ms':>12}{'bytes/step':>12}{'pure us':>9}{'cpu ms':>8}")
    for c in args.cases:
        base = None
        for r in args.ranks:
            med = {k: statistics.median(x[k] for x in runs[(c, r)]) for k in runs[(c, r)][0]}
            base = base or med["samples_s"]
            print(f"{c:8}{r:>6}{med['samples_s']:>11.0f}{med['samples_s'] / base:>9.2f}{med['step_ms']:>9.2f}"
                  f"{med['allreduce_ms']:>14.3f}{med['step_ms'] - med['allreduce_ms']:>12.2f}"
                  f"{int(med['bytes']):>12,}{med['pure_us']:>9.0f}{med['cpu_ms']:>8.2f}   ({CASES[c]})")


if __name__ == "__main__":
    main()
