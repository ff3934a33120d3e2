"""``python -m chainrule``: a small built-in demo of backpropagation.

Trains the seed articles' two-layer network (2 -> 4 -> 1, ReLU, MSE, plain SGD) on generated data with
nothing but chainrule Tensors and ``loss.backward()``, printing the loss as it goes down.
"""
import argparse
import sys
import time


def main(argv=None):
    import chainrule as cr

    parser = argparse.ArgumentParser(prog="chainrule", description=__doc__.split("\n\n")[1])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    cr.manual_seed(args.seed)
    # data: y = sin(x0) + x1² / 2 on 256 points of [-2, 2]², a smooth target a 2-4-1 net can fit
    x = cr.rand(256, 2) * 4 - 2
    y = (x[:, 0].sin() + x[:, 1] ** 2 / 2).unsqueeze(1)

    def init(fan_in, fan_out):      # He-uniform weights, small biases (as nn.Linear does)
        bound = (6 / fan_in) ** 0.5
        return ((cr.rand(fan_in, fan_out) * 2 - 1) * bound).requires_grad_(), cr.zeros(fan_out, requires_grad=True)

    w1, b1 = init(2, 4)
    w2, b2 = init(4, 1)
    params = [w1, b1, w2, b2]
    print(f"chainrule {cr.__version__}: training a 2-4-1 network (ReLU, MSE, SGD lr={args.lr}) on 256 points")
    start = time.perf_counter()
    first = None
    for epoch in range(1, args.epochs + 1):
        hidden = (x @ w1 + b1).relu()
        pred = hidden @ w2 + b2
        loss = ((pred - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()                      # the chain rule, from the loss back to every weight
        with cr.no_grad():
            for p in params:
                p -= args.lr * p.grad        # gradient descent
        first = loss.item() if first is None else first
        if epoch == 1 or epoch % max(1, args.epochs // 10) == 0:
            print(f"epoch {epoch:4d}  loss {loss.item():.4f}")
    print(f"done in {time.perf_counter() - start:.2f}s: loss {first:.4f} -> {loss.item():.4f}")
    return 0 if loss.item() < first else 1


if __name__ == "__main__":
    sys.exit(main())
