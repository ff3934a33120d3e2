"""Elementwise functions and activations, each with its derivative.

Backward rules use Tensor ops on the saved input/output, so they can be differentiated again.
"""
import math

import numpy as np

from .. import _parallel
from .. import dtypes as _dt
from ..autograd.function import Op
from ..errors import DTypeError
from ..tensor import _make
from ._util import data_of, sigmoid_array, wrap, xp_of, zeros_like
from .arithmetic import scale_by, where


class Exp(Op):
    """y = e^x;   dL/dx = g * y"""
    save_output = True

    @staticmethod
    def forward(ctx, x):
        if type(x) is np.ndarray and x.dtype.kind == "f":
            return _parallel.transcendental(np.exp, x)
        return xp_of(x).exp(x)

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.output,)


class Log(Op):
    """y = ln x;   dL/dx = g / x"""
    save_inputs = True

    @staticmethod
    def forward(ctx, x):
        return xp_of(x).log(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return (g / x,)


class Log1p(Op):
    """y = ln(1 + x);   dL/dx = g / (1 + x)"""
    save_inputs = True

    @staticmethod
    def forward(ctx, x):
        return xp_of(x).log1p(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return (g / (x + 1),)


class Sqrt(Op):
    """y = sqrt(x);   dL/dx = g / (2 y)"""
    save_output = True

    @staticmethod
    def forward(ctx, x):
        return xp_of(x).sqrt(x)

    @staticmethod
    def backward(ctx, g):
        return (g / (ctx.output * 2),)


class Abs(Op):
    """y = |x|;   dL/dx = g * sign(x)   (0 at x = 0)"""
    save_inputs = True

    @staticmethod
    def forward(ctx, x):
        return xp_of(x).abs(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return (g * sign(x),)


class Sign(Op):
    """y = sign(x);   dL/dx = 0"""

    @staticmethod
    def forward(ctx, x):
        if x.dtype == np.bool_:
            return x.copy()                      # sign of a bool is itself (PyTorch); NumPy has no loop for it
        # (x > 0) - (x < 0), as PyTorch: sign(nan) = 0 (NumPy's sign gives nan)
        return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        return (zeros_grad(g),)


class Step(Op):
    """y = f(x) for a piecewise-constant f (floor, ceil, round, trunc);   dL/dx = 0  (as PyTorch)"""

    @staticmethod
    def forward(ctx, x, fn):
        return fn(x)

    @staticmethod
    def backward(ctx, g):
        return (zeros_grad(g),)


def zeros_grad(g):
    """A zero gradient shaped like ``g``: a constant, not ``g * 0`` (which is nan where g is inf or nan)."""
    return zeros_like(g)


class Expm1(Op):
    """y = e^x - 1, exact near 0 (exp(x) - 1 loses every digit below 1e-16);   dL/dx = g (y + 1)"""
    save_output = True

    @staticmethod
    def forward(ctx, x):
        return xp_of(x).expm1(x)

    @staticmethod
    def backward(ctx, g):
        return (g * (ctx.output + 1),)


class Log2(Op):
    """y = log2 x (exact at powers of two);   dL/dx = g / (x ln 2)"""
    save_inputs = True

    @staticmethod
    def forward(ctx, x):
        return xp_of(x).log2(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return (g / (x * math.log(2)),)


class Log10(Op):
    """y = log10 x (exact at powers of ten);   dL/dx = g / (x ln 10)"""
    save_inputs = True

    @staticmethod
    def forward(ctx, x):
        return xp_of(x).log10(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return (g / (x * math.log(10)),)


class Tan(Op):
    """y = tan x;   dL/dx = g (1 + y²)"""
    save_output = True

    @staticmethod
    def forward(ctx, x):
        return xp_of(x).tan(x)

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return (g * (1 + y * y),)


class Sin(Op):
    """y = sin x;   dL/dx = g cos x"""
    save_inputs = True

    @staticmethod
    def forward(ctx, x):
        return xp_of(x).sin(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return (g * cos(x),)


class Cos(Op):
    """y = cos x;   dL/dx = -g sin x"""
    save_inputs = True

    @staticmethod
    def forward(ctx, x):
        return xp_of(x).cos(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return (-g * sin(x),)


class Tanh(Op):
    """y = tanh x;   dL/dx = g (1 - y²)"""
    save_output = True

    @staticmethod
    def forward(ctx, x):
        if type(x) is np.ndarray and x.dtype.kind == "f":
            return _parallel.transcendental(np.tanh, x)
        return xp_of(x).tanh(x)

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return (g * (1 - y * y),)


class Sigmoid(Op):
    """y = 1 / (1 + e^-x);   dL/dx = g y (1 - y)"""
    save_output = True

    @staticmethod
    def forward(ctx, x):
        return sigmoid_array(x)

    @staticmethod
    def backward(ctx, g):
        y = ctx.output
        return (g * y * (1 - y),)


class Relu(Op):
    """y = max(x, 0);   dL/dx = g where not y <= 0  (0 at x = 0; a nan passes g on, as PyTorch)"""
    save_output = True

    @staticmethod
    def forward(ctx, x):
        return xp_of(x).maximum(x, 0)

    @staticmethod
    def backward(ctx, g):
        return (scale_by(g, ~(data_of(ctx.output) <= 0)),)


class LeakyRelu(Op):
    """y = x if x > 0 else slope x;   dL/dx = g (1 or slope)"""
    __slots__ = ("scale",)

    @staticmethod
    def forward(ctx, x, slope):
        pos = x > 0
        ctx.scale = xp_of(x).where(pos, x.dtype.type(1), x.dtype.type(slope))
        return x * ctx.scale

    @staticmethod
    def backward(ctx, g):
        return (scale_by(g, ctx.scale),)


class Elu(Op):
    """y = x if x > 0 else alpha (e^x - 1);   dL/dx = g (1 or y + alpha)"""
    __slots__ = ("alpha", "pos")
    save_output = True

    @staticmethod
    def forward(ctx, x, alpha):
        xp = xp_of(x)
        ctx.alpha, ctx.pos = alpha, ~(x <= 0)         # nan takes the x branch (gradient g), as PyTorch
        return xp.where(ctx.pos, x, alpha * xp.expm1(xp.minimum(x, 0)))

    @staticmethod
    def backward(ctx, g):
        return (where(ctx.pos, g, g * (ctx.output + ctx.alpha)),)


class Hardtanh(Op):
    """y = min(max(x, lo), hi);   dL/dx = g where lo < x < hi.  Bounds exclusive, as PyTorch's hardtanh and
    relu6 (clamp, with the same values, passes the gradient at its bounds); a nan passes g on, as there"""
    __slots__ = ("mask",)

    @staticmethod
    def forward(ctx, x, lo, hi):
        xp = xp_of(x)
        ctx.mask = ~((x <= lo) | (x >= hi))
        return xp.minimum(xp.maximum(x, lo), hi)

    @staticmethod
    def backward(ctx, g):
        return (scale_by(g, ctx.mask),)


class Erf(Op):
    """y = erf x;   dL/dx = g 2/sqrt(pi) e^(-x²)"""
    save_inputs = True

    @staticmethod
    def forward(ctx, x):
        return erf_array(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return (g * (exp(-(x * x)) * (2 / math.sqrt(math.pi))),)


class Gelu(Op):
    """y = x Φ(x) (exact) or its tanh approximation;   dL/dx = g (Φ(x) + x φ(x))"""
    __slots__ = ("approximate", "cdf")
    save_inputs = True

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.approximate = approximate
        half = x.dtype.type(0.5)
        if approximate == "tanh":
            inner = x.dtype.type(math.sqrt(2 / math.pi)) * (x + x.dtype.type(0.044715) * x * x * x)
            return half * x * (1 + xp_of(x).tanh(inner))
        if type(x) is np.ndarray and x.dtype == np.float32 and x.ndim:
            cdf = _normal_cdf_tail_(x, _parallel.blockwise(_normal_cdf_float32, x))
        else:
            cdf = erf_array(x * x.dtype.type(1 / math.sqrt(2)))     # Φ(x) = (1 + erf(x/√2)) / 2
            cdf += 1
            cdf *= half
        ctx.cdf = cdf                    # kept for backward: erf is the costly part, computed once
        return x * cdf

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        if ctx.approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            th = tanh(k * (x + 0.044715 * x * x * x))
            d = 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * (k * (1 + 3 * 0.044715 * x * x))
            return (g * d,)
        return (GeluGrad.apply(g, x, cdf=ctx.cdf),)


class GeluGrad(Op):
    """The exact GELU's backward as an op (Chainer's pattern: one fused pass at first order, and its own
    rule gives the second order).  y = g (Φ(x) + x φ(x)),  φ(x) = e^(-x²/2) / √(2π);
    dL/dg = gy (Φ(x) + x φ(x)),   dL/dx = gy g φ(x) (2 - x²)"""
    __slots__ = ()
    save_inputs = True

    @staticmethod
    def forward(ctx, g, x, cdf):
        if type(x) is np.ndarray and x.ndim and type(g) is np.ndarray and g.shape == x.shape:
            return _parallel.blockwise(_gelu_grad_kernel, g, x, cdf)
        return _gelu_grad_kernel(g, x, cdf, np.empty(np.broadcast_shapes(np.shape(g), x.shape), x.dtype))

    @staticmethod
    def backward(ctx, gy):
        g, x = ctx.saved_tensors
        ng, nx = ctx.needs_input_grad
        pdf = exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
        cdf = 0.5 * (1 + erf(x * (1 / math.sqrt(2))))      # recomputed: its own derivative counts at 3rd order
        return (gy * (cdf + x * pdf) if ng else None,
                gy * g * pdf * (2 - x * x) if nx else None)


def _gelu_grad_kernel(g, x, cdf, out):
    """out = g (Φ(x) + x φ(x)), φ(x) = e^(-x²/2) / √(2π), in place on ``out``."""
    d = np.square(x, out=out)
    d *= x.dtype.type(-0.5)
    xp_of(x).exp(d, out=d)
    d *= x.dtype.type(1 / math.sqrt(2 * math.pi))
    d *= x
    d += cdf
    d *= g
    return d


class Silu(Op):
    """y = x σ(x);   dL/dx = g σ(x) (1 + x (1 - σ(x)))"""
    save_inputs = True

    @staticmethod
    def forward(ctx, x):
        return x * sigmoid_array(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        s = sigmoid(x)
        return (g * (s * (1 + x * (1 - s))),)


class Softplus(Op):
    """y = log(1 + e^(βx)) / β  (= x where βx > threshold);   dL/dx = g σ(βx)"""
    __slots__ = ("beta", "threshold")
    save_inputs = True

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.beta, ctx.threshold = beta, threshold
        bx = x * x.dtype.type(beta)
        xp = xp_of(x)
        return xp.where(bx > threshold, x, xp.logaddexp(x.dtype.type(0), bx) / x.dtype.type(beta))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        bx = x * ctx.beta
        return (where(data_of(bx) > ctx.threshold, g, g * sigmoid(bx)),)


# ---------------------------------------------------------------------- erf without SciPy
# W. J. Cody's rational Chebyshev approximations (Math. Comp. 1969), accurate to ~1e-16 on each range.
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02, 3.20937758913846947e03,
      1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01, 2.98635138197400131e02,
      8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03,
      2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03,
      3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2,
      6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1, 6.05183413124413191e-2,
      2.33520497626869185e-3)


# float32: one rational approximation on [-4, 4] (the one Eigen/XLA use for float erf), evaluated in
# float64 so that only the approximation's own error remains (|error| < 1e-7, about 1.5 float32 ulps near
# ±1; PyTorch's float32 erf: 0.5 ulp). 5x faster than the piecewise float64 path below, whose exp() and
# masks made exact GELU's erf most of a transformer training step.
_ALPHA = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
          -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02)
_BETA = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
         -1.42647390514189e-02)


def _erf_float32(x):
    """erf(x) ≈ x P(x²) / Q(x²) with x clamped to [-4, 4] (erf(4) = 1 - 1.5e-8 rounds to 1 in float32)."""
    xp = xp_of(x)
    c = xp.clip(x.astype(np.float64), -4.0, 4.0)     # (nan stays nan)
    x2 = c * c
    p = _horner(x2, _ALPHA)
    p *= c
    p /= _horner(x2, _BETA)
    return p.astype(np.float32)


_ALPHA32 = tuple(np.float32(a) for a in _ALPHA)
_BETA32 = tuple(np.float32(a) for a in _BETA)


def _normal_cdf_float32(x, out):
    """Φ(x) = (1 + erf(x/√2)) / 2 for exact GELU in float32: the rational approximation above evaluated in
    float32 - 3x faster than in float64, |error| of Φ < 2e-7, i.e. ~2 ulps where Φ > 0.5. Below x = -2.5
    (Φ < 0.0063, ~1 % of normal activations) that absolute error would be a large relative one, and GELU's
    y = x Φ(x) there is recomputed in float64 (PyTorch's float32 GELU has the same cancellation in
    1 + erf, at ~6e-8). The public ``erf`` keeps the float64 evaluation (1.5 ulps)."""
    c = np.multiply(x, np.float32(1 / math.sqrt(2)))
    np.clip(c, np.float32(-4), np.float32(4), out=c)
    x2 = c * c
    q = _horner(x2, _BETA32)
    p = _horner(x2, _ALPHA32, out=out)
    p *= c
    p /= q
    p += np.float32(1)
    p *= np.float32(0.5)
    return p


def _normal_cdf_tail_(x, cdf):
    """Recompute Φ in float64 where x < -2.5 (see ``_normal_cdf_float32``), in place on the fresh
    contiguous ``cdf``. Once for the whole array, after the blocks: few elements, many small NumPy calls."""
    tail = np.flatnonzero(x < np.float32(-2.5))        # (flat indices: nonzero's index tuples are slow)
    if tail.size:
        erf_tail = erf_array(x.reshape(-1)[tail].astype(np.float64) * (1 / math.sqrt(2)))
        cdf.reshape(-1)[tail] = 0.5 * (1 + erf_tail)
    return cdf


def _horner(x2, coeffs, out=None):
    """c0 x2^(n-1) + c1 x2^(n-2) + ... + c_{n-1}, in place on one buffer (``out``, or a new one)."""
    acc = np.multiply(x2, coeffs[0], out=out)
    for c in coeffs[1:-1]:
        acc += c
        acc *= x2
    acc += coeffs[-1]
    return acc


def erf_array(x):
    """erf on an array: float32 by a rational approximation (~1.5 ulps), other dtypes float64
    internally (max error ~1e-16), returned in x's dtype."""
    if x.dtype == np.float32 and x.ndim:
        return _erf_float32(x)
    xp = xp_of(x)
    z = xp.abs(x.astype(np.float64))
    out = xp.array(z, dtype=np.float64)              # a copy (an array even when 0-d); nan stays nan
    small = z <= 0.46875
    mid = (z > 0.46875) & (z <= 4.0)
    big = (z > 4.0) & (z < 6.0)
    out[z >= 6.0] = 1.0                              # erfc(6) = 2e-17 < half an ulp of 1: erf is 1.0 (and inf -> 1)
    if small.any():
        y = z[small]
        ysq = y * y
        num, den = _A[4] * ysq, ysq
        for i in range(3):
            num, den = (num + _A[i]) * ysq, (den + _B[i]) * ysq
        out[small] = y * (num + _A[3]) / (den + _B[3])
    if mid.any():
        y = z[mid]
        num, den = _C[8] * y, y
        for i in range(7):
            num, den = (num + _C[i]) * y, (den + _D[i]) * y
        erfc = (num + _C[7]) / (den + _D[7])
        out[mid] = 1.0 - _exp_sq(y) * erfc
    if big.any():
        y = z[big]
        ysq = 1.0 / (y * y)
        num, den = _P[5] * ysq, ysq
        for i in range(4):
            num, den = (num + _P[i]) * ysq, (den + _Q[i]) * ysq
        r = ysq * (num + _P[4]) / (den + _Q[4])
        erfc = (1.0 / math.sqrt(math.pi) - r) / y
        out[big] = 1.0 - _exp_sq(y) * erfc
    out = xp.copysign(out, x.astype(np.float64))
    return out.astype(x.dtype) if x.dtype != np.float64 else out


def _exp_sq(y):
    # exp(-y²) computed as exp(-ysq16²) exp(-del) to keep precision (Cody's trick)
    ysq = np.trunc(y * 16.0) / 16.0
    d = (y - ysq) * (y + ysq)
    return np.exp(-ysq * ysq) * np.exp(-d)


# ---------------------------------------------------------------------- public functions
def _floatify(x):
    return x if data_of(x).dtype.kind == "f" else x._cast(_dt.get_default_dtype())


def _float_only(x, op):
    """Activations with a non-integer parameter or result (leaky_relu, elu, gelu, silu, softplus) reject
    integer tensors, as PyTorch does, instead of silently truncating their results to integers."""
    if data_of(x).dtype.kind != "f":
        raise DTypeError(f"{op}: expected a floating-point tensor, got {x.dtype} of shape {tuple(x.shape)}. "
                         f"Fix: convert it first, e.g. {op}(x.float()).")
    return x


def exp(x):
    return Exp.apply(_floatify(x))


def log(x):
    return Log.apply(_floatify(x))


def log1p(x):
    return Log1p.apply(_floatify(x))


def log2(x):
    return Log2.apply(_floatify(x))


def log10(x):
    return Log10.apply(_floatify(x))


def expm1(x):
    return Expm1.apply(_floatify(x))


def sqrt(x):
    return Sqrt.apply(_floatify(x))


def rsqrt(x):
    return 1 / sqrt(x)


def reciprocal(x):
    return 1 / _floatify(x)


def square(x):
    return x * x


def abs(x):
    return Abs.apply(x)


def sign(x):
    return Sign.apply(x)


def sin(x):
    return Sin.apply(_floatify(x))


def cos(x):
    return Cos.apply(_floatify(x))


def tan(x):
    return Tan.apply(_floatify(x))


def tanh(x):
    return Tanh.apply(_floatify(x))


def sigmoid(x):
    return Sigmoid.apply(_floatify(x))


def relu(x):
    return Relu.apply(x)


def relu6(x):
    return Hardtanh.apply(x, lo=0, hi=6)


def leaky_relu(x, negative_slope=0.01):
    return LeakyRelu.apply(_float_only(x, "leaky_relu"), slope=negative_slope)


def elu(x, alpha=1.0):
    return Elu.apply(_float_only(x, "elu"), alpha=alpha)


def erf(x):
    return Erf.apply(_floatify(x))


def gelu(x, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(_float_only(x, "gelu"), approximate=approximate)


def silu(x):
    return Silu.apply(_float_only(x, "silu"))


def softplus(x, beta=1.0, threshold=20.0):
    return Softplus.apply(_float_only(x, "softplus"), beta=beta, threshold=threshold)


def floor(x):
    return _no_grad_unary(x, np.floor)


def ceil(x):
    return _no_grad_unary(x, np.ceil)


def round(x, decimals=0):
    return _no_grad_unary(x, lambda a: np.round(a, decimals))


def trunc(x):
    return _no_grad_unary(x, np.trunc)


def _no_grad_unary(x, fn):
    """Piecewise-constant functions: the gradient is zero almost everywhere (as PyTorch)."""
    return Step.apply(x, fn=fn)


def isnan(x):
    return wrap(np.isnan(data_of(x)))


def isinf(x):
    return wrap(np.isinf(data_of(x)))


def isfinite(x):
    return wrap(np.isfinite(data_of(x)))
