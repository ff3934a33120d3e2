"""``explain``: the chain rule, by the numbers, on the user's own (small) graph.

    text = cr.insight.explain(lambda: 0.5 * ((y - (w1 * x + w2)) ** 2).sum(), names={"w1": w1, "w2": w2},
                              lr=0.1)
    print(text)          # in Jupyter the object renders as Markdown

Given a function that builds the loss, ``explain`` runs it once while keeping every op's output, then:

1. lists every forward value, in the order the ops ran;
2. walks the graph output-first, as backward does: for each node, ∂L/∂node, and for each of its inputs the
   local derivative ∂node/∂input (the op's own backward rule applied to each unit vector: the exact
   Jacobian, shown as a vector when the op is elementwise) and the chain-rule product that adds into
   ∂L/∂input;
3. checks every parameter gradient by central finite differences, and shows the update w ← w − η ∂L/∂w.

Given a loss Tensor instead of a function, the values that the graph did not keep are not shown and the
finite-difference check is skipped (there is no way to recompute the loss).
"""
import contextlib

import numpy as np

from ..autograd.engine import _topo_order
from ..autograd.function import VIEWS, Function
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor, _make

__all__ = ["explain", "record_values", "Explanation"]

MAX_JACOBIAN = 64      # outputs with more elements: the local derivative is not expanded (too many rules)


@contextlib.contextmanager
def record_values():
    """Keep each recorded op's output (and constant inputs) on its graph node, for ``explain``."""
    def keep(ctx, inputs, out):
        ctx.__dict__["_insight_value"] = out.copy()
        ctx.__dict__["_insight_consts"] = [None if n else (x._data if isinstance(x, Tensor) else x)
                                           for x, n in zip(inputs, ctx.needs_input_grad)]

    previous, VIEWS.observer = VIEWS.observer, keep
    try:
        yield
    finally:
        VIEWS.observer = previous


def show(a, precision=4):
    """An array in full when small (vectors ≤ 12, matrices ≤ 6×6), else its shape, norm and range."""
    a = np.asarray(a)
    if a.ndim == 0:
        return _num(a.item())
    if a.size <= 12 and a.ndim == 1 or a.ndim == 2 and a.shape[0] <= 6 and a.shape[1] <= 6:
        return np.array2string(a, precision=precision, separator=", ", suppress_small=False,
                               max_line_width=200, formatter={"float_kind": _num}).replace("\n", "")
    if a.dtype.kind not in "fc":
        return f"shape {a.shape}"
    return (f"shape {a.shape}, ‖·‖={_num(float(np.linalg.norm(a)))}, min {_num(float(a.min()))}, "
            f"max {_num(float(a.max()))}")


def _num(v):
    if isinstance(v, (bool, np.bool_)) or not np.isfinite(v):
        return str(v)
    if float(v) == int(v) and abs(v) < 1e9:
        return str(int(v))
    return f"{v:.4g}"


