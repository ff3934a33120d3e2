"""Draw the backward graph of a tensor: Mermaid text (GitHub and Jupyter render it) or Graphviz dot.

    print(cr.insight.to_mermaid(loss, model=model))        # paste into a ```mermaid block
    cr.insight.render_dot(cr.insight.to_dot(loss), "graph.svg")   # needs the Graphviz `dot` binary

Nodes are the recorded ops (name, output shape, dtype) and the leaves (named by their module path, e.g.
``encoder.0.weight``, when ``model`` is given). Edges run in the forward direction, input → op.
``values=True`` labels each edge with the value flowing along it (or its shape, norm and range);
``grads=True`` runs the backward rules once (the graph must not have been freed by ``backward()``) and
labels each edge with ‖∂L/∂value‖ (and fills in op shapes the graph did not keep). Repeated structure is collapsed: three or more consecutive blocks of a
container (``layers.0``, ``layers.1``, ...; in a flat Sequential each layer's index starts a block) with the same ops and parameter shapes keep their first and
last block and fold the ones between into one node. Everything is iterative: a 100 000-op graph exports.
"""
import re
import shutil
import subprocess

import numpy as np

from ..autograd.engine import _topo_order
from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor, _make
from .explain import show

__all__ = ["to_mermaid", "to_dot", "render_dot", "graph_of"]

_BLOCK = re.compile(r"^(.*?)(?:^|\.)(\d+)(?:\.|$)")


class _Graph:
    def __init__(self):
        self.nodes = {}      # id -> (label, kind)   kind: op, leaf, root, collapsed
        self.edges = []      # (src id, dst id, label)


def _shapes(order, root):
    """Output shape and dtype of each op node, from whatever the graph kept (values, saved inputs)."""
    meta = {root.grad_fn: (tuple(root.shape), root._data.dtype)}
    for node in order:
        v = node.__dict__.get("_insight_value")
        if v is None and getattr(node, "_out", None) is not None:
            v = node._out
        if v is not None:
            meta[node] = (tuple(v.shape), v.dtype)
        for t in getattr(node, "_saved", None) or ():
            if isinstance(t, Tensor) and t.grad_fn is not None and t.grad_fn not in meta:
                meta[t.grad_fn] = (tuple(t._data.shape), t._data.dtype)
    return meta


def _node_grads(order, root):
    """∂L/∂(each node's output) and ∂L/∂(each leaf), running the backward rules without touching .grad."""
    grads = {root.grad_fn: np.ones(root._data.shape, root._data.dtype)}
    leaf = {}
    seen = {}
    with no_grad():
        for node in order:
            g = grads.pop(node, None)
            if g is None:
                continue
            seen[node] = g
            for e, gi in zip(node._edges, node._call_backward(_make(g))):
                if e is None or gi is None:
                    continue
                if isinstance(e, Function):
                    grads[e] = gi._data if e not in grads else grads[e] + gi._data
                else:
                    leaf[id(e)] = gi._data if id(e) not in leaf else leaf[id(e)] + gi._data
    return seen, leaf


def _fmt_value(a):
    return show(a)


_SHORT = {}


def _short(shape, dtype):
    key = (shape, dtype)
    text = _SHORT.get(key)
    if text is None:                   # cached: a 100 000-node graph has a handful of distinct shapes
        text = _SHORT[key] = f"{'×'.join(map(str, shape)) or 'scalar'} {np.dtype(dtype).name}"
    return text


