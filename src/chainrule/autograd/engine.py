"""The backward pass: walk the graph from the output back to the leaves, applying the chain rule.

1. Topologically sort the nodes reachable from the roots (iteratively: a 100 000-op chain is fine).
2. Visit them output-first. A node's gradient is complete when it is visited, because every node that
   consumes its output comes earlier in the order. Call its backward rule, and add each input gradient
   into the buffer of the node (or leaf) that produced that input. (The gradient of a slice stays a
   ``Placed`` - "this value at this index of zeros" - until summed, so the slices of one tensor share
   one buffer: an RNN written with ``x.unbind(0)`` does not allocate a full-size zeros array per step.)
3. Leaves: run their hooks, then accumulate into ``.grad`` (or hand the gradient back, for ``grad()``).

With ``create_graph=True`` the rules run with recording on, so the gradients are themselves
differentiable; otherwise they run under ``no_grad`` and saved tensors are freed as each node finishes.
"""
import os

import numpy as np

from . import function as _fn
from .function import _GONE, Function
from .grad_mode import STATE

__all__ = ["backward", "grad", "queue_callback"]

# callbacks to run once when the current backward() has accumulated every leaf's .grad (DistributedDataParallel
# averages the gradients there: leaf hooks run before accumulation, so they are too early)
_end_callbacks = []


def queue_callback(fn):
    """Run ``fn()`` once at the end of the current ``backward()``, after every ``.grad`` is accumulated (as
    PyTorch's ``Variable._execution_engine.queue_callback``). Queueing the same callable twice runs it once.
    Meant to be called from a tensor hook during backward; ``autograd.grad()`` (no ``.grad`` written) drops
    the queue instead of running it."""
    if fn not in _end_callbacks:
        _end_callbacks.append(fn)


def _run_end_callbacks():
    if not _end_callbacks:
        return
    callbacks = list(_end_callbacks)
    _end_callbacks.clear()
    for fn in callbacks:
        fn()

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class Placed:
    """A first-order gradient that is zero except at a basic index: ``zeros(shape)`` with ``value`` added at
    ``key`` - the backward of slicing (``x[key]``, chunk, split, unbind). Kept unmaterialised so that the
    gradients of several pieces of one tensor (the gates of an LSTM's projection, the q/k/v of attention's)
    sum into ONE zeros buffer when the engine adds them, instead of a full-size zeros array per piece and a
    full-size addition per pair (PyTorch gets the same from its multi-output SplitBackward). The engine
    materialises it (``array()``) before a rule, a hook or a ``.grad`` sees it."""
    __slots__ = ("shape", "parts")
    __array_ufunc__ = None          # ndarray + Placed -> Placed.__radd__, not an object array

    def __init__(self, shape, key, value):
        self.shape, self.parts = shape, [(key, value)]

    def __add__(self, other):
        if type(other) is Placed:
            out = Placed.__new__(Placed)
            out.shape, out.parts = self.shape, self.parts + other.parts
            return out
        out = np.array(other, dtype=np.result_type(other, *[v for _, v in self.parts]))   # (a copy)
        for key, value in self.parts:
            out[key] += value
        return out

    __radd__ = __add__

    def array(self):
        parts = self.parts
        out = np.zeros(self.shape, np.result_type(*[v for _, v in parts]))
        out[parts[0][0]] = parts[0][1]
        for key, value in parts[1:]:
            out[key] += value               # (basic keys may overlap: x[0] and x[:, 0])
        return out


def _topo_order(roots):
    """Nodes reachable from ``roots``, each after every node that consumes its output (roots first)."""
    order, visited = [], set()
    for root in roots:
        if root in visited:
            continue
        visited.add(root)
        stack = [(root, iter(root._edges))]
        while stack:
            node, edges = stack[-1]
            for e in edges:
                if isinstance(e, Function) and e not in visited:     # (leaves: not hashed)
                    visited.add(e)
                    stack.append((e, iter(e._edges)))
                    break
            else:
                stack.pop()
                order.append(node)      # post-order: inputs before their consumers
    order.reverse()
    return order


