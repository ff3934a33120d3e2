"""The ``explain`` and ``lr-find`` subcommands of ``chainrule`` (the main command calls ``register``).

    chainrule explain --example linear          # the seed article's regression, number by number
    chainrule explain --example two-layer --markdown
    chainrule lr-find --model lenet5 --out lr_find.png

Also runnable on their own: ``python -m chainrule.insight.commands explain --example xor``.
"""
import argparse
import os
import sys

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.utils.data import DataLoader, TensorDataset

from .graph import to_dot, to_mermaid
from .lr_find import compare, lr_find
from .sharpness import sharpness

__all__ = ["register", "main"]


def register(subparsers):
    """Add ``explain`` and ``lr-find`` to an argparse ``subparsers`` object."""
    fmt = argparse.ArgumentDefaultsHelpFormatter
    p = subparsers.add_parser("explain", formatter_class=fmt,
                              help="the chain rule by the numbers on a worked example",
                              description="Run a small worked example and print every forward value, every "
                                          "∂L/∂node with its local derivative and chain-rule product, a "
                                          "finite-difference check and the update w ← w − η ∂L/∂w.")
    p.add_argument("--example", choices=["linear", "two-layer", "xor"], default="linear",
                   help="linear: the seed's regression (x=1..10, y=2x, w1=1, w2=0); two-layer: ReLU→sigmoid "
                        "with MSE; xor: 2-2-1 tanh→sigmoid")
    p.add_argument("--lr", type=float, default=None, help="learning rate η for the update (default: the "
                                                          "example's own: 0.1, 0.1, 0.5)")
    p.add_argument("--markdown", action="store_true", help="print Markdown instead of plain text")
    p.add_argument("--graph", choices=["none", "mermaid", "dot"], default="none",
                   help="also print the example's graph")
    p.set_defaults(func=cmd_explain)

    q = subparsers.add_parser("lr-find", formatter_class=fmt,
                              help="learning-rate range test (Smith) next to the curvature bound 2/λ_max",
                              description="Sweep the learning rate exponentially, suggest one (rules named), "
                                          "restore the model exactly, and compare with the sharpness at init.")
    q.add_argument("--model", choices=["mlp", "lenet5"], default="mlp", help="784-200-10 ReLU MLP or LeNet-5")
    q.add_argument("--data", default=None, help="MNIST folder (default: $CHAINRULE_DATA, ../shared/data/mnist; "
                                                "generated blobs when none is found)")
    q.add_argument("--samples", type=int, default=4096, help="training images used for the sweep")
    q.add_argument("--batch-size", type=int, default=64, help="batch size")
    q.add_argument("--start", type=float, default=1e-7, help="first learning rate")
    q.add_argument("--end", type=float, default=10.0, help="last learning rate")
    q.add_argument("--steps", type=int, default=100, help="number of learning rates tried")
    q.add_argument("--momentum", type=float, default=0.9, help="SGD momentum β (also used in the 2(1+β)/λ bound)")
    q.add_argument("--out", default="lr_find.png", help="PNG of loss against learning rate ('' for none)")
    q.add_argument("--seed", type=int, default=0, help="random seed (init, shuffling)")
    q.set_defaults(func=cmd_lr_find)


def cmd_explain(args):
    from .worked import run_example              # the worked examples load only for explain
    ex = run_example(args.example, args.lr)
    print(ex._repr_markdown_() if args.markdown else ex)
    if args.graph != "none":
        draw = to_mermaid if args.graph == "mermaid" else to_dot
        print(draw(ex.loss, names=ex.names, values=True, grads=True))
    return 0


def _data(args):
    from chainrule.__main__ import _find_mnist   # the CLI's entry module (and datasets): only for lr-find
    root = _find_mnist(args.data)
    if args.data and root != args.data:          # an explicit folder must hold the files itself
        print(f"lr-find: no MNIST files in {args.data!r} (train-images-idx3-ubyte.gz ...)", file=sys.stderr)
        return None
    if root is not None:
        x, y = cr.datasets.MNIST(root, train=True).arrays()
        x, y = x[:args.samples], y[:args.samples]
        source = f"MNIST ({root}, {len(y)} images)"
    else:
        ds = cr.datasets.synthetic.blobs(n_samples=args.samples, n_features=784, centers=10, cluster_std=8.0,
                                         seed=args.seed)
        x = cr.tensor(np.asarray(ds.tensors[0]._data, np.float32).reshape(-1, 1, 28, 28) / 10)
        y = ds.tensors[1]
        source = f"generated blobs ({args.samples} samples; no MNIST found)"
    return x, y, source


def cmd_lr_find(args):
    for name in ("samples", "batch_size", "steps"):
        if getattr(args, name) < 1:
            print(f"lr-find: --{name.replace('_', '-')} must be ≥ 1", file=sys.stderr)
            return 2
    cr.manual_seed(args.seed)
    got = _data(args)
    if got is None:
        return 2
    x, y, source = got
    if args.model == "mlp":
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 200), nn.ReLU(), nn.Linear(200, 10))
    else:
        model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                              nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                              nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(x, y), batch_size=args.batch_size, shuffle=True,
                        generator=cr.Generator().manual_seed(args.seed))
    optimizer = cr.optim.SGD(model.parameters(), lr=args.start, momentum=args.momentum)
    print(f"lr-find: {args.model} on {source}")
    try:
        result = lr_find(model, loss_fn, loader, optimizer, start=args.start, end=args.end, steps=args.steps)
    except ValueError as e:
        print(f"lr-find: {e}", file=sys.stderr)
        return 2
    print(result)
    sharp = sharpness(model, loss_fn, (x[:256], y[:256]), iters=20, samples=4, momentum=args.momentum)
    print(sharp)
    print(compare(result, sharp))
    if args.out:
        try:
            result.plot(args.out)
            print(f"wrote {os.path.abspath(args.out)}")
        except ImportError as e:
            print(e, file=sys.stderr)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="chainrule")
    register(ap.add_subparsers(dest="command", required=True))
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
