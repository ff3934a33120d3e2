"""``export(model, args, f, input_names=..., output_names=..., dynamic_axes=...)``: write an ONNX file.

The forward pass is run once and recorded (``trace.py``); each recorded op becomes ONNX nodes (the table
``_CONVERTERS`` below, one small function per op). An op with no converter stops the export with an error
naming it. The graph is built with the ``onnx`` package (the ``onnx`` extra); opset 17.
"""
import numpy as np

from ..autograd.grad_mode import no_grad
from ..errors import ShapeError
from ..tensor import Tensor
from .trace import record

__all__ = ["export", "UnsupportedOperatorError", "OPSET"]

OPSET = 17


class UnsupportedOperatorError(RuntimeError):
    """A recorded op (or an op argument) that the ONNX exporter cannot express."""


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ImportError('chainrule.onnx.export needs the onnx package: pip install "chainrule[onnx]"') from None
    return onnx, helper, numpy_helper


class _Graph:
    """The ONNX graph under construction: names for tensors, nodes, initializers."""

    def __init__(self, helper, numpy_helper):
        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.initializers = [], []
        self.names = {}            # id(Tensor) or id(ndarray) -> value name
        self.keep = []             # keep traced objects alive so ids stay unique
        self.n = 0

    def fresh(self, hint="v"):
        self.n += 1
        return f"{hint}_{self.n}"

    def const(self, value, dtype=None, hint="c"):
        arr = np.asarray(value, dtype=dtype)
        name = self.fresh(hint)
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(self, op_type, inputs, n_out=1, **attrs):
        outs = [self.fresh(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outs, **attrs))
        return outs[0] if n_out == 1 else outs

    def bind(self, t, name):
        self.keep.append(t)
        self.names[id(t)] = name
        if isinstance(t, Tensor):
            self.keep.append(t._data)
            self.names.setdefault(id(t._data), name)

    def value(self, x, like=None):
        """The graph name of op input ``x``: a traced value, else a new initializer (parameters, constants)."""
        if x is None:
            return ""
        if isinstance(x, Tensor):
            name = self.names.get(id(x)) or self.names.get(id(x._data))
            if name is None:
                name = self.const(x._data, hint="param")
                self.bind(x, name)
            return name
        if isinstance(x, np.ndarray):
            name = self.names.get(id(x))
            return name if name is not None else self.const(x)
        dt = like._data.dtype if isinstance(like, Tensor) else np.float32
        return self.const(np.asarray(x, dtype=dt))


# --------------------------------------------------------------------------------------------- converters
def _binary(op_type):
    def conv(g, s):
        a, b = s.inputs
        like = a if isinstance(a, Tensor) else b
        return g.node(op_type, [g.value(a, like), g.value(b, like)])
    return conv


def _unary(op_type, **attrs):
    def conv(g, s):
        return g.node(op_type, [g.value(s.inputs[0])], **attrs)
    return conv


def _linear(g, s):
    x, w, b = s.inputs
    if x.ndim == 2:
        return g.node("Gemm", [g.value(x), g.value(w)] + ([g.value(b)] if b is not None else []), transB=1)
    y = g.node("MatMul", [g.value(x), g.const(w._data.T, hint="weight_t")])
    return g.node("Add", [y, g.value(b)]) if b is not None else y


def _reshape(g, s):
    x, shape = s.inputs[0], s.params["shape"]
    out = s.output.shape
    # dims equal to the input's at the same position are copied (0): keeps a dynamic batch dimension dynamic
    target = [0 if i < x.ndim and d == x.shape[i] and i == 0 else d for i, d in enumerate(out)]
    return g.node("Reshape", [g.value(x), g.const(np.array(target, np.int64))])


def _permute(g, s):
    return g.node("Transpose", [g.value(s.inputs[0])], perm=list(s.params["dims"]))


def _expand(g, s):
    return g.node("Expand", [g.value(s.inputs[0]), g.const(np.array(s.output.shape, np.int64))])