class Explanation:
    """The result of ``explain``: ``str()`` is plain text, ``_repr_markdown_`` renders in Jupyter.
    ``forward``, ``backward``, ``params`` hold the numbers (``params[name]['grad']`` etc.) for tests."""

    def __init__(self):
        self.forward = []        # (name, description, value or None)
        self.backward = []       # (name, dL/dnode, [(input name, local kind, local, product)])
        self.params = {}         # name -> {"value", "grad", "fd", "fd_error", "updated"}
        self.lr = None
        self.notes = []

    def _sections(self):
        out = [("Forward pass (in the order the ops ran)", [
            f"{n} = {d}" + (f" = {show(v)}" if v is not None else "  (value not kept)")
            for n, d, v in self.forward])]
        lines = []
        for n, g, contribs in self.backward:
            lines.append(f"∂L/∂{n} = {show(g)}")
            for inp, kind, local, prod in contribs:
                if kind == "elementwise":
                    lines.append(f"    → {inp}: local ∂{n}/∂{inp} = {show(local)} (elementwise); "
                                 f"∂L/∂{n} ⊙ local = {show(prod)}")
                elif kind == "scalar input":
                    lines.append(f"    → {inp}: local ∂{n}/∂{inp} = {show(local)} (per output element); "
                                 f"Σ ∂L/∂{n} · local = {show(prod)}")
                elif kind == "scalar output":
                    lines.append(f"    → {inp}: local ∂{n}/∂{inp} = {show(local)}; "
                                 f"∂L/∂{n} · local = {show(prod)}")
                elif kind == "jacobian":
                    lines.append(f"    → {inp}: local Jacobian ∂{n}/∂{inp} = {show(local)}; "
                                 f"Jᵀ · ∂L/∂{n} = {show(prod)}")
                else:
                    lines.append(f"    → {inp}: (Jacobian not expanded: output too large) contribution "
                                 f"= {show(prod)}")
        out.append(("Backward pass (output first; each input's gradient adds up the products)", lines))
        lines = []
        for n, p in self.params.items():
            s = f"∂L/∂{n} = {show(p['grad'])}"
            if p.get("fd") is not None:
                ok = "ok" if p["fd_ok"] else "MISMATCH"
                s += f"   finite differences: {show(p['fd'])} (max error {p['fd_error']:.1e}, {ok})"
            lines.append(s)
            if self.lr is not None:
                lines.append(f"    update: {n} ← {n} − η ∂L/∂{n} = {show(p['value'])} − {_num(self.lr)} × "
                             f"{show(p['grad'])} = {show(p['updated'])}")
        out.append(("Parameters" + (f" (η = {_num(self.lr)})" if self.lr is not None else ""), lines))
        if self.notes:
            out.append(("Notes", list(self.notes)))
        return out

    def __str__(self):
        parts = []
        for title, lines in self._sections():
            parts.append(title)
            parts.append("-" * len(title))
            parts += lines
            parts.append("")
        return "\n".join(parts).rstrip() + "\n"

    def _repr_markdown_(self):
        parts = []
        for title, lines in self._sections():
            parts.append(f"**{title}**\n")
            parts += [f"- `{line.strip()}`" for line in lines]
            parts.append("")
        return "\n".join(parts)

    __repr__ = __str__


def _leaf_names(leaves, names):
    by_id = {id(t): n for n, t in (names or {}).items()}
    out, k = {}, 0
    for leaf in leaves:
        if id(leaf) in by_id:
            out[id(leaf)] = by_id[id(leaf)]
        else:
            k += 1
            out[id(leaf)] = f"leaf{k}"
    return out


def _local_and_product(node, i, g, in_shape):
    """(kind, local derivative, chain-rule product) for input ``i`` of ``node`` given ∂L/∂node ``g``."""
    with no_grad():
        prod = node._call_backward(_make(g))[i]
    if prod is None:
        return None, None, None
    prod = prod._data
    in_shape = prod.shape if in_shape is None else in_shape      # a gradient has its input's shape
    n_out, n_in = g.size, int(np.prod(in_shape))
    if n_out > MAX_JACOBIAN:
        return "big", None, prod
    rows = []
    with no_grad():
        for j in range(n_out):
            e = np.zeros(g.size, g.dtype)
            e[j] = 1
            r = node._call_backward(_make(e.reshape(g.shape)))[i]
            rows.append(np.zeros(n_in) if r is None else np.broadcast_to(r._data, in_shape).reshape(-1))
    J = np.array(rows)                                  # J[j, k] = ∂out_j / ∂in_k
    if n_in == 1:
        return "scalar input", J[:, 0].reshape(g.shape), prod
    if n_out == 1:
        return "scalar output", J[0].reshape(in_shape), prod
    if n_in == n_out and np.count_nonzero(J - np.diag(np.diag(J))) == 0:
        return "elementwise", np.diag(J).reshape(in_shape), prod
    return "jacobian", J, prod


