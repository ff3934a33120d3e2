"""Error messages that name the op, the inputs' shapes/dtypes and the fix, instead of a NumPy traceback."""


class ShapeError(RuntimeError, ValueError):
    """Shapes that an op cannot combine. Both a RuntimeError (as PyTorch raises) and a ValueError."""


class DTypeError(RuntimeError, TypeError):
    """dtypes that an op cannot take."""


class DivisionByZeroError(RuntimeError, ZeroDivisionError):
    """Integer division or remainder by zero. Both a RuntimeError (as PyTorch raises) and a
    ZeroDivisionError (as Python's ints raise)."""


def describe(x):
    """'(2, 3) float32' for a Tensor, the repr for anything else."""
    if hasattr(x, "_data"):
        return f"{tuple(x._data.shape)} {x._data.dtype}"
    return repr(x)


def op_error(op_name, exc, inputs, params):
    """Wrap ``exc`` (raised by NumPy inside ``op_name``) into a clear chainrule error."""
    shapes = ", ".join(describe(x) for x in inputs)
    extra = "".join(f", {k}={v!r}" for k, v in params.items() if not hasattr(v, "_data"))
    msg = str(exc)
    where = f"{op_name}: inputs {shapes}{extra}"
    if "broadcast" in msg:
        return ShapeError(f"{where}: shapes cannot be broadcast together. Two shapes broadcast when, aligned "
                          f"from the right, each pair of dimensions is equal or one of them is 1. Fix: "
                          f"reshape/unsqueeze one operand so the dimensions line up.")
    if isinstance(exc, IndexError):
        return IndexError(f"{where}: {msg}")
    if isinstance(exc, TypeError) or "ufunc" in msg or "dtype" in msg or "cast" in msg:
        return DTypeError(f"{where}: {msg}. Fix: convert an operand with .float()/.long()/.to(dtype).")
    return ShapeError(f"{where}: {msg}")