def _softmax(op_type):
    def conv(g, s):
        return g.node(op_type, [g.value(s.inputs[0])], axis=int(s.params["dim"]))
    return conv


def _gelu(g, s):
    x = g.value(s.inputs[0])
    dt = s.inputs[0]._data.dtype
    if s.params.get("approximate", "none") == "tanh":     # 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))
        x3 = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Mul", [g.node("Add", [x, g.node("Mul", [x3, g.const(0.044715, dt)])]),
                               g.const(np.sqrt(2 / np.pi), dt)])
        t = g.node("Tanh", [inner])
    else:                                               # 0.5 x (1 + erf(x / √2))
        t = g.node("Erf", [g.node("Div", [x, g.const(np.sqrt(2.0), dt)])])
    return g.node("Mul", [g.node("Mul", [x, g.const(0.5, dt)]), g.node("Add", [t, g.const(1.0, dt)])])


def _silu(g, s):
    x = g.value(s.inputs[0])
    return g.node("Mul", [x, g.node("Sigmoid", [x])])


def _leaky_relu(g, s):
    return g.node("LeakyRelu", [g.value(s.inputs[0])], alpha=float(s.params["slope"]))


def _elu(g, s):
    return g.node("Elu", [g.value(s.inputs[0])], alpha=float(s.params["alpha"]))


def _clip(g, s):
    x = s.inputs[0]
    lo, hi = s.params.get("lo"), s.params.get("hi")
    dt = x._data.dtype
    return g.node("Clip", [g.value(x), g.const(lo, dt) if lo is not None else "",
                           g.const(hi, dt) if hi is not None else ""])


def _softplus(g, s):
    if s.params.get("beta", 1) != 1:
        raise UnsupportedOperatorError("onnx export: softplus with beta != 1 has no ONNX operator")
    return g.node("Softplus", [g.value(s.inputs[0])])


def _cast(g, s):
    from onnx import helper
    return g.node("Cast", [g.value(s.inputs[0])], to=helper.np_dtype_to_tensor_dtype(s.params["dtype"].np))


def _where(g, s):
    a, b, cond = s.inputs
    like = a if isinstance(a, Tensor) else b
    return g.node("Where", [g.value(cond), g.value(a, like), g.value(b, like)])


def _sum(g, s):
    axes = list(s.params["axes"])
    return g.node("ReduceSum", [g.value(s.inputs[0]), g.const(np.array(axes, np.int64))],
                  keepdims=int(s.params["keepdim"]))


def _amax(g, s):
    op = "ReduceMax" if s.params["largest"] else "ReduceMin"
    return g.node(op, [g.value(s.inputs[0])], axes=list(s.params["axes"]), keepdims=int(s.params["keepdim"]))


def _cat(g, s):
    return g.node("Concat", [g.value(x) for x in s.inputs], axis=int(s.params["dim"]))


def _stack(g, s):
    """ONNX has no Stack: each input reshaped to its shape with the new axis, then one Concat along it.
    (Reshape to the explicit shape, not Unsqueeze: a traced value - an RNN's h_n - may carry a leading
    axis in ONNX that chainrule's value does not.)"""
    d = int(s.params["dim"])
    parts = []
    for x in s.inputs:
        shape = tuple(np.shape(x._data if isinstance(x, Tensor) else x))
        target = np.array(shape[:d] + (1,) + shape[d:], np.int64)
        parts.append(g.node("Reshape", [g.value(x), g.const(target)]))
    return g.node("Concat", parts, axis=d)


def _embedding(g, s):
    w, idx = s.inputs[0], s.params["idx"]            # idx: the index tensor's own array (traced by identity)
    return g.node("Gather", [g.value(w), g.value(idx)], axis=0)


def _trilu(upper):
    def conv(g, s):
        return g.node("Trilu", [g.value(s.inputs[0]), g.const(np.array(s.params["k"], np.int64))], upper=upper)
    return conv