def _run(roots, root_grads, retain_graph, create_graph, capture=None):
    """Shared core of ``backward`` and ``grad``. ``capture``: tensors whose gradients to return instead
    of accumulating into leaves' ``.grad``.

    Carriers: at first order every gradient travels as a raw array (rules are NumPy calls); with
    ``create_graph`` as a Tensor (rules are recorded). Hooks always see Tensors."""
    raw = not create_graph
    make = _fn._make
    node_grads = {}      # node -> gradient w.r.t. its output
    leaf_grads = {}      # id(leaf) -> [leaf, gradient]   (ids: Tensor.__eq__ is elementwise)
    root_nodes = []
    for t, g in zip(roots, root_grads):
        if raw:
            g = g._data
        if t.grad_fn is None:
            _add_leaf_grad(leaf_grads, t, g)
        else:
            prev = node_grads.get(t.grad_fn)
            node_grads[t.grad_fn] = g if prev is None else prev + g
            root_nodes.append(t.grad_fn)

    order = _topo_order(root_nodes)
    captured_nodes = run_nodes = None
    if capture is not None:
        captured_nodes = {t.grad_fn: t for t in capture if t.grad_fn is not None}
        order, run_nodes = _prune(order, capture)

    prev_mode = STATE.grad_enabled
    STATE.grad_enabled = bool(create_graph)
    anomaly = STATE.anomaly
    captured = {}
    ndarray, Function_ = np.ndarray, Function
    try:
        for node in order:
            g = node_grads.pop(node, None)
            if g is None:
                continue                      # nothing flowed here (e.g. an unused output)
            if type(g) is Placed:
                g = g.array()
            if node._pre_hooks:
                g = _call_hooks(node._pre_hooks, g, raw)
            if node._retain is not None:
                owner = node._retain()
                if owner is not None:
                    owner.grad = _own(g) if raw else g
            if captured_nodes is not None:
                if node in captured_nodes:
                    captured[id(captured_nodes[node])] = g
                if node not in run_nodes:
                    continue                  # grad() runs only what leads to a requested input
            grads = node._call_backward(g)
            edges = node._edges
            if type(grads) is not tuple or len(grads) != len(edges):
                grads = _fit_count(node, grads)
            if anomaly:
                _check_anomaly(node, grads)
            for edge, gi in zip(edges, grads):
                if edge is None or gi is None:
                    continue
                if raw:
                    if type(gi) is not ndarray and type(gi) is not Placed:
                        gi = np.asarray(gi)           # NumPy gives scalars for 0-d results
                    shape = gi.shape
                else:
                    shape = gi._data.shape
                if isinstance(edge, Function_):
                    if shape != edge._shape:
                        _wrong_shape(node, edge, gi, edge._shape)
                    prev = node_grads.get(edge)
                    node_grads[edge] = gi if prev is None else prev + gi
                else:
                    if shape != edge._data.shape:
                        _wrong_shape(node, edge, gi, edge._data.shape)
                    entry = leaf_grads.get(id(edge))
                    if entry is None:
                        leaf_grads[id(edge)] = [edge, gi]
                    else:
                        entry[1] = entry[1] + gi
            if not retain_graph:
                if node._saved is not None:
                    node._saved, node._versions = None, _GONE
                if node._out is not None:
                    node._out, node._versions = None, _GONE
    finally:
        STATE.grad_enabled = prev_mode

    if capture is not None:
        for t in capture:
            if t.grad_fn is None and id(t) in leaf_grads:
                g = leaf_grads[id(t)][1]
                captured[id(t)] = _leaf_hooks(t, g.array() if type(g) is Placed else g, raw)
        return {k: make(v) if raw else v for k, v in captured.items()}

    for leaf, g in leaf_grads.values():
        if not leaf._requires_grad:
            continue
        if type(g) is Placed:
            g = g.array()
        if leaf._hooks:
            g = _call_hooks(leaf._hooks, g, raw)
        if not raw:
            if g._data.dtype != leaf._data.dtype:
                g = g._cast(leaf.dtype)
            if leaf.grad is None:
                leaf.grad = g
            else:
                leaf.grad = leaf.grad + g
            continue
        if g.dtype != leaf._data.dtype:
            g = g.astype(leaf._data.dtype)
        old = leaf.grad
        if old is None:
            leaf.grad = _own(g)
        elif old._requires_grad:
            leaf.grad = old + make(g)
        else:
            buf = old._data
            if buf.flags.writeable and buf.shape == g.shape:
                np.add(buf, g, out=buf)
                old._vc[0] += 1
            else:
                leaf.grad = _own(buf + g)
    return None