def graph_of(tensor, model=None, names=None, values=False, grads=False, collapse=True):
    """The graph as plain data (``nodes``: id -> (label, kind); ``edges``: (src, dst, label))."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_mermaid/to_dot: expected a Tensor, got {type(tensor).__name__}")
    if tensor.grad_fn is None:
        raise ValueError("to_mermaid/to_dot: this tensor has no graph (it is a leaf, or was computed under "
                         "no_grad()); draw the loss or an output computed from parameters that require grad")
    order = _topo_order([tensor.grad_fn])
    forward = order[::-1]
    leaf_names = {}
    if model is not None:
        leaf_names.update({id(p): n for n, p in model.named_parameters()})
    for n, t in (names or {}).items():
        leaf_names[id(t)] = n
    meta = _shapes(order, tensor)
    node_g, leaf_g = _node_grads(order, tensor) if grads else ({}, {})
    for node, gv in node_g.items():           # a gradient has its value's shape: fills the unknown ones
        meta.setdefault(node, (gv.shape, gv.dtype))

    # 1. which block (``layers.3``) each op belongs to: that of its parameters, else of its first input
    block = {}
    for node in forward:
        b = None
        for e in node._edges:
            if e is None:
                continue
            if isinstance(e, Function):
                b = b or block.get(e)
            else:
                m = _BLOCK.match(leaf_names.get(id(e), ""))
                if m:
                    b = f"{m.group(1)}.{m.group(2)}" if m.group(1) else m.group(2)
                    break
        block[node] = b
    # 2. runs of same-signature consecutive blocks to fold
    folded = {}          # node -> collapsed-node id
    if collapse:
        members, sig = {}, {}
        for node in forward:
            b = block[node]
            if b is None:
                continue
            members.setdefault(b, []).append(node)
            shapes = tuple(tuple(e._data.shape) for e in node._edges if isinstance(e, Tensor))
            sig.setdefault(b, []).append((type(node).__name__, shapes))
        by_prefix = {}
        for b in members:
            prefix, _, idx = b.rpartition(".")
            by_prefix.setdefault(prefix, []).append((int(idx), b))
        for prefix, blocks in by_prefix.items():
            blocks.sort()
            run = [blocks[0]]
            for ib in blocks[1:] + [(None, None)]:
                same = ib[1] is not None and sig[ib[1]] == sig[run[-1][1]]
                if same:
                    run.append(ib)
                    continue
                if len(run) >= 3:
                    middle = run[1:-1]
                    cid = f"c{len(set(folded.values()))}"
                    first, last = middle[0][1], middle[-1][1]
                    label = (f"{first} … {last}: {len(middle)}× the same block as {run[0][1]} "
                             f"({len(sig[run[0][1]])} ops each, parameters folded)")
                    for _, b in middle:
                        for node in members[b]:
                            folded[node] = (cid, label)
                run = [ib]

    g = _Graph()
    ids = {}

    def nid(obj):
        if isinstance(obj, Function) and obj in folded:
            cid, label = folded[obj]
            g.nodes.setdefault(cid, (label, "collapsed"))
            return cid
        key = id(obj)
        if key not in ids:
            ids[key] = f"n{len(ids)}"
            if isinstance(obj, Function):
                shape = meta.get(obj)
                kind = "root" if obj is tensor.grad_fn else "op"
                label = type(obj).__name__ + (f"<br/>{_short(*shape)}" if shape else "")
            else:
                name = leaf_names.get(id(obj), "input" if not obj.requires_grad else "leaf")
                label = f"{name}<br/>{_short(obj._data.shape, obj._data.dtype)}"
                kind = "leaf"
            g.nodes[ids[key]] = (label, kind)
        return ids[key]

    seen_edges = set()
    for node in forward:
        dst = nid(node)
        for e in node._edges:
            if e is None or (isinstance(e, Tensor) and node in folded):
                continue                          # a folded block's parameters fold with it
            src = nid(e)
            if src == dst or (src, dst) in seen_edges:
                continue                          # inside a folded run, or a repeat of the same edge
            seen_edges.add((src, dst))
            parts = []
            if values:
                v = e._data if isinstance(e, Tensor) else e.__dict__.get("_insight_value")
                parts.append(_fmt_value(v) if v is not None else "")
            if grads:
                gv = leaf_g.get(id(e)) if isinstance(e, Tensor) else node_g.get(e)
                if gv is not None:
                    parts.append(f"‖∂L‖={float(np.linalg.norm(gv)):.3g}")
            g.edges.append((src, dst, " ".join(p for p in parts if p)))
    return g


def _esc_mermaid(s):
    return s.replace('"', "#quot;").replace("[", "#91;").replace("]", "#93;")


def to_mermaid(tensor, model=None, names=None, values=False, grads=False, collapse=True, direction="TD"):
    """Mermaid ``flowchart`` text of ``tensor``'s graph (see the module docstring for the options)."""
    g = graph_of(tensor, model, names, values, grads, collapse)
    shape = {"op": ('["', '"]'), "root": ('(["', '"])'), "leaf": ('[/"', '"/]'), "collapsed": ('[["', '"]]')}
    lines = [f"flowchart {direction}"]
    for i, (label, kind) in g.nodes.items():
        a, b = shape[kind]
        lines.append(f"    {i}{a}{_esc_mermaid(label)}{b}")
    for src, dst, label in g.edges:
        lines.append(f'    {src} -->|"{_esc_mermaid(label)}"| {dst}' if label else f"    {src} --> {dst}")
    lines.append("    classDef leaf fill:#e8f4ff,stroke:#3b82f6")
    lines.append("    classDef collapsed fill:#f5f5f5,stroke:#888,stroke-dasharray:4")
    leaves = [i for i, (_, k) in g.nodes.items() if k == "leaf"]
    folded = [i for i, (_, k) in g.nodes.items() if k == "collapsed"]
    if leaves:
        lines.append(f"    class {','.join(leaves)} leaf")
    if folded:
        lines.append(f"    class {','.join(folded)} collapsed")
    return "\n".join(lines) + "\n"


def to_dot(tensor, model=None, names=None, values=False, grads=False, collapse=True, rankdir="TB"):
    """Graphviz dot text of ``tensor``'s graph (render with ``render_dot`` or any Graphviz tool)."""
    g = graph_of(tensor, model, names, values, grads, collapse)
    style = {"op": 'shape=box, style="rounded,filled", fillcolor="#fff7e6"',
             "root": 'shape=box, style="rounded,filled,bold", fillcolor="#ffe0e0"',
             "leaf": 'shape=box, style=filled, fillcolor="#e8f4ff"',
             "collapsed": 'shape=box3d, style=dashed'}
    lines = ["digraph chainrule {", f"    rankdir={rankdir};", '    node [fontname="Helvetica", fontsize=10];',
             '    edge [fontname="Helvetica", fontsize=8];']
    for i, (label, kind) in g.nodes.items():
        lines.append(f'    {i} [label="{_esc_dot(label)}", {style[kind]}];')
    for src, dst, label in g.edges:
        lines.append(f'    {src} -> {dst}' + (f' [label="{_esc_dot(label)}"];' if label else ";"))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _esc_dot(s):
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("<br/>", "\\n")


def render_dot(dot_text, path):
    """Render dot text to ``path`` (format from its suffix: .png, .svg, .pdf) with the Graphviz binary."""
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError("render_dot needs the Graphviz `dot` binary (apt install graphviz / brew install "
                           "graphviz); the text from to_dot() also renders in any Graphviz viewer")
    fmt = str(path).rsplit(".", 1)[-1].lower()
    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"render_dot: unsupported suffix .{fmt}; use .png, .svg or .pdf")
    subprocess.run([exe, f"-T{fmt}", "-o", str(path)], input=dot_text.encode(), check=True, capture_output=True)
    return path
