"""Module full backward hooks: ``hook(module, grad_input, grad_output)``.

The module's tensor inputs and outputs are passed through identity nodes. The output identities record
grad_output as it flows back; the input identities see grad_input, call the hooks, and let a hook replace it.
When no input requires grad, the hooks run with grad_input = (None, ...) once grad_output is complete.
"""
from ..autograd.function import Function
from ..tensor import Tensor


class _State:
    def __init__(self, module, n_in, n_out_tensors):
        self.module = module
        self.grad_output = [None] * n_out_tensors
        self.pending_out = n_out_tensors
        self.grad_input = [None] * n_in
        self.pending_in = 0
        self.input_mask = []


class _OutputIdentity(Function):
    @staticmethod
    def forward(ctx, x, state, index):
        ctx.state, ctx.index = state, index
        return x.detach()

    @staticmethod
    def backward(ctx, g):
        st = ctx.state
        st.grad_output[ctx.index] = g
        st.pending_out -= 1
        if st.pending_out == 0 and st.pending_in == 0:
            _call_hooks(st, tuple(st.grad_input))
        return g, None, None


class _InputIdentity(Function):
    @staticmethod
    def forward(ctx, x, state, index):
        ctx.state, ctx.index = state, index
        return x.detach()

    @staticmethod
    def backward(ctx, g):
        st = ctx.state
        st.grad_input[ctx.index] = g
        st.pending_in -= 1
        if st.pending_in == 0:
            new = _call_hooks(st, tuple(st.grad_input))
            if new is not None:
                st.grad_input = list(new)
        return st.grad_input[ctx.index], None, None


def _call_hooks(st, grad_input):
    result = None
    for hook in list(st.module._backward_hooks.values()):
        out = hook(st.module, grad_input if result is None else result, tuple(st.grad_output))
        if out is not None:
            result = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    return result


def wrap_backward_hooks(module, args):
    state = _State(module, len(args), 0)
    new_args = []
    for i, a in enumerate(args):
        if isinstance(a, Tensor) and a.requires_grad:
            state.pending_in += 1
            new_args.append(_InputIdentity.apply(a, state, i))
        else:
            new_args.append(a)

    def finish(out):
        outs = out if isinstance(out, tuple) else (out,)
        wrapped = []
        n = 0
        for o in outs:
            if isinstance(o, Tensor) and o.requires_grad:
                wrapped.append(_OutputIdentity.apply(o, state, n))
                n += 1
            else:
                wrapped.append(o)
        state.grad_output = [None] * n
        state.pending_out = n
        return tuple(wrapped) if isinstance(out, tuple) else wrapped[0]

    return tuple(new_args), finish
