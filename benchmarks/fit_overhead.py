"""What ``Trainer.fit`` costs over the hand-written loop: the MNIST MLP (784-200-10, ReLU, SGD momentum 0.9,
lr 0.1, batch 64, shuffled) on real MNIST, one epoch over the first 6,400 training images per measured step.

    loop   for x, y in loader: loss = CE(model(x), y); zero_grad; backward; step; running loss (+ accuracy)
    fit    Trainer(model, opt, CE, metrics=...).fit(loader, epochs=1): the default callbacks (the progress
           line per epoch; stdout is not a terminal here), the events, the running loss (+ accuracy)

Cases: ``mlp`` tracks the loss only, ``mlp_acc`` also the accuracy (in both). Data: $CHAINRULE_DATA, else
../shared/data/mnist next to the repository (the IDX .gz files). Uses the shared harness: each measurement in
a fresh process, interleaved; the ratio column is fit / loop (target <= 1.03).

    python benchmarks/fit_overhead.py --cpu --threads 1 2 --rounds 5
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import run  # noqa: E402

N = 6400
CASES = {"mlp": ("MNIST MLP epoch of 100 batches, loss only", 4),
         "mlp_acc": ("MNIST MLP epoch of 100 batches, loss + accuracy", 4)}


def _data_root():
    root = os.environ.get("CHAINRULE_DATA")
    if root:
        return root
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in (os.path.join(here, "..", "..", "shared", "data", "mnist"), "/work/shared/data/mnist"):
        if os.path.isdir(cand):
            return cand
    raise SystemExit("fit_overhead: MNIST not found; set CHAINRULE_DATA to the folder with the IDX .gz files")


def make_step(lib, case):
    import chainrule as cr
    from chainrule import nn
    from chainrule.utils.data import DataLoader, TensorDataset
    x, y = cr.datasets.MNIST(_data_root(), train=True).arrays()
    x = x[:N].reshape(N, 784)
    y = y[:N]
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 200), nn.ReLU(), nn.Linear(200, 10))
    opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
    with_acc = case == "mlp_acc"

    if lib == "loop":
        def step():
            model.train()
            total, seen, correct = 0.0, 0, 0
            for xb, yb in loader:
                out = model(xb)
                loss = loss_fn(out, yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                n = len(yb)
                total += loss.item() * n
                seen += n
                if with_acc:
                    correct += int((out.detach().numpy().argmax(1) == yb.numpy()).sum())
            print(f"epoch  loss {total / seen:.4g}" + (f"  accuracy {correct / seen:.4g}" if with_acc else ""))
        return step

    trainer = cr.train.Trainer(model, opt, loss_fn, metrics=["accuracy"] if with_acc else [])

    def step():
        trainer.fit(loader, epochs=1)
    return step


if __name__ == "__main__":
    run(__file__, CASES, make_step, libs=("loop", "fit"), baseline="loop",
        title="Trainer.fit overhead over a hand-written loop (MNIST MLP 784-200-10, batch 64)")