def _call_hooks(hooks, g, raw):
    """Run tensor hooks (they see Tensors whatever the carrier); a hook may return a replacement."""
    t = _fn._make(g) if raw else g
    for hook in hooks:
        new = hook(t)
        if new is not None:
            t = new if isinstance(new, _fn._Tensor) else _fn._tensor_factory(new)
    return t._data if raw else t


def _fit_count(node, grads):
    """One gradient per input: trailing Nones (for non-Tensor arguments) are dropped; anything else that
    does not match is the rule's bug, reported with the op's name."""
    n = len(node._edges)
    if type(grads) is tuple and len(grads) > n and all(g is None for g in grads[n:]):
        return grads[:n]
    n = len(grads) if isinstance(grads, tuple) else 1
    raise RuntimeError(f"{node.name()}: its backward rule returned {n} gradient(s) "
                       f"({type(grads).__name__}) but the op has {len(node._edges)} input(s); a rule returns a "
                       f"tuple with one gradient (or None) per input of forward")


def _wrong_shape(node, edge, gi, expected):
    i = next(k for k, e in enumerate(node._edges) if e is edge)
    got = tuple(gi.shape if type(gi) is Placed else np.shape(gi if not isinstance(gi, _fn._Tensor) else gi._data))
    raise RuntimeError(f"{node.name()}: its backward rule returned a gradient of shape {got} for input {i}, "
                       f"whose shape is {tuple(expected)}; a rule must return each input's gradient in that "
                       f"input's shape (sum broadcast dimensions away with sum_to)")


def _add_leaf_grad(leaf_grads, leaf, g):
    entry = leaf_grads.get(id(leaf))
    if entry is None:
        leaf_grads[id(leaf)] = [leaf, g]
    else:
        entry[1] = entry[1] + g


def _leaf_hooks(leaf, g, raw=False):
    return _call_hooks(leaf._hooks, g, raw) if leaf._hooks else g


def _own(arr):
    """A gradient stored in ``.grad`` must own writable memory that nothing else aliases: optimisers and
    clip_grad_norm_ update it in place. Rules may hand out views (expand, reshape) or the incoming
    gradient itself (add), so copy unless it is a fresh array of its own. Takes an array, returns a Tensor."""
    key = id(arr)
    if arr.base is not None or _SEEN.get(key) is arr or not arr.flags.writeable:
        arr = arr.copy()
        key = id(arr)
    _SEEN[key] = arr
    return _fn._make(arr)


_SEEN = {}          # id -> array of every array handed to a .grad (or held by the caller) in this backward


def _prune(order, capture):
    """For grad(): the nodes to visit (those on a path to a requested input, and the inputs' own nodes)
    and, among them, the ones whose backward rule must run (an edge leads further to a requested input)."""
    targets = {t.grad_fn for t in capture if t.grad_fn is not None}
    leaf_targets = {id(t) for t in capture if t.grad_fn is None}
    run = set()
    for node in reversed(order):      # inputs first, so every edge's status is known
        for e in node._edges:
            if e is None:
                continue
            if (e in run or e in targets) if isinstance(e, Function) else id(e) in leaf_targets:
                run.add(node)
                break
    return [n for n in order if n in run or n in targets], run


def _check_anomaly(node, grads):
    # NaN only, as PyTorch: an infinite gradient can be the right answer (d sqrt(x)/dx at 0); it is the
    # NaN it turns into downstream (inf * 0) that marks the bug, and the op computing it is named.
    for i, gi in enumerate(grads):
        if gi is None:
            continue
        arr = gi._data if isinstance(gi, _fn._Tensor) else gi.array() if type(gi) is Placed else np.asarray(gi)
        if arr.dtype.kind in "fc" and np.isnan(arr).any():
            what = "nan"
            where = ""
            if node._trace:
                user = [f for f in node._trace if not f.filename.startswith(_PACKAGE_DIR)]
                frame = (user or node._trace)[-1]
                where = (f"\nThe forward op {node.name().rsplit('Backward', 1)[0]} was created at:\n"
                         f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}\n    {frame.line}')
            raise RuntimeError(f"Function '{node.name()}' returned {what} values in its {i}th output.{where}")