def explain(loss, names=None, model=None, lr=None, fd_eps=None):
    """Explain the forward and backward pass of a small graph, number by number.

    ``loss``: a function of no arguments returning a scalar Tensor (preferred: every value is kept and the
    gradients are checked by finite differences), or the scalar Tensor itself. ``names``: {name: tensor},
    for parameters and for constant inputs (data); ``model``: name the leaves by their module path (``0.weight``). ``lr``: show the update
    w ← w − η ∂L/∂w. ``fd_eps``: finite-difference step (default 1e-6 for float64, 1e-3 otherwise).
    Nothing is modified: no ``.grad`` is written and the parameters keep their values.
    """
    fn = loss if callable(loss) and not isinstance(loss, Tensor) else None
    if fn is not None:
        with record_values():
            loss = fn()
    if not isinstance(loss, Tensor):
        raise TypeError(f"explain: expected a scalar loss Tensor or a function returning one, got "
                        f"{type(loss).__name__}")
    if loss.numel() != 1:
        raise ValueError(f"explain: the loss must be a scalar (one element), got shape {tuple(loss.shape)}; "
                         f"reduce it first (loss.sum() or loss.mean())")
    if loss.grad_fn is None:
        raise ValueError("explain: the loss has no graph (no input requires grad); create the parameters with "
                         "requires_grad=True and compute the loss outside no_grad()")
    names = dict(names or {})
    if model is not None:
        names.update({n: p for n, p in model.named_parameters()})

    order = _topo_order([loss.grad_fn])          # output first
    forward = list(reversed(order))
    leaves = []
    for node in forward:
        for e in node._edges:
            if e is not None and not isinstance(e, Function) and all(e is not x for x in leaves):
                leaves.append(e)
    leaf_name = _leaf_names(leaves, names)
    counts, node_name = {}, {}
    for node in forward:
        op = type(node).__name__
        counts[op] = counts.get(op, 0) + 1
        node_name[node] = f"{op.lower()}{counts[op]}"
    node_name[loss.grad_fn] = "L"

    const_name = {id(t._data): n for n, t in names.items() if isinstance(t, Tensor)}

    def label(e):
        return node_name[e] if isinstance(e, Function) else leaf_name[id(e)]

    ex = Explanation()
    ex.lr = lr
    ex.loss, ex.names = loss, names              # for graph export of the same graph
    for leaf in leaves:
        ex.forward.append((leaf_name[id(leaf)], "parameter", leaf._data.copy()))
    for node in forward:
        consts = node.__dict__.get("_insight_consts") or [None] * len(node._edges)
        args = []
        for e, c in zip(node._edges, consts):
            if e is not None:
                args.append(label(e))
            elif c is not None and id(c) in const_name:
                args.append(const_name[id(c)])
            elif c is not None:
                args.append(show(c) if np.ndim(c) == 0 or np.size(c) <= 4 else f"const{tuple(np.shape(c))}")
        value = node.__dict__.get("_insight_value")
        if value is None and node is loss.grad_fn:
            value = loss._data
        ex.forward.append((node_name[node], f"{type(node).__name__}({', '.join(args)})", value))

    # backward, output first (the engine's order), without touching any .grad
    grads = {loss.grad_fn: np.ones(loss._data.shape, loss._data.dtype)}
    leaf_grads = {}
    for node in order:
        g = grads.pop(node, None)
        if g is None:
            continue
        contribs = []
        for i, e in enumerate(node._edges):
            if e is None:
                continue
            kind, local, prod = _local_and_product(node, i, g, e._data.shape if isinstance(e, Tensor) else None)
            if prod is None:
                continue
            contribs.append((label(e), kind, local, prod))
            store = grads if isinstance(e, Function) else leaf_grads
            key = e if isinstance(e, Function) else id(e)
            store[key] = prod if key not in store else store[key] + prod
        ex.backward.append((node_name[node], g, contribs))

    for leaf in leaves:
        g = leaf_grads.get(id(leaf))
        if g is None:
            continue
        name = leaf_name[id(leaf)]
        p = {"value": leaf._data.copy(), "grad": g}
        if lr is not None:
            p["updated"] = leaf._data - lr * g
        ex.params[name] = p
    if fn is not None:
        _finite_differences(fn, leaves, leaf_name, ex, fd_eps)
    else:
        ex.notes.append("pass a function (explain(lambda: ...)) to keep every forward value and to check the "
                        "gradients by finite differences")
    return ex


def _finite_differences(fn, leaves, leaf_name, ex, eps):
    """Central differences (L(w + ε) − L(w − ε)) / 2ε per element of each parameter (up to 64 each)."""
    for leaf in leaves:
        name = leaf_name[id(leaf)]
        if name not in ex.params:
            continue
        data = leaf._data
        h = eps if eps is not None else (1e-6 if data.dtype == np.float64 else 1e-3)
        fd = np.full(data.shape, np.nan)
        flat = data.reshape(-1)
        for k in range(min(flat.size, 64)):
            old = flat[k]
            try:
                with no_grad():
                    flat[k] = old + h
                    up = float(fn().item())
                    flat[k] = old - h
                    down = float(fn().item())
            finally:
                flat[k] = old
            fd.reshape(-1)[k] = (up - down) / (2 * h)
        p = ex.params[name]
        checked = ~np.isnan(fd)
        err = float(np.max(np.abs(fd[checked] - p["grad"][checked]))) if checked.any() else 0.0
        scale = max(1.0, float(np.max(np.abs(p["grad"]))))
        p["fd"], p["fd_error"] = fd, err
        p["fd_ok"] = err <= (1e-5 if data.dtype == np.float64 else 1e-2) * scale
