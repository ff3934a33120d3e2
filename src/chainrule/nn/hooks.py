"""Module backward hooks, as PyTorch's:

* ``register_full_backward_pre_hook``: ``hook(module, grad_output) -> None or new grad_output``
* ``register_full_backward_hook``:     ``hook(module, grad_input, grad_output) -> None or new grad_input``

A hook needs *all* of a module's input gradients at once (it may replace them together), but chainrule's
nodes have a single output. So the tensors on each side of the module are funnelled through one node:

    x_0, x_1, ...  --Gather-->  d (flat, Σ numel)  --Slot_i-->  x_i'  (same values as x_i)  --> forward

Each ``Slot_i`` sends its gradient into its own segment of d's gradient; the engine sums them, so
``Gather``'s backward runs once, after every slot, with all the gradients side by side: it calls the hooks
and returns the (possibly replaced) gradient of each x_i. The outputs get the same pair, whose Gather sees
grad_output (and runs the pre-hooks). When no input requires grad, the output side also calls the full
hooks, with grad_input = (None, ...), as PyTorch does. Only modules with backward hooks pay for this.
"""
import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import STATE
from ..ops.shape import pad
from ..tensor import Tensor, _make


class _State:
    """What one call of a hooked module shares between its input and output funnels."""

    def __init__(self, module, args, arg_index):
        self.module = module
        self.n_args = len(args)            # positional args of the call: grad_input has one entry per arg
        self.arg_index = arg_index         # which args went through the input funnel
        # PyTorch's grad_input holds zeros (not None) for tensor args that don't require grad, when some do
        self.zero_args = [(i, a._data.shape, a._data.dtype) for i, a in enumerate(args)
                          if isinstance(a, Tensor) and i not in arg_index]
        self.grad_output = ()


class _Gather(Function):
    """n tensors -> one flat placeholder whose gradient collects theirs (see the module docstring)."""

    @staticmethod
    def forward(ctx, side, st, *xs):
        ctx.side, ctx.st = side, st
        ctx.shapes = [x.shape for x in xs]
        ctx.bounds = np.cumsum([0] + [x.numel() for x in xs]).tolist()
        ctx.got = [False] * len(xs)                      # which slots received a gradient this pass
        dtype = np.result_type(*[x._data.dtype for x in xs])
        return _make(np.zeros(ctx.bounds[-1], dtype))

    @staticmethod
    def backward(ctx, g):
        b = ctx.bounds
        grads = [g[b[i]:b[i + 1]].reshape(ctx.shapes[i]) if got else None for i, got in enumerate(ctx.got)]
        ctx.got = [False] * len(ctx.got)                 # ready for another backward (retain_graph)
        st = ctx.st
        if ctx.side == "out":
            st.grad_output = tuple(grads)
            st.grad_output = _run_pre_hooks(st)
            grads = list(st.grad_output)
            if not st.arg_index:                         # no input needs grad: the full hooks run here
                _run_hooks(st, (None,) * st.n_args)
        else:
            grad_input = [None] * st.n_args
            for i, g_i in zip(st.arg_index, grads):
                grad_input[i] = g_i
            for i, shape, dtype in st.zero_args:
                grad_input[i] = _make(np.zeros(shape, dtype))
            new = _run_hooks(st, tuple(grad_input))
            if new is not None:
                grads = [new[i] for i in st.arg_index]
        return (None, None, *grads)


class _Slot(Function):
    """Segment i of a Gather's placeholder, showing the values of the i-th gathered tensor."""

    @staticmethod
    def forward(ctx, d, gather, i, x):         # x comes detached: its gradient must go through d only
        ctx.gather, ctx.i = gather, i
        return x

    @staticmethod
    def backward(ctx, g):
        gather, i = ctx.gather, ctx.i
        gather.got[i] = True
        lo, hi = gather.bounds[i], gather.bounds[i + 1]
        return pad(g.reshape(-1), (lo, gather.bounds[-1] - hi)), None, None, None


def _run_pre_hooks(st):
    grad_output = st.grad_output
    for hook in list(st.module._backward_pre_hooks.values()):
        out = hook(st.module, grad_output)
        if out is not None:
            out = tuple(out) if isinstance(out, (tuple, list)) else (out,)
            if len(out) != len(grad_output):
                raise RuntimeError(f"backward pre-hook of {type(st.module).__name__} returned "
                                   f"{len(out)} gradients, expected {len(grad_output)} (one per output)")
            grad_output = out
    return grad_output


def _run_hooks(st, grad_input):
    """Call the full backward hooks in order; each sees the previous one's replacement. Returns the final
    grad_input if some hook replaced it, else None."""
    result = None
    for hook in list(st.module._backward_hooks.values()):
        out = hook(st.module, grad_input if result is None else result, st.grad_output)
        if out is not None:
            out = tuple(out) if isinstance(out, (tuple, list)) else (out,)
            if len(out) != st.n_args:
                raise RuntimeError(f"backward hook of {type(st.module).__name__} returned {len(out)} "
                                   f"gradients, but the module takes {st.n_args} positional inputs: "
                                   f"return one entry (a Tensor or None) per input")
            result = out
    return result


def _funnel(side, st, tensors):
    """Pass ``tensors`` (all requiring grad) through one Gather node; returns their stand-ins."""
    d = _Gather.apply(side, st, *tensors)
    gather = d.grad_fn
    return [_Slot.apply(d, gather, i, x.detach()) for i, x in enumerate(tensors)]


def wrap_backward_hooks(module, args):
    """Called by ``Module.__call__`` before ``forward`` when the module has backward hooks: returns the
    args with their tensors replaced by stand-ins, and ``finish(output)`` that does the same for outputs."""
    if not STATE.grad_enabled:
        return args, lambda out: out
    arg_index = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a._requires_grad]
    st = _State(module, args, arg_index)
    args = list(args)
    if arg_index:
        for i, new in zip(arg_index, _funnel("in", st, [args[i] for i in arg_index])):
            args[i] = new

    def finish(out):
        outs = list(out) if isinstance(out, tuple) else [out]
        idx = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o._requires_grad]
        if idx:
            for i, new in zip(idx, _funnel("out", st, [outs[i] for i in idx])):
                outs[i] = new
        return tuple(outs) if isinstance(out, tuple) else outs[0]

    return tuple(args), finish
