"""``chainrule run script.py [args...]`` (or ``python -m chainrule.run script.py [args...]``): run an unchanged
PyTorch program with chainrule standing in for PyTorch.

An import hook (a ``sys.meta_path`` finder) resolves

    torch, torch.<sub>...          -> chainrule, chainrule.<sub>...  (torch.nn.modules.rnn, torch.utils.data,
                                      torch.optim.lr_scheduler, torch.cuda.amp, torch.backends.cudnn, ...)
    torchvision.datasets           -> chainrule.datasets   (MNIST, FashionMNIST)
    torchvision.transforms         -> chainrule.datasets.transforms   (ToTensor, Normalize, Compose, Lambda)
    torchvision.utils              -> chainrule.utils.image   (save_image, make_grid; PNG through Pillow)

and prints one line saying so. When the program reaches PyTorch API that chainrule lacks - a module
(``import torch.fft``) or a name (``torch.fft_foo``, ``x.some_method()``) - the error names the PyTorch API
and says chainrule does not support it, instead of an AttributeError deep inside the program.
"""
import argparse
import functools
import importlib
import importlib.abc
import importlib.util
import os
import runpy
import sys
import types

import chainrule

from . import amp
from .tensor import Tensor

__all__ = ["install", "uninstall", "run_script", "register", "main", "NotSupportedError", "NotSupportedModuleError"]


class NotSupportedError(AttributeError):
    """PyTorch API that chainrule does not provide. (An AttributeError, so that a program's own
    ``hasattr(torch, ...)`` feature checks keep working.)"""


class NotSupportedModuleError(ModuleNotFoundError):
    """A PyTorch module chainrule does not provide (a ModuleNotFoundError, for ``try: import ...``)."""


def _unsupported(api):
    cls = NotSupportedModuleError if api.startswith("module ") else NotSupportedError
    return cls(f"{api} is not supported by chainrule (this program runs under `chainrule run`, "
                             f"with chainrule standing in for PyTorch, and chainrule has no equivalent of {api})")


def _cuda_amp():
    """``torch.cuda.amp``: autocast/GradScaler for a CUDA device, which is absent: both disabled (with a
    warning), as PyTorch on a machine without CUDA."""
    mod = types.ModuleType("torch.cuda.amp")
    mod.autocast = functools.partial(amp.autocast, "cuda")
    mod.GradScaler = functools.partial(amp.GradScaler, "cuda")
    return mod


def _cpu_amp():
    mod = types.ModuleType("torch.cpu.amp")
    mod.autocast = functools.partial(amp.autocast, "cpu")
    mod.GradScaler = amp.GradScaler
    return mod


# PyTorch module path -> how to get chainrule's stand-in (a module path, or a function building the object)
_SPECIAL = {
    "torch.cuda": lambda: importlib.import_module("chainrule").cuda,
    "torch.cuda.amp": _cuda_amp,
    "torch.cpu": lambda: types.SimpleNamespace(amp=_cpu_amp()),
    "torch.cpu.amp": _cpu_amp,
    "torch.mps": lambda: importlib.import_module("chainrule").mps,
    "torch.accelerator": lambda: importlib.import_module("chainrule").accelerator,
    "torch.backends.cuda": lambda: importlib.import_module("chainrule.backends").cuda,
    "torch.backends.cudnn": lambda: importlib.import_module("chainrule.backends").cudnn,
    "torch.backends.mps": lambda: importlib.import_module("chainrule.backends").mps,
    "torch.backends.mkldnn": lambda: importlib.import_module("chainrule.backends").mkldnn,
    "torch.backends.openmp": lambda: importlib.import_module("chainrule.backends").openmp,
    "torch.utils.data.dataloader": "chainrule.utils.data.dataloader",
    "torch.utils.data.dataset": "chainrule.utils.data.dataset",
    "torch.utils.data.sampler": "chainrule.utils.data.sampler",
    "torch.autograd.grad_mode": "chainrule.autograd.grad_mode",
    "torchvision": "chainrule.datasets",
    "torchvision.datasets": "chainrule.datasets",
    "torchvision.transforms": "chainrule.datasets.transforms",
    "torchvision.utils": "chainrule.utils.image",
}


def _target(fullname):
    """The chainrule object standing in for PyTorch module ``fullname`` (or raise NotSupportedError)."""
    special = _SPECIAL.get(fullname)
    if callable(special):
        return special()
    path = special or "chainrule" + fullname[len("torch"):]
    try:
        mod = importlib.import_module(path)
    except ModuleNotFoundError as exc:
        if exc.name and path.startswith(exc.name):           # the chainrule module itself is missing
            raise _unsupported(f"module {fullname}") from None
        raise
    if fullname.startswith("torchvision") and fullname not in _SPECIAL:
        raise _unsupported(f"module {fullname}")
    return mod


