"""Switches of the engine: is the graph being recorded, is anomaly detection on - per thread, as in PyTorch.

``STATE`` is thread-local: ``no_grad`` in one thread (or the engine switching recording off while it runs a
backward pass) never changes what another thread records. A new thread starts with recording on and anomaly
detection off, whatever the thread that started it had. The flags are read on every op, so they stay plain
attributes: a ``threading.local`` subclass whose class attributes are the defaults (a thread that never
sets a flag reads the class attribute; no per-thread ``__init__`` runs on the hot path).

What is deliberately *not* per thread (as in PyTorch): the default dtype (``set_default_dtype``), the global
random generator (``manual_seed``) and global optimizer step hooks - process-wide settings, not part of one
computation. ``no_grad`` & co. work as context managers and as decorators, like PyTorch's.
"""
import functools
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode"]


class _State(threading.local):
    """Per-thread engine switches; the class attributes are every new thread's starting values."""
    grad_enabled = True
    anomaly = False


STATE = _State()


def is_grad_enabled():
    return STATE.grad_enabled


class _GradModeContext:
    """Base of the grad-mode switches: enter sets the mode, exit restores the previous one."""
    _mode = True
    _bare_decorator = True      # `@no_grad` without parentheses, as PyTorch allows

    def __new__(cls, *args, **kwargs):
        if cls._bare_decorator and len(args) == 1 and not kwargs and callable(args[0]):
            return cls()(args[0])
        return super().__new__(cls)

    def __enter__(self):
        self._prev = STATE.grad_enabled
        STATE.grad_enabled = self._mode

    def __exit__(self, *exc):
        STATE.grad_enabled = self._prev
        return False

    def __call__(self, fn):
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            ctx = _GradModeContext()            # a fresh context per call (keeps nesting/recursion right),
            ctx._mode = mode                    # with this instance's mode (inference_mode(False) & co.)
            with ctx:
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradModeContext):
    """Ops inside do not record the graph: outputs have ``requires_grad=False`` and nothing is saved."""
    _mode = False


class enable_grad(_GradModeContext):
    """Re-enable recording inside a ``no_grad`` block."""
    _mode = True


class inference_mode(_GradModeContext):
    """Same as ``no_grad`` here (chainrule has no separate inference tensors)."""
    _mode = False

    def __init__(self, mode=True):
        self._mode = not mode           # inference_mode(True) switches recording *off*


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(False)`` switches recording off at once; as a context it restores on exit."""
    _bare_decorator = False     # its one argument is the mode

    def __init__(self, mode):
        self._mode = bool(mode)
        self._prev = STATE.grad_enabled
        STATE.grad_enabled = self._mode

    def __enter__(self):
        pass

    def __call__(self, fn):
        STATE.grad_enabled = self._prev    # used as a decorator: don't leave the switch flipped
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper
