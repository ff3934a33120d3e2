"""Recording a forward pass as a list of ops, for export.

While ``record()`` is active, every ``Op.apply`` (the one door all of chainrule's built-in ops go through)
appends ``(op class, inputs, params, output)`` to the trace. The exporter turns that list into an ONNX
graph: tensors produced by a recorded op are graph values; the model's inputs are graph inputs; any other
tensor an op reads (parameters, buffers, constants made inside forward) becomes an initializer.
"""
import contextlib

from ..autograd.function import Op

__all__ = ["record", "Step"]


class Step:
    __slots__ = ("op", "inputs", "params", "output")

    def __init__(self, op, inputs, params, output):
        self.op, self.inputs, self.params, self.output = op, inputs, params, output


@contextlib.contextmanager
def record():
    """Collect the Steps of the ops run inside the block (the list is yielded)."""
    steps = []
    original = Op.__dict__["apply"]

    def traced(cls, *inputs, **params):
        out = original.__func__(cls, *inputs, **params)
        steps.append(Step(cls, inputs, params, out))
        return out

    Op.apply = classmethod(traced)
    try:
        yield steps
    finally:
        Op.apply = original
