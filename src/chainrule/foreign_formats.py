"""Recognising files and objects chainrule will not pickle, and saying what to do instead.

chainrule checkpoints are safetensors files: loading one cannot run code. A PyTorch checkpoint made by
``torch.save`` is a pickle (a zip archive with ``<name>/data.pkl`` inside, or raw pickle bytes from the
legacy format); unpickling runs arbitrary code, so chainrule never does it. These helpers only *look at*
the first bytes (and a zip's file names) and raise an error that says how to convert the file.
"""
import zipfile

__all__ = ["refuse_pytorch_pickle", "refuse_whole_module", "safe_globals", "add_safe_globals", "get_safe_globals",
           "clear_safe_globals"]

_CONVERT = ("Convert it once where PyTorch is installed (and the file is trusted): "
            "import torch, safetensors.torch; sd = torch.load(path, map_location='cpu', weights_only=True); "
            "safetensors.torch.save_file({k: v.contiguous() for k, v in sd.items()}, 'model.safetensors') - "
            "then chainrule.load('model.safetensors') and model.load_state_dict(...).")


def _pickle_protocol(head):
    """Raw pickle bytes start with PROTO (0x80) and a protocol number 2..5."""
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def refuse_pytorch_pickle(fh, name):
    """Raise if the stream ``fh`` (seekable, at its start) holds a PyTorch pickle; leave it where it was."""
    start = fh.tell()
    head = fh.read(9)
    fh.seek(start)
    if head[8:9] == b"{":
        return      # a safetensors file: 8-byte header length, then its JSON header (whatever the length's bytes)
    if head[:4] == b"PK\x03\x04":
        try:
            names = zipfile.ZipFile(fh).namelist()
        except zipfile.BadZipFile:
            names = []
        finally:
            fh.seek(start)
        if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
            raise _error(name, "a PyTorch checkpoint written by torch.save (a zip archive holding a pickle, "
                               "data.pkl)")
        raise _error(name, "a zip archive, not a safetensors checkpoint", convert=False)
    if _pickle_protocol(head):
        raise _error(name, f"a Python pickle (protocol {head[1]}, e.g. torch.save's legacy format)")


def _error(name, what, convert=True):
    from .serialization import CheckpointError   # serialization imports foreign_formats: a cycle
    msg = f"load: {name!r} is {what}. chainrule never unpickles files (unpickling can run arbitrary code)"
    return CheckpointError(msg + (". " + _CONVERT if convert else "; chainrule.load reads safetensors files "
                                  "(as written by chainrule.save)."))


def refuse_whole_module(obj):
    """``save(model)``: a whole Module (or optimiser) would need pickle; say to save its state_dict()."""
    from .nn.module import Module                # nn and optim load on first use, not with serialization
    from .optim.optimizer import Optimizer
    if isinstance(obj, (Module, Optimizer)):
        kind = "Module" if isinstance(obj, Module) else "optimizer"
        raise TypeError(f"save: cannot save a whole {kind} ({type(obj).__name__}): that needs pickle, which "
                        f"chainrule never uses (loading a pickle can run arbitrary code). Save its state instead: "
                        f"chainrule.save(model.state_dict(), path), and later build the model in code and call "
                        f"model.load_state_dict(chainrule.load(path)).")


# ---- torch.serialization's allow-list of pickle globals --------------------------------------------------
# PyTorch's weights_only unpickler loads only allow-listed classes. chainrule never unpickles, so there is
# nothing for the list to unlock: the calls are kept so scripts written for PyTorch run, the list is
# recorded (get_safe_globals shows it), and loading is the same with or without it.
_SAFE_GLOBALS = []


def add_safe_globals(safe_globals):
    """Record ``safe_globals`` (PyTorch's pickle allow-list; chainrule never unpickles, so loading is unchanged)."""
    _SAFE_GLOBALS.extend(safe_globals)


def get_safe_globals():
    return list(_SAFE_GLOBALS)


def clear_safe_globals():
    _SAFE_GLOBALS.clear()


class safe_globals:
    """``with safe_globals([...]):`` - the allow-list for the block (recorded only; see add_safe_globals)."""

    def __init__(self, safe_globals):
        self._globals = list(safe_globals)

    def __enter__(self):
        self._n = len(_SAFE_GLOBALS)
        _SAFE_GLOBALS.extend(self._globals)

    def __exit__(self, *exc):
        del _SAFE_GLOBALS[self._n:]
        return False
