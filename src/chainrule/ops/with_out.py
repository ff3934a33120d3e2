"""The ``chainrule.<op>(..., out=t)`` forms of the common ops, as PyTorch's top-level functions take them.

Each wraps the op (which lives with its backward rule in its family file) and writes the result into
``out`` with ``write_out`` (see ``_out.py`` for the rules: resize, safe cast, not differentiable). Methods
(``x.add(y)``) have no ``out=``, as in PyTorch."""
import functools

from . import arithmetic as ar
from . import linalg as la
from . import shape as sh
from . import unary as un
from ..amp.autocast_mode import lower_precision
from ._out import write_out

__all__ = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "clamp", "matmul", "mm", "bmm", "mv",
           "cat", "stack", "exp", "log", "sqrt", "tanh", "sigmoid", "abs", "neg"]


def _with_out(fn, name):
    @functools.wraps(fn)
    def op(*args, out=None, **kwargs):
        return write_out(fn(*args, **kwargs), out, name)
    return op


add = _with_out(ar.add, "add")
sub = _with_out(ar.sub, "sub")
mul = _with_out(ar.mul, "mul")
div = _with_out(ar.div, "div")
pow = _with_out(ar.pow, "pow")
maximum = _with_out(ar.maximum, "maximum")
minimum = _with_out(ar.minimum, "minimum")
clamp = _with_out(ar.clamp, "clamp")
neg = _with_out(ar.neg, "neg")
matmul = _with_out(lower_precision(la.matmul), "matmul")     # (autocast applies to the top-level forms too)
mm = _with_out(lower_precision(la.mm), "mm")
bmm = _with_out(lower_precision(la.bmm), "bmm")
mv = _with_out(la.mv, "mv")
cat = _with_out(sh.cat, "cat")
stack = _with_out(sh.stack, "stack")
exp = _with_out(un.exp, "exp")
log = _with_out(un.log, "log")
sqrt = _with_out(un.sqrt, "sqrt")
tanh = _with_out(un.tanh, "tanh")
sigmoid = _with_out(un.sigmoid, "sigmoid")
abs = _with_out(un.abs, "abs")
