"""The affine map of a fully-connected layer, fused into one node: y = x Wᵀ + b.

One node instead of transpose + matmul + add keeps the per-layer overhead down on small models; the
backward is the textbook one: dL/dx = g W,  dL/dW = gᵀ x,  dL/db = Σ_batch g.
"""
from ..autograd.function import Op
from ..errors import ShapeError
from ..tensor import Tensor
from .linalg import matmul
from .shape import mT, reshape


class Linear(Op):
    """y = x Wᵀ + b   (x: (..., in), W: (out, in), b: (out,))"""
    save_inputs = True

    @staticmethod
    def forward(ctx, x, w, b):
        if x.ndim > 2 and x.flags.c_contiguous:      # one 2-D GEMM, not NumPy's loop over the leading dims
            y = (x.reshape(-1, x.shape[-1]) @ w.T).reshape(x.shape[:-1] + (w.shape[0],))
        else:
            y = x @ w.T
        if b is not None:
            y += b
        return y

    @staticmethod
    def backward(ctx, g):
        x, w, b = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad
        g2 = reshape(g, (-1, g._data.shape[-1])) if g._data.ndim != 2 else g
        gx = None
        if nx:                                       # (..., out) as one 2-D GEMM with W
            gx = reshape(g2 @ w, x._data.shape) if g._data.ndim > 2 else g @ w
        gw = gb = None
        if nw or nb:
            if nw:
                x2 = reshape(x, (-1, x._data.shape[-1])) if x._data.ndim != 2 else x
                gw = mT(g2) @ x2
            if nb:
                gb = g2.sum(0)
        return gx, gw, gb

    @classmethod
    def explain_error(cls, exc, inputs, params):
        x, w = inputs[0], inputs[1]
        return ShapeError(f"linear: input of shape {tuple(x.shape)} cannot be multiplied by a weight of shape "
                          f"{tuple(w.shape)} (out_features, in_features): the input's last dim must be "
                          f"in_features={w.shape[-1]}, got {x.shape[-1] if x.ndim else 'a 0-d tensor'}. "
                          f"Did you forget to flatten the input (x.flatten(1))?")


def linear(x, weight, bias=None):
    if x._data.dtype != weight._data.dtype:
        x = x._cast(weight.dtype)
    if x._data.ndim == 0:
        raise ShapeError("linear: input must have at least 1 dimension, got a 0-d tensor")
    return Linear.apply(x, weight, bias)


def bilinear(x1, x2, weight, bias=None):
    """y_k = Σ_ij x1_i W_kij x2_j + b_k, composed from differentiable ops."""
    y = matmul(matmul(x1.unsqueeze(-2).unsqueeze(-3), weight), x2.unsqueeze(-2).unsqueeze(-1))
    y = y.reshape(*y.shape[:-2])
    return y + bias if bias is not None else y
