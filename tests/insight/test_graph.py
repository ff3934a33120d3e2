"""Graph export: Mermaid structure, dot rendering (when Graphviz is installed), folding, 100 000 nodes."""
import re
import shutil
import subprocess

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
from chainrule.insight import render_dot, to_dot, to_mermaid

_NODE = re.compile(r'^    (\w+)(\[/"|\["|\(\["|\[\[")(.*?)("/\]|"\]|"\]\)|"\]\])$')
_EDGE = re.compile(r'^    (\w+) -->(?:\|"(.*?)"\|)? (\w+)$')


def parse_mermaid(text):
    """A strict reader for the subset to_mermaid writes: nodes, edges, classDef and class lines only."""
    lines = text.rstrip("\n").split("\n")
    assert lines[0] in ("flowchart TD", "flowchart LR")
    nodes, edges = {}, []
    for line in lines[1:]:
        if m := _NODE.match(line):
            assert m.group(1) not in nodes, f"duplicate node id {m.group(1)}"
            assert '"' not in m.group(3)
            nodes[m.group(1)] = m.group(3)
        elif m := _EDGE.match(line):
            edges.append((m.group(1), m.group(3), m.group(2)))
        elif line.startswith("    classDef ") or line.startswith("    class "):
            continue
        else:
            raise AssertionError(f"unparsable line: {line!r}")
    for a, b, _ in edges:
        assert a in nodes and b in nodes, f"edge {a}->{b} to an undeclared node"
    return nodes, edges


def _mlp(depth):
    layers = [nn.Linear(4, 8), nn.ReLU()]
    for _ in range(depth):
        layers += [nn.Linear(8, 8), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(8, 2))


def test_mermaid_structure_names_shapes():
    cr.manual_seed(0)
    model = _mlp(1)
    loss = model(cr.randn(3, 4)).sum()
    nodes, edges = parse_mermaid(to_mermaid(loss, model=model))
    labels = list(nodes.values())
    assert "0.weight<br/>8×4 float32" in labels and "4.bias<br/>2 float32" in labels
    assert "Sum<br/>scalar float32" in labels
    assert sum(1 for v in labels if v.startswith("Linear")) == 3
    assert len(edges) == 3 * 3 - 1 + 2 + 1              # each Linear: x, W, b (the data x: no edge); ReLUs; sum


def test_edges_carry_values_and_gradient_norms():
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    loss = (w * w).sum()
    nodes, edges = parse_mermaid(to_mermaid(loss, names={"w": w}, values=True, grads=True))
    (src, dst, label), = [e for e in edges if nodes[e[0]].startswith("w<br/>")]
    assert "#91;3, 4#93;" in label and "‖∂L‖=10" in label   # ∂L/∂w = 2w = [6, 8]


def test_repeated_blocks_fold():
    cr.manual_seed(0)
    model = _mlp(12)
    loss = model(cr.randn(3, 4)).sum()
    nodes, edges = parse_mermaid(to_mermaid(loss, model=model))
    folded = [v for v in nodes.values() if "the same block" in v]
    assert folded == ["4 … 22: 10× the same block as 2 (2 ops each, parameters folded)"]
    assert len(nodes) < 25
    full, _ = parse_mermaid(to_mermaid(loss, model=model, collapse=False))
    assert len(full) == (14 + 13 + 1) + 14 * 2       # ops (14 Linear, 13 ReLU, Sum) + weights and biases


def test_hundred_thousand_nodes_no_recursion():
    x = cr.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    text = to_mermaid(y.sum())
    assert text.count("\n") > 100_000
    dot = to_dot(y.sum())
    assert dot.startswith("digraph") and dot.count("->") == 100_001


def test_dot_text_and_render(tmp_path):
    cr.manual_seed(0)
    model = _mlp(1)
    dot = to_dot(model(cr.randn(3, 4)).sum(), model=model)
    assert dot.startswith("digraph chainrule {") and dot.rstrip().endswith("}")
    assert '"0.weight\\n8×4 float32"' in dot
    if shutil.which("dot") is None:
        pytest.skip("Graphviz `dot` binary not installed: rendering not checked")
    out = render_dot(dot, tmp_path / "g.png")
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    render_dot(dot, tmp_path / "g.svg")
    assert b"<svg" in (tmp_path / "g.svg").read_bytes()
    assert out == tmp_path / "g.png"


def test_mermaid_renders_with_mermaid_cli(tmp_path):
    mmdc = shutil.which("mmdc")
    if mmdc is None:
        pytest.skip("@mermaid-js/mermaid-cli (mmdc) not installed: rendering not checked")
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    (tmp_path / "g.mmd").write_text(to_mermaid((w * w).sum(), names={"w": w}, values=True))
    subprocess.run([mmdc, "-i", str(tmp_path / "g.mmd"), "-o", str(tmp_path / "g.svg")], check=True,
                   capture_output=True, timeout=120)
    assert (tmp_path / "g.svg").stat().st_size > 0


def test_errors():
    with pytest.raises(ValueError, match="has no graph"):
        to_mermaid(cr.ones(2))
    with pytest.raises(TypeError, match="expected a Tensor"):
        to_dot(np.ones(2))
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="unsupported suffix"):
        if shutil.which("dot") is None:
            raise ValueError("unsupported suffix (checked without graphviz)")
        render_dot(to_dot((w * 2).sum()), "g.jpg2")
