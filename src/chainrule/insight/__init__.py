"""Seeing backprop: gradient-flow diagnosis, the chain rule explained on your own graph, graph export,
a learning-rate finder and the sharpness of the loss.

    monitor = cr.insight.GradientMonitor(model, every=10)   # alarms in plain words, once
    print(cr.insight.explain(loss))                         # every forward value, every dL/dnode
    print(cr.insight.to_mermaid(loss))                      # the graph, for GitHub / Jupyter
    cr.insight.lr_find(model, loss_fn, loader)              # Smith's range test; model restored exactly
    cr.insight.sharpness(model, loss_fn, batch)             # λ_max (Lanczos), trace (Hutchinson), 2/λ_max
"""
from .alarms import Alarm, Thresholds
from .explain import Explanation, explain, record_values
from .graph import render_dot, to_dot, to_mermaid
from .lr_find import LRFinderResult, compare, lr_find
from .monitor import GradientMonitor
from .sharpness import Sharpness, curvature, sharpness

__all__ = ["GradientMonitor", "Thresholds", "Alarm", "explain", "Explanation", "record_values", "to_mermaid",
           "to_dot", "render_dot", "lr_find", "LRFinderResult", "compare", "sharpness", "curvature", "Sharpness"]
