"""The affine map of a fully-connected layer, fused into one node: y = x Wᵀ + b.

One node instead of transpose + matmul + add keeps the per-layer overhead down on small models; the
backward is the textbook one: dL/dx = g W,  dL/dW = gᵀ x,  dL/db = Σ_batch g.
"""
from ..autograd.function import Op
from ..errors import ShapeError
from ..tensor import Tensor
from .linalg import matmul
from .shape import reshape


class Linear(Op):
    """y = x Wᵀ + b   (x: (..., in), W: (out, in), b: (out,))"""
    save_inputs = True

    @staticmethod
    def forward(ctx, x, w, b):
        if x.ndim > 2:       # one 2-D GEMM, not NumPy's loop over the leading dims (a non-contiguous x is
            # copied by the reshape: O(size) instead of per-slice GEMMs, or no BLAS at all for odd strides)
            y = (x.reshape(-1, x.shape[-1]) @ w.T).reshape(x.shape[:-1] + (w.shape[0],))
        elif x.shape[0] <= 192:
            # (W xᵀ)ᵀ rather than x Wᵀ: for small batches OpenBLAS's transposed-B kernel is markedly slower
            # (64x784 @ 784x200: 230 us vs 270 us, one thread); the result is a transposed view, which the
            # next layer's GEMM reads as a plain C-contiguous xᵀ
            y = (w @ x.T).T
        else:
            y = x @ w.T
        if b is not None:
            y += b
        return y

    @staticmethod
    def backward(ctx, g):
        # one text for both carriers (arrays at first order, Tensors under create_graph): @, .reshape,
        # .sum(0) and .T (g2 is 2-D) mean the same on both
        x, w, b = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad
        flat = g.ndim != 2                   # (..., out) and (out,) as one 2-D GEMM over the rows
        g2 = g.reshape((-1, g.shape[-1])) if flat else g
        gx = gw = gb = None
        if nx:
            gx = (g2 @ w).reshape(tuple(x.shape)) if flat else g2 @ w
        if nw:
            gw = g2.T @ (x.reshape((-1, x.shape[-1])) if flat else x)
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
    if not isinstance(x, Tensor):
        raise TypeError(f"linear(): the input must be a chainrule Tensor, not {type(x).__name__} "
                        f"(convert it with chainrule.tensor(...))")
    if x._data.dtype != weight._data.dtype:
        x = x._cast(weight.dtype)
    if x._data.ndim == 0:
        raise ShapeError("linear: input must have at least 1 dimension, got a 0-d tensor")
    return Linear.apply(x, weight, bias)


def bilinear(x1, x2, weight, bias=None):
    """y_k = Σ_ij x1_i W_kij x2_j + b_k   (x1: (..., in1), x2: (..., in2), W: (out, in1, in2), b: (out,)).

    Composed from differentiable ops, as one GEMM plus a product-sum:
    t = x1 · W' with W' = W permuted to (in1, out·in2), then y_k = Σ_j t_kj x2_j."""
    for name, t in (("input1", x1), ("input2", x2), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"bilinear(): {name} must be a chainrule Tensor, not {type(t).__name__}")
    w = weight._data.shape
    s1, s2 = x1._data.shape, x2._data.shape
    if len(w) != 3:
        raise ShapeError(f"bilinear(): weight must be 3-D (out_features, in1_features, in2_features), got shape {w}")
    if not s1 or not s2:
        raise ShapeError(f"bilinear(): inputs must have at least 1 dimension, got shapes {s1} and {s2}")
    if s1[-1] != w[1]:
        raise ShapeError(f"bilinear(): input1 of shape {s1} does not match the weight {w}: its last dim must be "
                         f"in1_features={w[1]}, got {s1[-1]}")
    if s2[-1] != w[2]:
        raise ShapeError(f"bilinear(): input2 of shape {s2} does not match the weight {w}: its last dim must be "
                         f"in2_features={w[2]}, got {s2[-1]}")
    if s1[:-1] != s2[:-1]:
        raise ShapeError(f"bilinear(): input batch dimensions do not match: input1 {s1} vs input2 {s2} (all "
                         f"but the last dim must be equal)")
    if bias is not None and tuple(bias.shape) != (w[0],):
        raise ShapeError(f"bilinear(): bias must have shape ({w[0]},) (out_features), got {tuple(bias.shape)}")
    if x1._data.dtype != weight._data.dtype:
        x1 = x1._cast(weight.dtype)
    if x2._data.dtype != weight._data.dtype:
        x2 = x2._cast(weight.dtype)
    out, in1, in2 = w
    t = matmul(x1, reshape(weight.permute(1, 0, 2), (in1, out * in2)))      # (..., out·in2)
    y = (reshape(t, s1[:-1] + (out, in2)) * x2.unsqueeze(-2)).sum(-1)      # (..., out)
    return y + bias if bias is not None else y
