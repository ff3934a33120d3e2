"""Why initialisation and activations matter, seen by the gradient monitor (Glorot & Bengio 2010).

Two pairs of networks, each trained for the same few hundred SGD steps on MNIST (a generated stand-in when
MNIST is not found), every network watched by ``chainrule.insight.GradientMonitor``:

1. a 5-hidden-layer tanh MLP (784-256×5-10) with the naive N(0, 0.01²) init, versus Xavier init: with
   the naive init each layer scales its input by ~0.01·√256 = 0.16, so the gradient reaching the first layer
   is ~0.16⁵ ≈ 1e-4 of the last layer's - vanishing; Xavier keeps the scale ~1 per layer;
2. a deep (10 hidden layers) sigmoid MLP with the default init, versus ReLU with He init: sigmoid's
   derivative is at most 1/4, so the gradient shrinks every layer; ReLU + He keeps its variance.

Expected: the monitor raises a vanishing-gradient alarm for the first network of each pair and none for the
second. The PNGs (gradient flow per layer, histograms over time) show why; the script exits with status 1
if the monitor's verdicts differ from that.

    python examples/gradient_flow_study.py                 # writes examples/out/*.png
    python examples/gradient_flow_study.py --quick         # smaller and shorter (what the test runs)
"""
import argparse
import os
import sys

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.insight import GradientMonitor

HERE = os.path.dirname(os.path.abspath(__file__))


def load_data(root, n, seed):
    """(x (n, 784) float32, y (n,) int64, description)."""
    for d in [root, os.environ.get("CHAINRULE_DATA"), os.path.join(HERE, "..", "..", "shared", "data", "mnist")]:
        if d and os.path.exists(os.path.join(d, "train-images-idx3-ubyte.gz")):
            x, y = cr.datasets.MNIST(d, train=True).arrays()
            return x[:n].flatten(1), y[:n], f"MNIST ({n} training images)"
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((10, 784)).astype(np.float32)
    y = rng.integers(0, 10, n)
    x = centers[y] + rng.standard_normal((n, 784)).astype(np.float32)
    return cr.tensor(x), cr.tensor(y), f"generated clusters ({n} samples; MNIST not found)"


def mlp(act, depth, width, init):
    layers, d = [], 784
    for _ in range(depth):
        lin = nn.Linear(d, width)
        init(lin)
        layers += [lin, act()]
        d = width
    out = nn.Linear(d, 10)
    init(out)
    return nn.Sequential(*layers, out)


def naive(lin):
    nn.init.normal_(lin.weight, 0.0, 0.01)
    nn.init.zeros_(lin.bias)


def xavier(lin):
    nn.init.xavier_uniform_(lin.weight)          # Glorot & Bengio's "normalized initialization"
    nn.init.zeros_(lin.bias)


def default(lin):
    pass                                         # chainrule's (and PyTorch's) Linear default


def he(lin):
    nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
    nn.init.zeros_(lin.bias)


def train(model, x, y, steps, batch, lr, every, seed):
    rng = np.random.default_rng(seed)
    monitor = GradientMonitor(model, every=every, verbose=False)
    opt = cr.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    n = x.shape[0]
    for _ in range(steps):
        idx = cr.tensor(rng.integers(0, n, batch))
        opt.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        monitor.step(loss)
        opt.step()
    monitor.final_loss = loss.item()
    return monitor


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--data", default=None, help="MNIST folder")
    ap.add_argument("--out", default=os.path.join(HERE, "out"), help="folder for the PNGs ('' for none)")
    ap.add_argument("--steps", type=int, default=200, help="SGD steps per network")
    ap.add_argument("--quick", action="store_true", help="narrower nets, 40 steps, 1000 samples")
    ap.add_argument("--seed", type=int, default=0, help="random seed")
    args = ap.parse_args(argv)
    width, steps, n = (64, 40, 1000) if args.quick else (256, args.steps, 10000)
    x, y, source = load_data(args.data, n, args.seed)
    print(f"data: {source}")
    pairs = [("tanh, naive N(0, 0.01²) init", lambda: mlp(nn.Tanh, 5, width, naive), True),
             ("tanh, Xavier init", lambda: mlp(nn.Tanh, 5, width, xavier), False),
             ("sigmoid ×10, default init", lambda: mlp(nn.Sigmoid, 10, width, default), True),
             ("ReLU ×10, He init", lambda: mlp(nn.ReLU, 10, width, he), False)]
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    ok = True
    rows = []
    for k, (name, build, expect_flag) in enumerate(pairs):
        cr.manual_seed(args.seed)
        monitor = train(build(), x, y, steps, 64, 0.1, 5, args.seed)
        flagged = any(a.kind == "vanishing" for a in monitor.alarms)
        ok &= flagged == expect_flag
        rows.append((name, flagged, expect_flag, monitor.final_loss))
        print(f"\n=== {name} ===")
        print(monitor.summary())
        if args.out:
            stem = os.path.join(args.out, f"study_{k + 1}_" + name.split(",")[0].split(" ")[0].lower()
                                + ("_bad" if expect_flag else "_good"))
            try:
                monitor.plot_gradient_flow(stem + "_flow.png", title=name)
                monitor.plot_histograms(stem + "_hist.png", title=f"{name}: gradient and activation histograms")
                print(f"wrote {stem}_flow.png, {stem}_hist.png")
            except ImportError as e:
                print(e)
    print("\nnetwork                         vanishing alarm   expected   loss after training")
    for name, flagged, expect, loss in rows:
        print(f"{name:32}{'yes' if flagged else 'no':>16}{'yes' if expect else 'no':>11}{loss:>20.3f}")
    print("verdicts as expected" if ok else "UNEXPECTED verdicts")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