def _normalize(g, s):
    x, w, b = s.inputs
    axes, eps, stats = s.params["axes"], s.params["eps"], s.params.get("stats")
    dt = x._data.dtype
    if stats is None and axes == tuple(range(x.ndim - len(axes), x.ndim)):        # layer norm
        shape = x.shape[-len(axes):]
        if w is not None and tuple(w.shape) != tuple(shape) or b is not None and tuple(b.shape) != tuple(shape):
            raise UnsupportedOperatorError("onnx export: a normalisation with broadcast affine parameters over "
                                           "its statistics axes (GroupNorm) is not supported")
        scale = g.value(w) if w is not None else g.const(np.ones(shape, dt))
        bias = g.value(b) if b is not None else g.const(np.zeros(shape, dt))
        return g.node("LayerNormalization", [g.value(x), scale, bias], axis=-len(axes), epsilon=float(eps))
    if stats is None or not s.params.get("fixed"):
        raise UnsupportedOperatorError("onnx export: batch statistics (BatchNorm in training mode, GroupNorm) "
                                       "are not supported; call model.eval() before exporting")
    mu, var = stats                                          # eval BatchNorm: (x - μ) · 1/√(σ² + ε) · w + b
    y = g.node("Sub", [g.value(x), g.const(mu.astype(dt))])
    y = g.node("Mul", [y, g.const((1.0 / np.sqrt(var.astype(np.float64) + eps)).astype(dt))])
    if w is not None:
        y = g.node("Mul", [y, g.value(w)])
    if b is not None:
        y = g.node("Add", [y, g.value(b)])
    return y


def _conv2d(g, s):
    x, w, b, geo = s.inputs[0], s.inputs[1], s.inputs[2], s.params["geo"]
    (pt, pb, pl, pr) = geo.pad
    return g.node("Conv", [g.value(x), g.value(w)] + ([g.value(b)] if b is not None else []),
                  kernel_shape=list(geo.kernel), strides=list(geo.stride), pads=[pt, pl, pb, pr],
                  dilations=list(geo.dilation), group=int(geo.groups))