class _Loader(importlib.abc.Loader):
    def __init__(self, obj):
        self.obj = obj

    def create_module(self, spec):
        return self.obj

    def exec_module(self, module):
        pass


class TorchFinder(importlib.abc.MetaPathFinder):
    """Resolves ``torch`` / ``torchvision`` imports to chainrule (see the module docstring)."""

    def find_spec(self, fullname, path=None, target=None):
        root = fullname.partition(".")[0]
        if root not in ("torch", "torchvision"):
            return None
        if fullname == "torchvision":
            obj = types.ModuleType("torchvision")
            obj.__path__ = []
        else:
            obj = _target(fullname)
        _guard(obj, fullname)
        spec = importlib.util.spec_from_loader(fullname, _Loader(obj), is_package=True)
        return spec


def _guard(obj, api_prefix):
    """Give module ``obj`` a ``__getattr__`` that names the missing PyTorch API (PEP 562). A package's own
    ``__getattr__`` (its lazily loaded names) is asked first."""
    if not isinstance(obj, types.ModuleType) or "_chainrule_guard" in vars(obj):
        return
    own = vars(obj).get("__getattr__")

    def __getattr__(name):
        if own is not None:
            try:
                return own(name)
            except AttributeError:
                pass
        if name.startswith("__"):
            raise AttributeError(name)
        raise _unsupported(f"{api_prefix}.{name}")
    obj.__getattr__ = __getattr__
    obj.__dict__["_chainrule_guard"] = (api_prefix, own)


def _tensor_getattr(self, name):
    if name.startswith("_"):
        raise AttributeError(f"'Tensor' object has no attribute {name!r}")
    raise _unsupported(f"Tensor.{name}")


_finder = None
_hidden = {}        # real torch/torchvision modules set aside by install(), put back by uninstall()


def _torch_module_names():
    return [m for m in sys.modules if m == "torch" or m.startswith(("torch.", "torchvision"))]


def install():
    """Make ``import torch`` (and torchvision's datasets/transforms/utils) resolve to chainrule."""
    global _finder
    if _finder is not None:
        return
    for name in _torch_module_names():          # a real PyTorch imported earlier must not be used, but is
        _hidden[name] = sys.modules.pop(name)   # kept: its C extension cannot be imported a second time
    _finder = TorchFinder()
    sys.meta_path.insert(0, _finder)
    Tensor.__getattr__ = _tensor_getattr        # x.missing_method() names the Tensor API


def uninstall():
    global _finder
    if _finder is None:
        return
    sys.meta_path.remove(_finder)
    _finder = None
    for name in _torch_module_names():
        del sys.modules[name]
    sys.modules.update(_hidden)
    _hidden.clear()
    if "__getattr__" in vars(Tensor):
        del Tensor.__getattr__
    for mod in list(sys.modules.values()):
        if isinstance(mod, types.ModuleType) and "_chainrule_guard" in vars(mod):
            own = mod._chainrule_guard[1]
            del mod.__getattr__
            del mod._chainrule_guard
            if own is not None:
                mod.__getattr__ = own


def run_script(script, args=(), quiet=False):
    """Run ``script`` as ``__main__`` with ``sys.argv = [script, *args]`` and chainrule standing in for torch."""
    if not os.path.isfile(script):
        raise FileNotFoundError(f"chainrule run: no such script: {script!r}")
    if not quiet:
        print(f"chainrule run: 'torch' and 'torchvision' in {os.path.basename(script)} resolve to chainrule "
              f"{chainrule.__version__} (NumPy, CPU)", file=sys.stderr, flush=True)
    install()
    old_argv, old_path0 = sys.argv, sys.path[0] if sys.path else None
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        runpy.run_path(script, run_name="__main__")
    finally:
        sys.argv = old_argv
        if sys.path and sys.path[0] != old_path0:
            del sys.path[0]


def register(subparsers):
    """Add ``run`` to the ``chainrule`` command's subparsers (the CLI calls this)."""
    p = subparsers.add_parser("run", help="run an unchanged PyTorch program with chainrule standing in for torch",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("script", help="the PyTorch program (a .py file)")
    p.add_argument("args", nargs="...", help="the program's own arguments")
    p.set_defaults(func=lambda ns: _main_from_args(ns.script, ns.args))
    return p


def _main_from_args(script, args):
    try:
        run_script(script, args)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m chainrule.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("script")
    ap.add_argument("args", nargs="...")
    ns = ap.parse_args(argv)
    return _main_from_args(ns.script, ns.args)


if __name__ == "__main__":
    sys.exit(main())
