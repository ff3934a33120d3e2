"""The seed article's MNIST MLP trained data-parallel on MPI ranks (the loop written out, PyTorch style).

    mpiexec -n 2 python -m mpi4py examples/mnist_ddp.py          # 2 processes, batch 64 each (global 128)
    python examples/mnist_ddp.py                                 # the same script in one process
    mpiexec -n 2 python -m mpi4py examples/mnist_ddp.py --check  # + compare the replicas every 100 steps

With the Trainer the same is ``Trainer(model, optimizer, loss, distributed=True)``; with the command line,
``mpiexec -n 2 chainrule train``. MNIST is read from --data (default $CHAINRULE_DATA, then ../shared/data/mnist).
"""
import argparse
import os
import time

import chainrule as cr
import chainrule.distributed as dist
from chainrule import nn
from chainrule.utils.data import DataLoader, TensorDataset

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("CHAINRULE_DATA", os.path.join(HERE, "..", "..", "shared",
                                                                                     "data", "mnist")))
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64, help="per rank")
    ap.add_argument("--check", action="store_true", help="verify the replicas agree every 100 steps")
    args = ap.parse_args()

    dist.init()
    lead = dist.rank() == 0
    cr.manual_seed(0)
    x, y = cr.datasets.MNIST(args.data, train=True).arrays()
    xt, yt = cr.datasets.MNIST(args.data, train=False).arrays()
    data = TensorDataset(x.flatten(1), y)
    sampler = dist.DistributedSampler(data, seed=0)          # each rank its shard, a new order every epoch
    loader = DataLoader(data, batch_size=args.batch_size, sampler=sampler)
    model = nn.Sequential(nn.Linear(784, 200), nn.ReLU(), nn.Linear(200, 10))
    ddp = dist.DistributedDataParallel(model, check_every=100 if args.check else 0)
    # linear scaling: the global batch is world_size x batch_size, so is the learning rate
    optimizer = cr.optim.SGD(model.parameters(), lr=0.01 * dist.world_size(), momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    if lead:
        print(f"{dist.world_size()} rank(s) x batch {args.batch_size}: {len(loader)} steps per epoch")
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        for inputs, targets in loader:
            loss = criterion(ddp(inputs), targets)
            optimizer.zero_grad()
            loss.backward()                                  # ends with the gradients averaged over the ranks
            optimizer.step()
        if lead:                                             # the replicas are identical: rank 0 tests
            with cr.no_grad():
                accuracy = (model(xt.flatten(1)).argmax(1) == yt).float().mean().item()
            print(f"epoch {epoch}: test accuracy {100 * accuracy:.2f} %, {time.perf_counter() - t0:.1f} s")
    dist.save({"model": model.state_dict()}, "mnist_ddp.safetensors")    # rank 0 writes, atomically


if __name__ == "__main__":
    main()
