"""chainrule: a deep-learning framework on NumPy whose heart is its own reverse-mode autodiff.

    import chainrule as cr
    x = cr.randn(3, requires_grad=True)
    (x ** 2).sum().backward()       # x.grad == 2 x
"""
import builtins as _builtins
import warnings as _warnings

import numpy as _np

# NumPy reports log(0), 0/0 ... as RuntimeWarnings; PyTorch returns -inf/nan silently, so do we - for
# warnings raised from chainrule's own op code only (a filter costs nothing on the normal path).
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"chainrule\.")

from . import _allocator  # noqa: E402

_allocator.tune()

from . import _openblas  # noqa: E402

_openblas.quiet_idle_threads()

from .dtypes import (bool_ as bool, dtype, float16, float32, float64, get_default_dtype,  # noqa: E402
                     int8, int16,
                     int32, int64, set_default_dtype, uint8, promote_types, result_type as _result_type)
from .tensor import Size, Tensor  # noqa: E402
from .autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # noqa: E402
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state  # noqa: E402
from .creation import *  # noqa: E402,F401,F403
from .creation import bernoulli, logspace, multinomial  # noqa: E402,F401
from .ops.arithmetic import floor_divide, remainder, where  # noqa: E402
from .ops.unary import (ceil, cos, erf, expm1, floor, isfinite, isinf, isnan, log1p, log2,  # noqa: E402
                        log10, reciprocal, relu, round, rsqrt, sign, sin, square, tan, trunc)
from .ops.reduce import (all, amax, amin, any, argmax, argmin, count_nonzero, cumsum, gather, logsumexp,  # noqa: E402
                         max, mean, min, norm, prod, softmax, log_softmax, std, std_mean, sum, take_along_dim,
                         var, var_mean)
from .ops.linalg import dot, einsum, outer  # noqa: E402
from .ops.shape import (broadcast_tensors, broadcast_to, chunk, concat, concatenate, expand, flatten,  # noqa: E402
                        flip, hstack, movedim, narrow, permute, repeat, reshape, split, squeeze, swapaxes,
                        t, tile, transpose, unbind, unflatten, unsqueeze, vstack)
from .ops.index import index_select, masked_fill, masked_select, nonzero  # noqa: E402
from .ops.compare import (allclose, eq, equal, ge, greater, greater_equal, gt, isclose, le, less,  # noqa: E402
                          less_equal, logical_and, logical_not, logical_or, logical_xor, lt, ne, not_equal)
from .ops.inplace import setitem as _setitem  # noqa: E402,F401

from .ops.sorting import argsort, sort, topk, tril, triu  # noqa: E402
# the top-level forms with PyTorch's out= argument (the ops themselves live in their family files)
from .ops.with_out import (abs, add, bmm, cat, clamp, div, exp, log, matmul, maximum, minimum, mm, mul,  # noqa
                           mv, neg, pow, sigmoid, sqrt, stack, sub, tanh)
from .device import accelerator, cuda, device, mps  # noqa: E402,F401
from .backends import get_float32_matmul_precision, set_float32_matmul_precision  # noqa: E402,F401
from .compile import compile  # noqa: E402,F401
from .threads import get_num_threads, set_num_threads  # noqa: E402,F401
from .dtypes import finfo, iinfo  # noqa: E402,F401
from .printing import set_printoptions  # noqa: E402,F401
from .autograd.names import named as _named  # noqa: E402
t, transpose, swapaxes = (_named(t, "TBackward0"), _named(transpose, "TransposeBackward0"),
                          _named(swapaxes, "TransposeBackward0"))
from . import autograd  # noqa: E402,F401
from ._lazy import lazy_attributes as _lazy_attributes  # noqa: E402

# Loaded on first use (``chainrule.nn.Linear``, ``chainrule.save``...): ``import chainrule`` stays close to the
# cost of ``import numpy``. tests/test_lazy_import.py checks none of these loads at import.
__getattr__, __dir__ = _lazy_attributes(__name__, {
    "nn": ".nn", "optim": ".optim", "utils": ".utils", "datasets": ".datasets", "train": ".train",
    "serialization": ".serialization", "save": ".serialization:save", "load": ".serialization:load",
    "amp": ".amp", "autocast": ".amp:autocast", "onnx": ".onnx", "insight": ".insight",
    "distributed": ".distributed", "recipe": ".recipe",
    "bfloat16": ".dtypes:bfloat16",                       # ml_dtypes costs more than NumPy to import
})

float = float32
double = float64
half = float16
long = int64
int = int32
short = int16

clip = clamp
absolute = abs
multiply = mul
divide = div
subtract = sub
negative = neg
true_divide = div


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(x):
    return x.is_floating_point()


def broadcast_shapes(*shapes):
    return Size(_np.broadcast_shapes(*[(s,) if isinstance(s, _builtins.int) else tuple(s) for s in shapes]))


def numel(x):
    return x.numel()


def clone(x):
    return x.clone()


def detach(x):
    return x.detach()


__version__ = "0.1.0"