def _pool_attrs(geo):
    (pt, pb, pl, pr) = geo.pad
    (h, w), (ho, wo) = geo.padded_hw, geo.out_hw
    floor = ((h - geo.dilation[0] * (geo.kernel[0] - 1) - 1) // geo.stride[0] + 1,
             (w - geo.dilation[1] * (geo.kernel[1] - 1) - 1) // geo.stride[1] + 1)
    return dict(kernel_shape=list(geo.kernel), strides=list(geo.stride), pads=[pt, pl, pb, pr],
                ceil_mode=int(floor != (ho, wo)))


def _max_pool(g, s):
    geo = s.params["geo"]
    return g.node("MaxPool", [g.value(s.inputs[0])], dilations=list(geo.dilation), **_pool_attrs(geo))


def _avg_pool(g, s):
    geo, divisor = s.params["geo"], s.params["divisor"]
    if not np.isscalar(divisor) and np.ndim(divisor):
        include = 0                                       # per-window divisors: the padding is not counted
    else:
        include = int(any(geo.pad))
        if float(divisor) != geo.kernel[0] * geo.kernel[1]:
            raise UnsupportedOperatorError("onnx export: avg_pool with divisor_override is not supported")
    return g.node("AveragePool", [g.value(s.inputs[0])], count_include_pad=include, **_pool_attrs(geo))


def _matmul_t(g, a, b):
    return g.node("MatMul", [a, b])


def _attention(g, s):
    q, k, mask = s.inputs[0], s.inputs[1], s.inputs[2]
    if s.params.get("keep") is not None:
        raise UnsupportedOperatorError("onnx export: attention dropout is active; call model.eval() first")
    perm = list(range(k.ndim))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    scores = g.node("MatMul", [g.value(q), g.node("Transpose", [g.value(k)], perm=perm)])
    if s.params["scale"] != 1.0:
        scores = g.node("Mul", [scores, g.const(s.params["scale"], q._data.dtype)])
    if mask is not None:
        scores = g.node("Add", [scores, g.value(mask, q)])
    return g.node("Softmax", [scores], axis=-1)


def _index(g, s):
    x, key = s.inputs[0], s.params["key"]
    if not s.params.get("basic", True) and not isinstance(key, tuple):
        key = (key,)
    key = key if isinstance(key, tuple) else (key,)
    if any(k is Ellipsis for k in key):
        i = key.index(Ellipsis)
        n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
        key = key[:i] + (slice(None),) * (x.ndim - n_real) + key[i + 1:]
    name = g.value(x)
    axis, drop, unsq = 0, [], []
    starts, ends, axes, steps = [], [], [], []
    gathers = []
    for k in key:
        if k is None:
            unsq.append(axis)
            continue
        if isinstance(k, slice):
            start, stop, step = k.indices(x.shape[axis])
            if (start, stop, step) != (0, x.shape[axis], 1):
                if step < 0:
                    raise UnsupportedOperatorError("onnx export: negative slice steps are not supported")
                starts.append(start), ends.append(stop), axes.append(axis), steps.append(step)
        elif isinstance(k, (int, np.integer)):
            gathers.append((axis, int(k) % x.shape[axis]))
        else:
            raise UnsupportedOperatorError(f"onnx export: indexing with {type(k).__name__} keys (advanced "
                                           f"indexing) is not supported")
        axis += 1
    if starts:
        name = g.node("Slice", [name, g.const(np.array(starts, np.int64)), g.const(np.array(ends, np.int64)),
                                g.const(np.array(axes, np.int64)), g.const(np.array(steps, np.int64))])
    for ax, i in reversed(gathers):                    # last axis first, so earlier axes keep their numbers
        name = g.node("Gather", [name, g.const(np.array(i, np.int64))], axis=ax)
    if unsq:
        # positions counted in the key; after the gathers the axes shift left by the gathered ones before them
        final = []
        for pos in unsq:
            final.append(pos - sum(1 for ax, _ in gathers if ax < pos) + len(final))
        name = g.node("Unsqueeze", [name, g.const(np.array(final, np.int64))])
    return name


_GATES = {"LSTM": ([0, 3, 1, 2], 4), "GRU": ([1, 0, 2], 3)}    # PyTorch gate order -> ONNX gate order


def _reorder(w, mode):
    if mode not in _GATES:
        return w
    order, n = _GATES[mode]
    chunks = np.split(w, n, axis=0)
    return np.concatenate([chunks[i] for i in order], axis=0)


def _rnn(g, s):
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = s.inputs[:7]
    mode, reverse = s.params["mode"], s.params["reverse"]
    hidden = w_hh.shape[1]
    dt = x._data.dtype
    W = g.const(_reorder(w_ih._data, mode)[None], hint="W")
    R = g.const(_reorder(w_hh._data, mode)[None], hint="R")
    gates = w_ih.shape[0]
    bi = b_ih._data if b_ih is not None else np.zeros(gates, dt)
    bh = b_hh._data if b_hh is not None else np.zeros(gates, dt)
    B = g.const(np.concatenate([_reorder(bi, mode), _reorder(bh, mode)])[None], hint="B")
    def state(t):                                   # (B, H) -> (1, B, H); None -> no input (zeros)
        return g.node("Unsqueeze", [g.value(t), g.const(np.array([0], np.int64))]) if t is not None else ""
    inputs = [g.value(x), W, R, B, "", state(h0)]
    attrs = dict(hidden_size=int(hidden), direction="reverse" if reverse else "forward")
    if mode == "LSTM":
        inputs.append(state(c0))
        y, _, yc = g.node("LSTM", inputs, n_out=3, **attrs)
        y = g.node("Squeeze", [y, g.const(np.array([1], np.int64))])          # (T, 1, B, H) -> (T, B, H)
        return g.node("Concat", [y, yc], axis=0)                               # row T holds c_T
    if mode == "GRU":
        y, _ = g.node("GRU", inputs, n_out=2, linear_before_reset=1, **attrs)
    else:
        act = "Relu" if mode == "RNN_RELU" else "Tanh"
        y, _ = g.node("RNN", inputs, n_out=2, activations=[act], **attrs)
    return g.node("Squeeze", [y, g.const(np.array([1], np.int64))])


def _dropout(g, s):
    raise UnsupportedOperatorError("onnx export: dropout is active (the model is in training mode); call "
                                   "model.eval() before exporting")


def _alias(g, s):
    return g.node("Identity", [g.value(s.inputs[0])])


def _pad(g, s):
    x, widths, value = s.inputs[0], s.params["widths"], s.params["value"]
    pads = [int(a) for a, _ in widths] + [int(b) for _, b in widths]
    return g.node("Pad", [g.value(x), g.const(np.array(pads, np.int64)), g.const(value, x._data.dtype)])


def _log_base(base):
    def conv(g, s):
        x = s.inputs[0]
        return g.node("Div", [g.node("Log", [g.value(x)]), g.const(np.log(base), x._data.dtype)])
    return conv


def _expm1(g, s):
    x = s.inputs[0]
    return g.node("Sub", [g.node("Exp", [g.value(x)]), g.const(1, x._data.dtype)])


_CONVERTERS = {
    "Add": _binary("Add"), "Sub": _binary("Sub"), "Mul": _binary("Mul"), "Div": _binary("Div"),
    "Pow": _binary("Pow"), "Maximum": _binary("Max"), "Minimum": _binary("Min"), "Matmul": _binary("MatMul"),
    "Neg": _unary("Neg"), "Exp": _unary("Exp"), "Log": _unary("Log"), "Sqrt": _unary("Sqrt"),
    "Abs": _unary("Abs"), "Sign": _unary("Sign"), "Sin": _unary("Sin"), "Cos": _unary("Cos"),
    "Tanh": _unary("Tanh"), "Sigmoid": _unary("Sigmoid"), "Relu": _unary("Relu"), "Erf": _unary("Erf"),
    "Tan": _unary("Tan"), "Log2": _log_base(2), "Log10": _log_base(10), "Expm1": _expm1,
    "Gelu": _gelu, "Silu": _silu, "LeakyRelu": _leaky_relu, "Elu": _elu, "Hardtanh": _clip, "Clamp": _clip,
    "Softplus": _softplus, "Softmax": _softmax("Softmax"), "LogSoftmax": _softmax("LogSoftmax"),
    "Linear": _linear, "Reshape": _reshape, "Permute": _permute, "Expand": _expand, "Cast": _cast,
    "Where": _where, "Sum": _sum, "Amax": _amax, "Cat": _cat, "Stack": _stack, "Embedding": _embedding,
    "Tril": _trilu(0), "Triu": _trilu(1), "Normalize": _normalize, "Conv2d": _conv2d, "MaxPool2d": _max_pool,
    "AvgPool2d": _avg_pool, "AttentionWeights": _attention, "Index": _index, "RNNSequence": _rnn,
    "_Alias": _alias, "ConstantPad": _pad, "Dropout": _dropout,
}


def export(model, args, f, export_params=True, verbose=False, training=None, input_names=None,
           output_names=None, opset_version=None, dynamic_axes=None, do_constant_folding=True, dynamo=False,
           **kwargs):
    """Export ``model`` (a Module or function) run on ``args`` (a Tensor or a tuple of them) to the ONNX file
    ``f`` (a path or binary file object). ``input_names`` / ``output_names`` name the graph's inputs and
    outputs; ``dynamic_axes`` ``{name: {axis: "dim_name"}}`` (or a list of axes) marks dims that may vary.

    The model is traced once on ``args``: Python control flow is frozen to the path taken, as in PyTorch's
    tracing exporter. Dropout must be off (``model.eval()``). Returns None."""
    onnx, helper, numpy_helper = _onnx()
    if opset_version is not None and opset_version < OPSET:
        raise ValueError(f"onnx export: chainrule writes opset {OPSET} (LayerNormalization needs it); "
                         f"opset_version={opset_version} is too old")
    if kwargs:
        raise TypeError(f"onnx export: unsupported argument(s) {sorted(kwargs)}")
    if not export_params:
        raise NotImplementedError("onnx export: export_params=False (weights left out of the file) is not "
                                  "supported; the weights are always written")
    args = args if isinstance(args, tuple) else (args,)
    kw_inputs = {}
    if args and isinstance(args[-1], dict):
        args, kw_inputs = args[:-1], args[-1]
    if not all(isinstance(a, Tensor) for a in args):
        raise TypeError("onnx export: args must be Tensors (or a tuple of Tensors, optionally ending in a dict "
                        "of keyword Tensors)")
    was_training = getattr(model, "training", False)
    if training is not None and hasattr(model, "train"):
        model.train(bool(str(training).endswith("TRAINING")) if not isinstance(training, bool) else training)
    inputs = [a.detach() for a in args]
    try:
        with no_grad(), record() as steps:
            out = model(*inputs, **kw_inputs)
    finally:
        if training is not None and hasattr(model, "train"):
            model.train(was_training)
    outs = _flatten(out)                     # (output, (h_n, c_n)) -> output, h_n, c_n, as PyTorch
    if not all(isinstance(o, Tensor) for o in outs):
        raise TypeError("onnx export: the model must return Tensors (or nested tuples/lists of them)")

    g = _Graph(helper, numpy_helper)
    input_names = list(input_names or [f"input_{i}" for i in range(len(inputs))])
    output_names = list(output_names or [f"output_{i}" for i in range(len(outs))])
    if len(input_names) != len(inputs) or len(output_names) != len(outs):
        raise ValueError(f"onnx export: {len(input_names)} input_names for {len(inputs)} inputs / "
                         f"{len(output_names)} output_names for {len(outs)} outputs")
    for t, name in zip(inputs, input_names):
        g.bind(t, name)
    for s in steps:
        conv = _CONVERTERS.get(s.op.__name__)
        if conv is None:
            raise UnsupportedOperatorError(f"onnx export: op '{s.op.__name__}' (from {s.op.__module__}) has no "
                                           f"ONNX conversion in chainrule; supported: "
                                           f"{', '.join(sorted(_CONVERTERS))}")
        g.bind(s.output, conv(g, s))
    for o, name in zip(outs, output_names):
        src = g.value(o)
        g.nodes.append(helper.make_node("Identity", [src], [name]))

    dyn = _dynamic(dynamic_axes or {})
    vi_in = [_value_info(helper, n, t, dyn) for t, n in zip(inputs, input_names)]
    vi_out = [_value_info(helper, n, t, dyn) for t, n in zip(outs, output_names)]
    graph = helper.make_graph(g.nodes, type(model).__name__, vi_in, vi_out, g.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="chainrule")
    proto.ir_version = min(proto.ir_version, 8)
    onnx.checker.check_model(proto)
    if verbose:
        print(helper.printable_graph(graph))
    if hasattr(f, "write"):
        f.write(proto.SerializeToString())
    else:
        onnx.save(proto, f)


def _flatten(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flatten(o)]
    return [out]


def _dynamic(dynamic_axes):
    out = {}
    for name, axes in dynamic_axes.items():
        if isinstance(axes, dict):
            out[name] = {int(k): v for k, v in axes.items()}
        else:
            out[name] = {int(a): f"{name}_dynamic_axes_{i + 1}" for i, a in enumerate(axes)}
    return out


def _value_info(helper, name, t, dyn):
    shape = [dyn.get(name, {}).get(i, d) for i, d in enumerate(t.shape)]
    bad = [i for i in dyn.get(name, {}) if not 0 <= i < t.ndim]
    if bad:
        raise ShapeError(f"onnx export: dynamic_axes for {name!r} name axis {bad[0]}, but it has shape "
                         f"{tuple(t.shape)}")
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(t._data.dtype), shape)
