"""The names PyTorch gives graph nodes (``grad_fn``), so printed graphs read as in PyTorch's tutorials:
``MulBackward0``, ``AddmmBackward0``, ``MeanBackward0``... chainrule's op classes keep their own names
(``Mul``, ``Linear``); this table only maps them to what PyTorch prints. An op not listed here is shown
as ``<Class>Backward0``."""
import functools

_FIXED = {
    "Reshape": "ViewBackward0", "Cast": "ToCopyBackward0", "Amax": "AmaxBackward0", "CrossEntropy":
    "NllLossBackward0", "Clamp": "ClampBackward1", "Relu": "ReluBackward0", "LeakyRelu": "LeakyReluBackward0",
    "Elu": "EluBackward0", "Gelu": "GeluBackward0", "Silu": "SiluBackward0", "Dropout": "MulBackward0",
    "Normalize": "NativeLayerNormBackward0", "MaxPool2d": "MaxPool2DWithIndicesBackward0",
    "AvgPool2d": "AvgPool2DBackward0", "Conv2d": "ConvolutionBackward0", "Index": "IndexBackward0",
    "Einsum": "UnsafeViewBackward0", "BinaryCrossEntropy": "BinaryCrossEntropyBackward0",
    "BinaryCrossEntropyWithLogits": "BinaryCrossEntropyWithLogitsBackward0",
}


def torch_name(node):
    """PyTorch's name for ``node``'s backward."""
    cls = type(node).__name__
    if cls == "Linear":                      # F.linear: addmm with a bias, mm without (for 2-D inputs)
        x = node._saved[0] if node._saved else None
        has_bias = bool(node._saved) and node._saved[2] is not None
        if x is not None and x._data.ndim > 2:
            return "ViewBackward0"
        return "AddmmBackward0" if has_bias else "MmBackward0"
    if cls == "Matmul" and node._saved:
        nd = (node._saved[0]._data.ndim, node._saved[1]._data.ndim)
        return {(2, 2): "MmBackward0", (1, 1): "DotBackward0", (2, 1): "MvBackward0",
                (3, 3): "BmmBackward0"}.get(nd, "UnsafeViewBackward0")
    if cls == "Permute":
        return "PermuteBackward0"
    return _FIXED.get(cls, cls + "Backward0")


def named(fn, name):
    """``fn`` (an op function) whose recorded node shows as ``name`` - for ops built from another op, e.g.
    ``t()`` and ``transpose()`` are permutes that PyTorch names TBackward0 / TransposeBackward0."""
    @functools.wraps(fn)
    def op(*args, **kwargs):
        out = fn(*args, **kwargs)
        node = getattr(out, "grad_fn", None)
        if node is not None and node.__dict__.get("_name") is None and type(node).__name__ == "Permute":
            node._name = name
        return out
    return op
