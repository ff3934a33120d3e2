"""``python -m chainrule``: the main job - train a network with backpropagation and report the result.

    python -m chainrule                       # MNIST MLP (784-200-10, SGD momentum 0.9) when MNIST is found,
                                              # else the built-in demo on generated data
    python -m chainrule mnist --epochs 3      # the seed article's MNIST MLP
    python -m chainrule demo                  # the 2-4-1 network on generated data (no files needed)

MNIST is looked up in --data, then $CHAINRULE_DATA, then ../shared/data/mnist, then ~/.cache/chainrule.
"""
import argparse
import os
import sys
import time


def _find_mnist(explicit):
    candidates = [explicit, os.environ.get("CHAINRULE_DATA"),
                  os.path.join(os.getcwd(), "..", "shared", "data", "mnist"),
                  os.path.join(os.path.expanduser("~"), ".cache", "chainrule")]
    for root in candidates:
        if root and any(os.path.exists(os.path.join(root, sub, "train-images-idx3-ubyte.gz"))
                        for sub in ("", os.path.join("MNIST", "raw"))):
            return root
    return None


def train_mnist(root, epochs=3, batch_size=64, lr=0.01, seed=0):
    """The seed article's recipe: 784-200-10 ReLU MLP, CrossEntropyLoss, SGD(lr, momentum=0.9)."""
    import chainrule as cr
    from chainrule import nn
    from chainrule.utils.data import DataLoader, TensorDataset

    cr.manual_seed(seed)
    train, test = cr.datasets.MNIST(root, train=True), cr.datasets.MNIST(root, train=False)
    (x_train, y_train), (x_test, y_test) = train.arrays(), test.arrays()
    loader = DataLoader(TensorDataset(x_train.flatten(1), y_train), batch_size=batch_size, shuffle=True,
                        generator=cr.Generator().manual_seed(seed))
    model = nn.Sequential(nn.Linear(784, 200), nn.ReLU(), nn.Linear(200, 10))
    criterion = nn.CrossEntropyLoss()
    optimizer = cr.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    print(f"chainrule {cr.__version__}: MNIST MLP 784-200-10, SGD(lr={lr}, momentum=0.9), batch {batch_size}, "
          f"{epochs} epoch(s), {len(x_train)} training images")
    acc = 0.0
    for epoch in range(1, epochs + 1):
        model.train()
        start, running = time.perf_counter(), 0.0
        for i, (inputs, targets) in enumerate(loader, 1):
            optimizer.zero_grad()
            loss = criterion(model(inputs), targets)
            loss.backward()
            optimizer.step()
            running += loss.item()
            if i % 200 == 0:
                print(f"  epoch {epoch} [{i * batch_size:5d}/{len(x_train)}]  loss {running / 200:.4f}", flush=True)
                running = 0.0
        model.eval()
        with cr.no_grad():
            pred = model(x_test.flatten(1)).argmax(1)
        acc = 100.0 * (pred == y_test).float().mean().item()
        print(f"epoch {epoch}: test accuracy {acc:.2f}%  ({time.perf_counter() - start:.1f}s)", flush=True)
    print(f"done: test accuracy {acc:.2f}% after {epochs} epoch(s)")
    return acc


def demo(epochs=200, lr=0.1, seed=0):
    """The seed articles' two-layer network (2 -> 4 -> 1, ReLU, MSE, plain SGD) on generated data, with
    nothing but Tensors and ``loss.backward()``."""
    import chainrule as cr

    cr.manual_seed(seed)
    x = cr.rand(256, 2) * 4 - 2                       # y = sin(x0) + x1²/2 on [-2, 2]²
    y = (x[:, 0].sin() + x[:, 1] ** 2 / 2).unsqueeze(1)

    def init(fan_in, fan_out):                        # He-uniform weights, zero biases
        bound = (6 / fan_in) ** 0.5
        return ((cr.rand(fan_in, fan_out) * 2 - 1) * bound).requires_grad_(), cr.zeros(fan_out, requires_grad=True)

    w1, b1 = init(2, 4)
    w2, b2 = init(4, 1)
    params = [w1, b1, w2, b2]
    print(f"chainrule {cr.__version__}: training a 2-4-1 network (ReLU, MSE, SGD lr={lr}) on 256 generated points")
    first = None
    for epoch in range(1, epochs + 1):
        pred = (x @ w1 + b1).relu() @ w2 + b2
        loss = ((pred - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()                               # the chain rule, from the loss back to every weight
        with cr.no_grad():
            for p in params:
                p -= lr * p.grad                      # gradient descent
        first = loss.item() if first is None else first
        if epoch == 1 or epoch % max(1, epochs // 10) == 0:
            print(f"epoch {epoch:4d}  loss {loss.item():.4f}")
    print(f"done: loss {first:.4f} -> {loss.item():.4f}")
    return loss.item() < first


def main(argv=None):
    ap = argparse.ArgumentParser(prog="chainrule", description="Train a network with chainrule.")
    sub = ap.add_subparsers(dest="cmd")
    m = sub.add_parser("mnist", help="the seed article's MNIST MLP")
    m.add_argument("--epochs", type=int, default=3)
    m.add_argument("--lr", type=float, default=0.01)
    m.add_argument("--data")
    d = sub.add_parser("demo", help="a 2-4-1 network on generated data")
    d.add_argument("--epochs", type=int, default=200)
    args = ap.parse_args(argv)
    if args.cmd == "demo":
        return 0 if demo(args.epochs) else 1
    root = _find_mnist(getattr(args, "data", None))
    if root is None:
        if args.cmd == "mnist":
            print("MNIST not found: put the four *-ubyte.gz files in $CHAINRULE_DATA (or pass --data DIR)",
                  file=sys.stderr)
            return 2
        print("(MNIST not found in $CHAINRULE_DATA or ../shared/data/mnist: running the generated-data demo)")
        return 0 if demo() else 1
    train_mnist(root, epochs=getattr(args, "epochs", 3), lr=getattr(args, "lr", 0.01))
    return 0


if __name__ == "__main__":
    sys.exit(main())