def _seed(data):
    """d(out)/d(out) = 1 for a one-element output ``data`` (np.ones costs 1.6 µs, this 0.4)."""
    seed = np.array(1, data.dtype)
    return _fn._make(seed if data.ndim == 0 else seed.reshape(data.shape))


def _prepare_roots(outputs, grad_outputs, create_graph, api):
    Tensor, _make = _fn._Tensor, _fn._make
    if grad_outputs is None and type(outputs) is Tensor and outputs._requires_grad and outputs._data.size == 1:
        return (outputs,), (_seed(outputs._data),)                  # loss.backward(): the common case
    if isinstance(outputs, Tensor):
        outputs = (outputs,)
    outputs = tuple(outputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (grad_outputs,)
    grad_outputs = tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"{api}: got {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    roots, grads = [], []
    for i, (t, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None and t._requires_grad and t._data.size == 1:     # loss.backward(): seed with 1
            roots.append(t)
            grads.append(_seed(t._data))
            continue
        if not t._requires_grad:
            raise RuntimeError(f"{api}: element {i} of tensors does not require grad and does not have a "
                               f"grad_fn. Did you create it under no_grad(), or forget requires_grad=True on "
                               f"the inputs?")
        if g is None:
            if t._data.size != 1:
                raise RuntimeError(f"{api}: grad can be implicitly created only for scalar outputs; this "
                                   f"output has shape {tuple(t.shape)}. Pass gradient=<tensor of that shape> "
                                   f"(e.g. torch-style out.backward(chainrule.ones_like(out))) or reduce it "
                                   f"first (out.sum().backward()).")
            g = _make(np.ones(t._data.shape, t._data.dtype))
        else:
            g = g if isinstance(g, Tensor) else _fn._tensor_factory(g)
            if g._data.shape != t._data.shape:
                raise RuntimeError(f"{api}: mismatch in shape: grad_output[{i}] has shape {tuple(g.shape)} "
                                   f"and output[{i}] has shape {tuple(t.shape)}")
            if g._data.dtype != t._data.dtype:
                g = g._cast(t.dtype)
            if not create_graph:
                g = g.detach()
        _SEEN[id(g._data)] = g._data          # the caller holds this array: never hand it to a leaf as is
        roots.append(t)
        grads.append(g)
    return roots, grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
    if retain_graph is None:
        retain_graph = create_graph
    roots, grads = _prepare_roots(tensors, grad_tensors, create_graph, "backward")
    try:
        if inputs is not None:
            inputs = (inputs,) if isinstance(inputs, _fn._Tensor) else tuple(inputs)
            captured = _run(roots, grads, retain_graph, create_graph, capture=inputs)
            for t in inputs:
                g = captured.get(id(t))
                if g is not None:
                    t.grad = (g if create_graph else _own(g._data)) if t.grad is None else t.grad + g
        else:
            _run(roots, grads, retain_graph, create_graph)
    except BaseException:
        _end_callbacks.clear()
        raise
    finally:
        _SEEN.clear()
    _run_end_callbacks()


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         materialize_grads=False):
    """Return d(outputs)/d(inputs) (a tuple, one per input) without touching any ``.grad``.
    With ``create_graph=True`` the results are differentiable (grad-of-grad, Hessian-vector products)."""
    from ..tensor import Tensor, _make           # tensor imports the engine: a cycle
    single = isinstance(inputs, Tensor)
    inputs = (inputs,) if single else tuple(inputs)
    for i, t in enumerate(inputs):
        if not t._requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {tuple(t.shape)}) does not require grad; create it with "
                               f"requires_grad=True")
    if retain_graph is None:
        retain_graph = create_graph
    roots, grads = _prepare_roots(outputs, grad_outputs, create_graph, "grad")
    try:
        captured = _run(roots, grads, retain_graph, create_graph, capture=inputs)
    finally:
        _SEEN.clear()
        _end_callbacks.clear()
    result = []
    for i, t in enumerate(inputs):
        g = captured.get(id(t))
        if g is None:
            if materialize_grads:
                g = _make(np.zeros(t._data.shape, t._data.dtype))
            elif not allow_unused:
                raise RuntimeError(f"grad: input {i} (shape {tuple(t.shape)}) was not used in the graph of the "
                                   f"outputs. Set allow_unused=True if this is what you want (its gradient is "
                                   f"then None).")
        elif not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)
