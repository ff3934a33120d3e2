"""chainrule.autograd: the reverse-mode engine (``backward``, ``grad``), graph nodes (``Function``),
grad-mode switches, anomaly detection and gradient checking."""
import warnings

from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .engine import backward, grad
from .function import Function, FunctionCtx, once_differentiable
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # (eager: the name is also the module's)
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .._lazy import lazy_attributes as _lazy_attributes

# jacobian/hessian and friends, not needed for training: loaded on first use
__getattr__, __dir__ = _lazy_attributes(__name__, {"functional": ".functional"})

__all__ = ["backward", "grad", "Function", "FunctionCtx", "once_differentiable", "gradcheck", "gradgradcheck",
           "GradcheckError", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
           "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "functional", "Variable"]


def Variable(data, requires_grad=False, volatile=False):
    """Old PyTorch's ``Variable(x)`` (a Tensor since PyTorch 0.4): returns the tensor itself. ``volatile`` has no
    effect and warns, as in PyTorch since 0.4."""
    if volatile:
        warnings.warn("volatile was removed and now has no effect. Use `with chainrule.no_grad():` instead.",
                      UserWarning, stacklevel=2)
    from ..tensor import Tensor                  # tensor imports autograd: a cycle
    from ..creation import tensor
    t = data if isinstance(data, Tensor) else tensor(data)
    if requires_grad:
        t.requires_grad_(True)
    return t
