"""The seed articles' MNIST recipes, written once against the PyTorch API and run by either library.

    python examples/mnist.py mlp                 # 784-200-10 ReLU MLP, SGD(lr=0.01, momentum=0.9), batch 64, 10 epochs
    python examples/mnist.py lenet               # LeNet-5, Adam(1e-3), batch 64, 3 epochs
    python examples/mnist.py mlp --lib torch     # the very same code on PyTorch (for comparison)

The training code below only uses names that exist in both libraries (``lib.nn.Linear``, ``lib.optim.SGD``,
``F.cross_entropy`` ...): with chainrule the listing runs after changing only the import. Initial weights and
the order of the training data come from one NumPy seed, so both libraries start from the same point and see
the same batches. MNIST is read from ``--data`` (default: $CHAINRULE_DATA, then ../shared/data/mnist).
"""
import argparse
import importlib
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data", "mnist"))

RECIPES = {
    "mlp": dict(epochs=10, batch=64, opt="SGD", opt_kwargs=dict(lr=0.01, momentum=0.9)),
    "lenet": dict(epochs=3, batch=64, opt="Adam", opt_kwargs=dict(lr=1e-3)),
}


def build_model(lib, name):
    nn = lib.nn
    if name == "mlp":
        class Net(nn.Module):                     # the seed article's network
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(784, 200)
                self.fc2 = nn.Linear(200, 10)
                self.relu = nn.ReLU()

            def forward(self, x):
                x = x.view(-1, 784)
                return self.fc2(self.relu(self.fc1(x)))
        return Net()

    class LeNet5(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
            self.classifier = nn.Sequential(
                nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                nn.Linear(84, 10))

        def forward(self, x):
            return self.classifier(self.features(x))
    return LeNet5()


def seeded_init(lib, model, seed):
    """PyTorch's default init scheme (U(-1/√fan_in, 1/√fan_in) for weights and biases), drawn by NumPy from
    ``seed`` in state-dict order, so every library starts from identical weights."""
    rng = np.random.default_rng(seed)
    state = {}
    last_fan_in = 1
    for name, p in model.state_dict().items():
        shape = tuple(p.shape)
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else last_fan_in
        last_fan_in = fan_in
        bound = 1 / np.sqrt(fan_in)
        state[name] = lib.tensor(rng.uniform(-bound, bound, shape).astype(np.float32))
    model.load_state_dict(state)


def load_mnist(data_dir):
    import chainrule as cr                       # the data loading is chainrule's, for both libraries
    train = cr.datasets.MNIST(data_dir, train=True)
    test = cr.datasets.MNIST(data_dir, train=False)
    (xtr, ytr), (xte, yte) = train.arrays(), test.arrays()
    return xtr.numpy(), ytr.numpy(), xte.numpy(), yte.numpy()


def run(lib_name, recipe, data_dir, seed=0, epochs=None, quiet=False):
    lib = importlib.import_module(lib_name)
    F = lib.nn.functional
    cfg = RECIPES[recipe]
    epochs = epochs or cfg["epochs"]
    xtr, ytr, xte, yte = load_mnist(data_dir)
    lib.manual_seed(seed)
    model = build_model(lib, recipe)
    seeded_init(lib, model, seed)
    optimizer = getattr(lib.optim, cfg["opt"])(model.parameters(), **cfg["opt_kwargs"])
    x_test, y_test = lib.tensor(xte), lib.tensor(yte)
    order_rng = np.random.default_rng(seed + 1)
    batch = cfg["batch"]
    epoch_times, history = [], []
    for epoch in range(1, epochs + 1):
        model.train()
        perm = order_rng.permutation(len(xtr))
        start = time.perf_counter()
        running, seen = 0.0, 0
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            inputs, targets = lib.tensor(xtr[idx]), lib.tensor(ytr[idx])
            optimizer.zero_grad()
            loss = F.cross_entropy(model(inputs), targets)
            loss.backward()
            optimizer.step()
            running += loss.item() * len(idx)
            seen += len(idx)
        epoch_times.append(time.perf_counter() - start)
        model.eval()
        with lib.no_grad():
            correct = sum(int((model(x_test[j:j + 1000]).argmax(1) == y_test[j:j + 1000]).sum().item())
                          for j in range(0, len(xte), 1000))
        acc = 100.0 * correct / len(xte)
        history.append(acc)
        if not quiet:
            print(f"[{lib_name}] epoch {epoch}/{epochs}  train loss {running / seen:.4f}  test accuracy {acc:.2f}%  "
                  f"({epoch_times[-1]:.1f}s)", flush=True)
    return {"lib": lib_name, "recipe": recipe, "accuracy": history[-1], "history": history,
            "epoch_times": epoch_times}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("recipe", choices=sorted(RECIPES))
    ap.add_argument("--lib", default="chainrule", choices=["chainrule", "torch"])
    ap.add_argument("--data", default=os.environ.get("CHAINRULE_DATA") or DEFAULT_DATA)
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON line with the results at the end")
    args = ap.parse_args(argv)
    res = run(args.lib, args.recipe, args.data, args.seed, args.epochs, quiet=False)
    print(f"[{args.lib}] {args.recipe}: final test accuracy {res['accuracy']:.2f}%, "
          f"mean epoch time {np.mean(res['epoch_times']):.2f}s")
    if args.json:
        print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
