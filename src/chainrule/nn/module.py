"""Module: the base class of every layer and model, as ``torch.nn.Module``.

Assigning a Parameter, a Module or a buffer to an attribute registers it, so ``parameters()``,
``state_dict()``, ``train()/eval()`` and ``zero_grad()`` find it. State-dict names are the attribute paths
("fc1.weight"), identical to PyTorch's for the same model, so weights move between the two.
"""
import functools
import weakref
from collections import OrderedDict, namedtuple

import numpy as np

from .. import dtypes as _dt
from ..device import _TYPES, check_device, device
from ..tensor import Tensor
from .parameter import Buffer, Parameter

__all__ = ["Module"]

_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class _Handle:
    """Returned by the register_*_hook methods; ``remove()`` unregisters."""
    _next_id = 0

    def __init__(self, store, *extra_stores):
        self.stores = (store,) + extra_stores
        self.id = _Handle._next_id
        self.module = None                   # weakref to the module, whose ``_hooked`` flag is refreshed
        _Handle._next_id += 1

    def remove(self):
        for store in self.stores:
            store.pop(self.id, None)
        module = self.module() if self.module is not None else None
        if module is not None:
            module._update_hooked()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class Module:
    """Base class for all layers and models. Subclasses define ``forward`` and call ``super().__init__()``."""
    training: bool
    _version = 1
    _hooked = False        # True while some hook is registered on this module (see __call__)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        inherited = cls.__init__
        if cls.__name__.startswith("_") or "__init__" in cls.__dict__ \
                or not inherited.__qualname__.startswith("_"):
            return
        # A public layer that takes its constructor from a private base (Conv2d from _Conv, MSELoss from
        # _Loss): give it an __init__ of its own, so a wrong argument is reported against the class the user
        # called - "Conv2d.__init__() got an unexpected keyword argument 'kernel'", as PyTorch says - and not
        # against the base.
        name = f"{cls.__qualname__}.__init__"

        @functools.wraps(inherited)
        def __init__(self, *args, **kwargs):
            try:
                inherited(self, *args, **kwargs)
            except TypeError as exc:
                if exc.__traceback__.tb_next is not None:     # raised inside the constructor: not ours
                    raise
                raise TypeError(str(exc).replace(inherited.__qualname__, name, 1)) from None

        __init__.__qualname__ = name
        cls.__init__ = __init__

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments; Module.__init__ "
                            f"takes none (call super().__init__() first in your own __init__)")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_backward_hooks"] = OrderedDict()
        d["_backward_pre_hooks"] = OrderedDict()
        d["_forward_pre_hooks_with_kwargs"] = {}     # ids of the hooks that take (and may return) kwargs
        d["_forward_hooks_with_kwargs"] = {}

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        d = self.__dict__
        if "_parameters" not in d:
            if isinstance(value, (Parameter, Module)):
                raise AttributeError(f"cannot assign {type(value).__name__} '{name}' before "
                                     f"Module.__init__() call (call super().__init__() first)")
            object.__setattr__(self, name, value)
            return
        params, modules, buffers = d["_parameters"], d["_modules"], d["_buffers"]
        if isinstance(value, Parameter):
            self._forget(name, "_parameters")
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name, "_modules")
            modules[name] = value
        elif isinstance(value, Buffer):
            self._forget(name, "_buffers")
            buffers[name] = Tensor.detach(value)
            if not getattr(value, "persistent", True):
                d["_non_persistent_buffers"].add(name)
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} as parameter '{name}' "
                                f"(chainrule.nn.Parameter or None expected)")
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} as child module '{name}' "
                                f"(chainrule.nn.Module or None expected)")
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} as buffer '{name}' (Tensor or None expected)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name, keep=None):
        """Drop ``name`` from every place except the store ``keep`` that is about to receive it (there,
        re-assigning keeps its position, so ``seq[1] = m`` stays second, as in PyTorch)."""
        d = self.__dict__
        d.pop(name, None)
        for store in ("_parameters", "_modules", "_buffers"):
            if store != keep:
                d[store].pop(name, None)
        d["_non_persistent_buffers"].discard(name)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if name in d.get(store, {}):
                del d[store][name]
                d["_non_persistent_buffers"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    def register_parameter(self, name, param):
        if "." in name or name == "":
            raise KeyError(f"parameter name can't contain '.' or be empty, got {name!r}")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: '{name}' must be a Parameter or None, got {type(param).__name__}")
        self._forget(name, "_parameters")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is state but not a parameter (e.g. BatchNorm's running mean): in ``state_dict``
        unless ``persistent=False``, moved by ``.to()``, never trained."""
        if "." in name or name == "":
            raise KeyError(f"buffer name can't contain '.' or be empty, got {name!r}")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: '{name}' must be a Tensor or None, got {type(tensor).__name__}")
        self._forget(name, "_buffers")
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module subclass")
        if "." in name or name == "":
            raise KeyError(f"module name can't contain '.' or be empty, got {name!r}")
        self._forget(name, "_modules")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        mod = self
        for part in target.split(".") if target else []:
            if part not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no submodule '{part}' (looking up '{target}')")
            mod = mod._modules[part]
        return mod

    def get_parameter(self, target):
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter '{name}'")
        return mod._parameters[name]

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, mod in self._modules.items():
            if mod is None:
                continue
            yield from mod.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, mod in self._modules.items():
            if mod is not None and id(mod) not in seen:
                seen.add(id(mod))
                yield name, mod

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, store, prefix, recurse, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, value in getattr(mod, store).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield mod_prefix + ("." if mod_prefix else "") + name, value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------------ modes and bulk changes
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for m in self.children():       # through train() (not a flag loop): a child's override is honoured
            m.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                if p.grad.grad_fn is not None:
                    p.grad = p.grad.detach()
                p.grad.zero_()

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule (children first) and on self, e.g. for custom init."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _apply_to_tensors(self, fn):
        for m in self.modules():
            for store in (m._parameters, m._buffers):
                for name, t in store.items():
                    if t is None:
                        continue
                    new = fn(t)
                    if new is not t._data:
                        t._data = new
                        t._vc[0] += 1
                        if t.grad is not None:
                            t.grad._data = fn(t.grad)
        return self

    def to(self, *args, **kwargs):
        """``.to(dtype)`` converts floating parameters and buffers; device 'cpu' is accepted."""
        dtype = kwargs.get("dtype")
        check_device(kwargs.get("device"), "module")
        for a in args:
            if isinstance(a, Tensor):                       # .to(other): take its dtype
                dtype = a.dtype if a.dtype.is_floating_point else None
            elif isinstance(a, device) or isinstance(a, str) and a.split(":")[0] in _TYPES:   # a device
                check_device(a, "module")
            elif a is not None:
                dtype = a
        if dtype is None:
            return self
        dt = _dt.as_dtype(dtype)
        if not dt.is_floating_point:
            raise TypeError(f"Module.to only accepts floating point dtypes, but got desired dtype={dt}")
        return self._apply_to_tensors(lambda t: t._data.astype(dt.np) if t._data.dtype.kind == "f" else t._data)

    def float(self):
        return self.to("float32")

    def double(self):
        return self.to("float64")

    def half(self):
        return self.to("float16")

    def type(self, dst_type):
        return self.to(dst_type)

    def cpu(self):
        return self

    def cuda(self, device=None):
        check_device("cuda", "module")

    def share_memory(self):
        return self

    # ------------------------------------------------------------------ calling
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"Module [{type(self).__name__}] is missing the required \"forward\" function")

    @property
    def __call__(self):
        # A property, not a method: ``module(x)`` fetches the bound ``forward`` and calls it directly, so a
        # layer without hooks costs one forward call - no *args/**kwargs repacking on the way. ``_hooked``
        # (a class default False; set per instance by the register_*_hook methods) keeps the test to one
        # attribute read.
        if self._hooked:
            return self._call_impl
        return self.forward

    def _call_impl(self, *args, **kwargs):
        d = self.__dict__
        pre_kw, post_kw = d["_forward_pre_hooks_with_kwargs"], d["_forward_hooks_with_kwargs"]
        for hid, hook in list(d["_forward_pre_hooks"].items()):
            if hid in pre_kw:
                res = hook(self, args, kwargs)
                if res is not None:
                    if not (isinstance(res, tuple) and len(res) == 2):
                        raise RuntimeError("forward pre-hook registered with with_kwargs=True must return None "
                                           "or a tuple (new_args, new_kwargs)")
                    args, kwargs = res
                    args = args if isinstance(args, tuple) else (args,)
            else:
                res = hook(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        finish = None
        if d["_backward_hooks"] or d["_backward_pre_hooks"]:
            from .hooks import wrap_backward_hooks  # loaded by the first module with backward hooks
            args, finish = wrap_backward_hooks(self, args)
        out = self.forward(*args, **kwargs)
        for hid, hook in list(d["_forward_hooks"].items()):
            res = hook(self, args, kwargs, out) if hid in post_kw else hook(self, args, out)
            if res is not None:
                out = res
        if finish is not None:
            out = finish(out)
        return out

    def _add_hook(self, store, hook, prepend, kw_store=None, with_kwargs=False):
        h = _Handle(store, kw_store) if kw_store is not None else _Handle(store)
        h.module = weakref.ref(self)
        store[h.id] = hook
        if prepend:
            store.move_to_end(h.id, last=False)
        if with_kwargs:
            kw_store[h.id] = True
        self.__dict__["_hooked"] = True
        return h

    def _update_hooked(self):
        d = self.__dict__
        d["_hooked"] = bool(d["_forward_pre_hooks"] or d["_forward_hooks"] or d["_backward_hooks"]
                            or d["_backward_pre_hooks"])

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args) -> None or new args``, run before ``forward``. With ``with_kwargs``:
        ``hook(module, args, kwargs) -> None or (new_args, new_kwargs)``."""
        return self._add_hook(self._forward_pre_hooks, hook, prepend, self._forward_pre_hooks_with_kwargs,
                              with_kwargs)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args, output) -> None or new output``, run after ``forward``. With ``with_kwargs``:
        ``hook(module, args, kwargs, output)``."""
        return self._add_hook(self._forward_hooks, hook, prepend, self._forward_hooks_with_kwargs, with_kwargs)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """``hook(module, grad_output) -> None or new grad_output``, run when the gradients with respect to
        the module's outputs are known, before they flow into the module."""
        return self._add_hook(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output) -> None or new grad_input``, run when the gradients with
        respect to the module's (positional) inputs are computed; a returned tuple replaces them."""
        return self._add_hook(self._backward_hooks, hook, prepend)

    register_backward_hook = register_full_backward_hook

    # ------------------------------------------------------------------ state
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """Name -> tensor for every parameter and persistent buffer ("fc1.weight", "bn.running_mean")."""
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values from ``state_dict`` (chainrule/NumPy arrays, or anything np.asarray accepts).
        With ``strict`` every key must match; shape mismatches are always an error."""
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for k, target in own.items():
            if k not in state_dict:
                continue
            src = _to_array(state_dict[k])
            if tuple(src.shape) != tuple(target.shape):
                mismatched.append(f"size mismatch for {k}: copying a param with shape {tuple(src.shape)} from "
                                  f"checkpoint, the shape in current model is {tuple(target.shape)}.")
        errors = list(mismatched)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        for k, target in own.items():
            if k in state_dict:
                src = _to_array(state_dict[k])
                if assign:                       # take the checkpoint's array itself (and its dtype)
                    target._data = np.array(src)
                else:
                    np.copyto(target._data, src.astype(target._data.dtype, copy=False))
                target._vc[0] += 1
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ repr
    def extra_repr(self):
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, mod in self._modules.items():
            sub = repr(mod).replace("\n", "\n  ")
            lines.append(f"({name}): {sub}")
        main = self._get_name() + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                return main + lines[0] + ")"
            main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


def _to_array(value):
    if isinstance(value, Tensor):
        return value._data
    if hasattr(value, "detach") and hasattr(value, "numpy"):      # e.g. a torch tensor
        return np.asarray(value.detach().numpy())
    return np.asarray(value)
