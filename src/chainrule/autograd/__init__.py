"""chainrule.autograd: the reverse-mode engine (``backward``, ``grad``), graph nodes (``Function``),
grad-mode switches, anomaly detection and gradient checking."""
from . import functional
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .engine import backward, grad
from .function import Function, FunctionCtx, once_differentiable
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled

__all__ = ["backward", "grad", "Function", "FunctionCtx", "once_differentiable", "gradcheck", "gradgradcheck",
           "GradcheckError", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
           "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "functional", "Variable"]


def Variable(data, requires_grad=False, volatile=False):
    """Old PyTorch's ``Variable(x)`` (a Tensor since PyTorch 0.4): returns the tensor itself."""
    from ..tensor import Tensor
    from ..creation import tensor
    t = data if isinstance(data, Tensor) else tensor(data)
    if requires_grad:
        t.requires_grad_(True)
    return t
