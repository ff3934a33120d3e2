"""Memory: saved tensors are released by backward, training loops stay flat, graphs have no reference cycles."""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import chainrule as cr


@pytest.fixture
def no_gc():
    """Run with the cycle collector off: whatever is freed is freed by reference counting alone."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_backward_releases_saved_tensors():
    x = cr.tensor(np.arange(4.0), requires_grad=True)
    h = x.exp()                      # an intermediate, saved by the mul below
    y = h * h
    node = y.grad_fn
    alive = weakref.ref(h)
    del h
    assert alive() is not None, "mul must keep its saved input until backward"
    assert node._saved is not None
    y.sum().backward()
    assert node._saved is None
    assert alive() is None, "the saved intermediate survived backward()"


def test_backward_releases_saved_outputs_and_their_arrays():
    x = cr.tensor(np.linspace(0, 1, 1000), requires_grad=True)
    y = x.exp()                      # saves its output (as an array)
    node = y.grad_fn
    out_arr = y.detach().numpy()
    y = y.sum()
    assert node._out is out_arr
    y.backward()
    assert node._out is None


def test_retain_graph_keeps_saved_tensors_until_the_last_backward():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    alive = weakref.ref(h)
    loss = (h * h).sum()
    del h
    loss.backward(retain_graph=True)
    assert alive() is not None
    loss.backward()
    assert alive() is None


def test_grad_releases_saved_tensors():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x.sin()
    alive = weakref.ref(h)
    loss = (h * h).sum()
    del h
    cr.autograd.grad(loss, x)
    assert alive() is None


def _graph_zoo(x, w):
    """A loss touching many op families (views, indexing, reductions, matmul, a user Function)."""
    class Square(cr.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return t * t

        @staticmethod
        def backward(ctx, g):
            (t,) = ctx.saved_tensors
            return 2 * g * t

    h = (x @ w).tanh()
    h = cr.cat([h, h.exp()], dim=1).reshape(-1)[1:7].view(2, 3)
    h = h.T.sum(dim=0) + Square.apply(h).mean() + h.max()
    return (h.sigmoid() * 2).sum()


def test_graph_nodes_are_freed_by_refcount_alone(no_gc):
    x = cr.randn(2, 3, requires_grad=True)
    w = cr.randn(3, 2, requires_grad=True)
    loss = _graph_zoo(x, w)
    root = weakref.ref(loss.grad_fn)
    deep = weakref.ref(loss.grad_fn.next_functions[0][0])
    del loss
    assert root() is None and deep() is None, "the graph is kept alive by a reference cycle"


def test_graph_nodes_are_freed_after_backward_by_refcount_alone(no_gc):
    x = cr.randn(2, 3, requires_grad=True)
    w = cr.randn(3, 2, requires_grad=True)
    loss = _graph_zoo(x, w)
    root = weakref.ref(loss.grad_fn)
    loss.backward()
    del loss
    assert root() is None


def test_no_cyclic_garbage_from_a_training_step(no_gc):
    # everything allocated by forward + backward + update must be reclaimable without the cycle collector
    x = cr.randn(8, 3)
    w = cr.randn(3, 4, requires_grad=True)
    v = cr.randn(4, 1, requires_grad=True)
    for _ in range(3):
        h = (x @ w).tanh()
        h.retain_grad()
        h.register_hook(lambda g: g * 1.0)
        loss = ((h @ v) ** 2).mean()
        loss.backward()
        with cr.no_grad():
            w -= 0.1 * w.grad
            v -= 0.1 * v.grad
        w.grad = None
        v.grad = None
    del h, loss
    assert gc.collect() == 0, "forward/backward left cyclic garbage"


def _mlp_params(rng):
    return [cr.tensor(rng.standard_normal((4, 16)) * 0.5, dtype=cr.float32, requires_grad=True),
            cr.zeros(16, requires_grad=True),
            cr.tensor(rng.standard_normal((16, 1)) * 0.5, dtype=cr.float32, requires_grad=True),
            cr.zeros(1, requires_grad=True)]


def test_training_loop_memory_is_flat():
    rng = np.random.default_rng(0)
    X = cr.tensor(rng.standard_normal((32, 4)), dtype=cr.float32)
    Y = cr.tensor(rng.standard_normal((32, 1)), dtype=cr.float32)
    w1, b1, w2, b2 = params = _mlp_params(rng)
    losses = []
    tracemalloc.start()
    try:
        for step in range(2000):
            h = (X @ w1 + b1).tanh()
            loss = ((h @ w2 + b2 - Y) ** 2).mean()
            for p in params:
                p.grad = None
            loss.backward()
            with cr.no_grad():
                for p in params:
                    p -= 0.05 * p.grad
            if step % 100 == 0:
                losses.append(loss.item())
            if step == 500:
                at_500 = tracemalloc.get_traced_memory()[0]
        at_end = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    growth = at_end - at_500
    assert growth < 64 * 1024, f"memory grew by {growth} bytes between step 500 and 2000"
    assert losses[-1] < losses[0]          # and it did train


def test_no_grad_evaluation_records_nothing():
    w = cr.randn(4, 4, requires_grad=True)
    x = cr.randn(2, 4)
    with cr.no_grad():
        y = (x @ w).tanh()
    assert y.grad_fn is None
    alive = weakref.ref(x)
    del x
    assert alive() is None                 # not held by any node
