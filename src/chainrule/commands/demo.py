"""chainrule demo: the seed articles' worked examples, computed by chainrule's autograd (no files needed).

1. The linear-regression example (y = 2x at x = 1..10, model w1 x + w2 from w1 = 1, w2 = 0, loss
   L = 1/2 sum (y - w1 x - w2)^2): the hand-derived gradients dL/dw1 = -sum (y - w1 x - w2) x and
   dL/dw2 = -sum (y - w1 x - w2) next to ``loss.backward()``'s, then gradient descent to w1 = 2, w2 = 0.
   (The article's step size 0.1 diverges on this data: the loss's curvature, up to 393, needs eta < 2/393.)
2. The two-layer network (2 -> 4 -> 1, ReLU, MSE, plain SGD lr 0.1) fitting y = sin(x0) + x1^2/2 on 256
   generated points, with nothing but Tensors and ``loss.backward()``.
"""
import chainrule as cr

from ._args import HelpFormatter, positive_float, positive_int

__all__ = ["register", "linear_regression", "two_layer_network"]


def linear_regression(steps=2000, lr=0.004):
    """Seed example 1; returns the final (w1, w2)."""
    x = cr.arange(1, 11, dtype=cr.float64)
    y = 2 * x
    w1 = cr.tensor(1.0, dtype=cr.float64, requires_grad=True)
    w2 = cr.tensor(0.0, dtype=cr.float64, requires_grad=True)
    print("1. linear regression y = 2x at x = 1..10; model w1*x + w2, w1 = 1, w2 = 0, L = 1/2 sum(y - w1 x - w2)^2")
    loss = 0.5 * ((y - w1 * x - w2) ** 2).sum()
    loss.backward()
    r = (y - w1 * x - w2).detach()
    print(f"   by hand: dL/dw1 = -sum(r x) = {-(r * x).sum().item():8.2f}   dL/dw2 = -sum(r) = {-r.sum().item():7.2f}")
    print(f"   autograd: w1.grad          = {w1.grad.item():8.2f}   w2.grad          = {w2.grad.item():7.2f}")
    for step in range(1, steps + 1):
        w1.grad = w2.grad = None
        loss = 0.5 * ((y - w1 * x - w2) ** 2).sum()
        loss.backward()
        with cr.no_grad():
            w1 -= lr * w1.grad
            w2 -= lr * w2.grad
        if step in (1, 2, 3, 10, 100, 500) or step == steps:
            print(f"   step {step:3d}  loss {loss.item():10.4f}  w1 {w1.item():.4f}  w2 {w2.item():+.4f}")
    print(f"   -> w1 = {w1.item():.4f}, w2 = {w2.item():+.4f} (the answer: 2, 0); step size {lr} "
          f"(the article's 0.1 diverges here: it must stay below 2/393)")
    return w1.item(), w2.item()


def two_layer_network(epochs=200, lr=0.1, seed=0):
    """Seed example 2; returns (first loss, last loss)."""
    cr.manual_seed(seed)
    x = cr.rand(256, 2) * 4 - 2                       # y = sin(x0) + x1^2 / 2 on [-2, 2]^2
    y = (x[:, 0].sin() + x[:, 1] ** 2 / 2).unsqueeze(1)

    def init(fan_in, fan_out):                        # He-uniform weights, zero biases
        bound = (6 / fan_in) ** 0.5
        return ((cr.rand(fan_in, fan_out) * 2 - 1) * bound).requires_grad_(), cr.zeros(fan_out, requires_grad=True)

    w1, b1 = init(2, 4)
    w2, b2 = init(4, 1)
    params = [w1, b1, w2, b2]
    print(f"2. a 2-4-1 network (ReLU, MSE, SGD lr={lr}) fitting y = sin(x0) + x1^2/2 on 256 generated points")
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
        if epoch == 1 or epoch % max(1, epochs // 5) == 0:
            print(f"   epoch {epoch:4d}  loss {loss.item():.4f}")
    print(f"   -> loss {first:.4f} -> {loss.item():.4f}")
    return first, loss.item()


def run(args):
    print(f"chainrule {cr.__version__}: the seed articles' worked examples\n")
    w1, w2 = linear_regression(steps=args.steps)
    print()
    first, last = two_layer_network(epochs=args.epochs, lr=args.lr, seed=args.seed)
    ok = abs(w1 - 2) < 0.05 and abs(w2) < 0.3 and last < first
    print(f"\ndone: {'both examples converged' if ok else 'an example did not converge (see above)'}")
    return 0 if ok else 1


def register(subparsers):
    p = subparsers.add_parser("demo", help="the seed articles' worked examples (no files needed)",
                              description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("--steps", type=positive_int, default=2000, help="gradient-descent steps of example 1")
    p.add_argument("--epochs", type=positive_int, default=200, help="training epochs of example 2")
    p.add_argument("--lr", type=positive_float, default=0.1, help="learning rate of example 2")
    p.add_argument("--seed", type=int, default=0, help="random seed of example 2")
    p.set_defaults(func=run)
