"""Optimizer: the base class of every optimiser - parameter groups, per-parameter state, state_dict, hooks.

Layout and behaviour follow ``torch.optim.Optimizer``:

    param_groups   a list of dicts; each has "params" (a list of Tensors) and every hyper-parameter of the
                   optimiser (the defaults fill what a group leaves out)
    state          a dict Tensor -> dict (e.g. {"step": tensor(3.), "exp_avg": ..., "exp_avg_sq": ...})
    state_dict()   {"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}, the parameters
                   numbered in the order the groups list them (so it can be loaded into a fresh optimiser
                   built over the same parameters in the same order, and training resumes exactly)

The base class owns the step loop, as MLX's ``init_single`` / ``apply_single`` do: a subclass gives
``init_state(group, p, g)`` (the state of a parameter that has none: a dict of arrays) and ``apply(group, hp,
p, g, state, step, fresh)`` (the update, in place with ``out=`` arguments and the scratch buffers of
``_scratch``, so a step allocates nothing of parameter size), and ``scalar_state`` (the 0-d entries such as
``step``, which the base class counts). The base class handles the closure, the hooks, grad mode, lazy state,
step counting and the version counters.

Flat buffers (the idea of PyTorch's ``foreach``/``fused`` kernels): the parameters of one dtype in one group
that have a gradient live in one contiguous buffer (each ``p._data`` a view into it), their gradients are
gathered into a second, each state entry lives in a third, so ``apply`` runs once per group and dtype
whatever the number of tensors. ``state`` keeps PyTorch's per-parameter layout (its Tensors are views into
the state buffers). A parameter whose ``.grad`` is None is left out (its state does not advance, as in
PyTorch); when the parameters' step counts differ (some missed steps) ``apply`` runs per parameter on the
same arrays with the same formula, so both paths give the same bits. Each update bumps the parameter's
version counter, so a backward that saved the old value raises instead of using the new one (as in PyTorch).
"""
import copy
import functools
import itertools
import warnings
from collections import OrderedDict, defaultdict
from itertools import chain

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import STATE
from ..tensor import Tensor, _make

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyper-parameter that every parameter group must set (it has no default)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()

_global_pre_hooks = OrderedDict()
_global_post_hooks = OrderedDict()


def register_optimizer_step_pre_hook(hook):
    """``hook(optimizer, args, kwargs)`` runs before every optimiser's ``step``; returns a removable handle."""
    return _add_hook(_global_pre_hooks, hook)


def register_optimizer_step_post_hook(hook):
    """``hook(optimizer, args, kwargs)`` runs after every optimiser's ``step``."""
    return _add_hook(_global_post_hooks, hook)


_hook_ids = itertools.count()


def _add_hook(store, hook):
    key = next(_hook_ids)
    store[key] = hook
    return _DictHandle(store, key)


class _DictHandle:
    def __init__(self, store, key):
        self._store, self._key = store, key

    def remove(self):
        self._store.pop(self._key, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _scalar_np_dtype():
    """dtype of the 0-d ``step`` / ``mu_product`` tensors: float64 when that is the default, else float32
    (PyTorch's ``_get_scalar_dtype``)."""
    return np.float64 if _dt.get_default_dtype() is _dt.float64 else np.float32


def _step_array(value=0.0):
    """A fresh 0-d ``step``-like state entry, in the scalar dtype."""
    return np.array(value, dtype=_scalar_np_dtype())


def _step_tensor(value=0.0):
    return _make(_step_array(value))


def _num(x, name="value"):
    """A hyper-parameter as a Python float (a 1-element Tensor is accepted, as PyTorch accepts Tensor lr)."""
    if isinstance(x, Tensor):
        if x.numel() != 1:
            raise ValueError(f"Tensor {name} must be 1-element, got shape {tuple(x.shape)}")
        return float(x._data.reshape(()))
    return float(x)


def _typename(obj):
    return type(obj).__module__.split(".")[0] + "." + type(obj).__qualname__ \
        if not isinstance(obj, (int, float, str, type(None))) else type(obj).__name__


def _wrap_step(fn):
    """Every subclass's ``step`` runs without recording the graph (updates are not differentiable), marks
    the optimiser as stepped (the LR schedulers check the call order), and runs the step hooks."""
    @functools.wraps(fn)
    def step(self, *args, **kwargs):
        if self._in_step:               # a subclass's step calling super().step(): already set up
            return fn(self, *args, **kwargs)
        self._opt_called = True
        hooks = bool(_global_pre_hooks or self._step_pre_hooks)
        if hooks:
            for hook in chain(_global_pre_hooks.values(), self._step_pre_hooks.values()):
                res = hook(self, args, kwargs)
                if res is not None:
                    if not (isinstance(res, tuple) and len(res) == 2):
                        raise RuntimeError(f"optimizer step pre-hook {hook} must return None or a tuple "
                                           f"(new_args, new_kwargs), but got {res!r}")
                    args, kwargs = res
        prev = STATE.grad_enabled
        STATE.grad_enabled = False
        self._in_step = True
        try:
            out = fn(self, *args, **kwargs)
        finally:
            self._in_step = False
            STATE.grad_enabled = prev
        if _global_post_hooks or self._step_post_hooks:
            for hook in chain(self._step_post_hooks.values(), _global_post_hooks.values()):
                hook(self, args, kwargs)
        return out
    step._chainrule_step = True
    return step


class Optimizer:
    """Base class of all optimisers.

    ``params``: an iterable of Tensors (e.g. ``model.parameters()``), of ``(name, Tensor)`` pairs
    (``model.named_parameters()``), or of dicts, each a parameter group ``{"params": [...], "lr": ...}``
    with its own hyper-parameters. ``defaults``: the hyper-parameters a group does not set itself.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__ and not getattr(cls.__dict__["step"], "_chainrule_step", False):
            cls.step = _wrap_step(cls.__dict__["step"])

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._step_pre_hooks = OrderedDict()
        self._step_post_hooks = OrderedDict()
        self._in_step = False
        self._opt_called = False
        self._bufs = {}
        self._flat = {}             # id(group) -> (group, its params with a grad, [_FlatBucket])
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params argument given to the optimizer should be an iterable of Tensors "
                            f"or dicts, but got a single {_typename(params)} of shape {tuple(params.shape)}. "
                            f"Fix: pass [tensor] or model.parameters()")
        if isinstance(params, dict):
            raise TypeError(f"{name}: params should be an iterable of Tensors or of dicts (parameter groups), "
                            f"but got one dict; wrap it in a list: [{{'params': ..., ...}}]")
        # PyTorch lets a top-level set through (only a group's set is refused); its order varies between
        # runs, so a saved state_dict would load onto the wrong parameters: refuse both.
        if isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the "
                            "ordering of tensors in sets will change between runs. Please use a list instead.")
        try:
            param_groups = list(params)
        except TypeError:
            raise TypeError(f"{name}: params argument given to the optimizer should be an iterable of Tensors "
                            f"or dicts (e.g. model.parameters()), but got {_typename(params)}") from None
        if len(param_groups) == 0:
            raise ValueError(f"{name}: optimizer got an empty parameter list (a model without parameters, or "
                             f"a model.parameters() generator that was already consumed?)")
        self.state = defaultdict(dict)
        self.param_groups = []
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group):
        """Add a parameter group (a dict with "params" and any per-group hyper-parameters), e.g. to train
        layers that were frozen so far."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group: param_group must be a dict, but got "
                            f"{type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}.add_param_group: the parameter group has no 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        else:
            try:
                params = list(params)
            except TypeError:
                raise TypeError(f"{name}: a group's 'params' must be a Tensor or an iterable of Tensors, got "
                                f"{_typename(params)}") from None
        tensors, names = [], []
        for p in params:
            if isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str):
                names.append(p[0])
                tensors.append(p[1])
            else:
                tensors.append(p)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        for i, p in enumerate(tensors):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: optimizer can only optimize Tensors, but params[{i}] is "
                                f"{_typename(p)}")
            if p.grad_fn is not None and not p.retains_grad:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (params[{i}] was computed by "
                                 f"{type(p.grad_fn).__name__}); optimise the leaf it comes from, or pass "
                                 f"t.detach().requires_grad_() to get a leaf")
        for key, default in self.defaults.items():
            if default is required and key not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter "
                                 f"{key}")
            param_group.setdefault(key, default)
        if len({id(p) for p in tensors}) != len(tensors):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                txt = "with names" if "param_names" in param_group else "without names"
                raise ValueError(f"all optimizer param groups should be with/without names. cannot add param "
                                 f"group {txt} to the optimizer")
        if any(id(p) in seen for p in tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------------ gradients
    def zero_grad(self, set_to_none=True):
        """Reset every parameter's ``.grad``: to None (default; the step then skips it until a new backward),
        or to zeros in place when ``set_to_none=False``."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g._requires_grad = False
                    if not g._data.flags.writeable:
                        g._data = np.zeros_like(g._data)
                    else:
                        g._data.fill(0)
                    g._vc[0] += 1

    def _closure(self, closure):
        if closure is None:
            return None
        prev = STATE.grad_enabled
        STATE.grad_enabled = True
        try:
            return closure()
        finally:
            STATE.grad_enabled = prev

    # ------------------------------------------------------------------ the step loop (flat buffers)
    #: names of the 0-d per-parameter state entries (counters such as ``step``, which the base class
    #: advances before ``apply``); every other state entry is an array of the parameter's shape.
    scalar_state = ()
    #: state entries whose version counter an update bumps (as PyTorch's in-place ops on them do)
    bumped_state = ()

    def init_state(self, group, p, g):
        """The state of a parameter that has none yet, as a dict name -> array: ``p``'s shape for array
        entries, 0-d for the names in ``scalar_state``. ``p``/``g`` are one parameter's arrays or the flat
        buffers of a group's parameters. Default: no state."""
        return {}

    def apply(self, group, hp, p, g, state, step, fresh):
        """Update ``p`` and ``state``'s arrays in place from the gradient ``g``. The arrays are one parameter's
        or the flat buffers of a group's parameters (one formula serves both, so the two paths agree to the
        bit); ``hp`` is ``hyper(group)``, ``step`` this step's count (1 at the first; None without a ``step``
        entry), ``fresh`` whether ``init_state`` made the state in this step."""
        raise NotImplementedError(f"{type(self).__name__} defines neither step() nor apply(); an optimiser "
                                  f"overrides one of them (apply: the update over one group's flat arrays)")

    def hyper(self, group):
        """The group's hyper-parameters as ``apply`` reads them, once per step (``lr`` as a float)."""
        return dict(group, lr=_num(group["lr"], "lr"))

    @_wrap_step
    def step(self, closure=None):
        """Update the parameters from their ``.grad``; ``closure`` (optional) re-evaluates the model and
        returns the loss, which step returns. Each group's parameters of one dtype are updated together, over
        one flat buffer (a handful of NumPy calls whatever their number); parameters whose ``.grad`` is None
        keep their state unchanged, as in PyTorch."""
        loss = self._closure(closure)
        for group in self.param_groups:
            hp = self.hyper(group)
            for bucket in self._buckets(group):
                if not bucket.step(self, group, hp):
                    self._step_each(group, hp, bucket.params)
        return loss

    def _step_each(self, group, hp, params):
        """The per-tensor path, for a bucket whose parameters cannot step together (their states differ in
        age, e.g. after some missed steps, or do not line up)."""
        state = self.state
        for param in params:
            gt = param.grad
            if gt is None:
                continue
            p, g = param._data, gt._data
            if g.shape != p.shape:
                self._check_grad(p, g)
            st = state.get(param)
            fresh = not st
            if fresh:
                new = self.init_state(group, p, g)
                if new:
                    st = state[param]
                    st.update((k, _make(v)) for k, v in new.items())
            arrays = {k: v._data for k, v in st.items()} if st else {}
            self.apply(group, hp, p, g, arrays, self._advance(arrays), fresh)
            param._vc[0] += 1
            if not fresh:
                for k in self.bumped_state:
                    st[k]._vc[0] += 1

    @staticmethod
    def _advance(arrays):
        """Count this step in the ``step`` entry (one parameter's, or all of a bucket's at once)."""
        s = arrays.get("step")
        if s is None:
            return None
        s += 1
        return float(s.flat[0])

    def _buckets(self, group):
        """The flat buckets (one per dtype) of the group's parameters that have a gradient in this step; made
        again when that set changes (parameters that never get one, e.g. an unused layer, stay out)."""
        live = [p for p in group["params"] if p.grad is not None]
        cached = self._flat.get(id(group))
        if cached is not None and cached[0] is group and len(cached[1]) == len(live) \
                and all(a is b for a, b in zip(cached[1], live)):
            return cached[2]
        by_dtype = {}
        for p in live:
            by_dtype.setdefault(p._data.dtype, []).append(p)
        buckets = [_FlatBucket(ps) for ps in by_dtype.values()]
        self._flat[id(group)] = (group, live, buckets)
        return buckets

    # ------------------------------------------------------------------ fast-path helpers for subclasses
    def _scratch(self, like, slot=0):
        """A scratch array of ``like``'s shape and dtype, reused across parameters and steps (never state).
        ``slot`` picks one of several independent buffers."""
        key = (like.dtype, slot)
        flat = self._bufs.get(key)
        n = like.size
        if flat is None or flat.size < n:
            flat = np.empty(n, like.dtype)
            self._bufs[key] = flat
        return flat[:n].reshape(like.shape)

    def _grad_array(self, p, g, weight_decay, maximize):
        """The gradient the update uses: -g if maximize, plus weight_decay * p (L2 penalty). Returns g itself
        when neither applies, else scratch slot 0 (g is never modified)."""
        if weight_decay != 0:
            s = self._scratch(p, 0)
            np.multiply(p, weight_decay, out=s)
            if maximize:
                np.subtract(s, g, out=s)
            else:
                np.add(s, g, out=s)
            return s
        if maximize:
            s = self._scratch(p, 0)
            np.negative(g, out=s)
            return s
        return g

    def _check_grad(self, p, g):
        if g.shape != p.shape:
            raise RuntimeError(f"{type(self).__name__}.step: a parameter of shape {tuple(p.shape)} has a .grad of "
                               f"shape {tuple(g.shape)}; a gradient must have its parameter's shape. Fix: "
                               f"assign a gradient of the right shape (or set .grad = None to skip it)")

    @staticmethod
    def _lerp_(a, b, w, tmp):
        """a <- a + w (b - a) in place, PyTorch's ``lerp_`` formula (its two branches keep it exact at w=0, 1)."""
        np.subtract(b, a, out=tmp)
        if abs(w) < 0.5:
            tmp *= w
            a += tmp
        else:
            tmp *= 1.0 - w
            np.subtract(b, tmp, out=a)

    # ------------------------------------------------------------------ state_dict
    def state_dict(self):
        """The optimiser's state in PyTorch's layout: ``{"state": {index: {...}}, "param_groups": [{...,
        "params": [indices]}]}``; parameters are numbered in group order. As in PyTorch, the tensors in it
        are the live state (saving it writes a snapshot; ``copy.deepcopy`` it to keep one in memory)."""
        mapping = {}
        start = 0

        def pack(group):
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        groups = [pack(g) for g in self.param_groups]
        state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a ``state_dict()`` (from this optimiser class, built over the same parameters in the same
        order). The state is copied (floating-point tensors cast to their parameter's dtype), so the dict can
        be loaded again elsewhere without sharing memory."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups' (as "
                             f"returned by state_dict()), got {type(state_dict).__name__}"
                             + (f" with keys {sorted(map(str, state_dict))}" if isinstance(state_dict, dict) else ""))
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups ({len(saved_groups)}) "
                             f"than the optimizer ({len(groups)})")
        for i, (g, sg) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(sg["params"]):
                raise ValueError(f"loaded state dict contains a parameter group that doesn't match the size of "
                                 f"optimizer's group: group {i} has {len(sg['params'])} parameters in the state "
                                 f"dict and {len(g['params'])} in the optimizer")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def cast(param, value, key=None):
            if isinstance(value, np.ndarray):
                value = _make(value)
            if isinstance(value, Tensor):
                arr = value._data
                if key != "step" and param._data.dtype.kind == "f" and arr.dtype.kind == "f":
                    arr = arr.astype(param._data.dtype, copy=True)
                else:
                    arr = arr.copy()
                return _make(arr)
            if isinstance(value, dict):
                return {k: cast(param, v, k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v) for v in value)
            return copy.deepcopy(value)

        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = cast(param, v)
                self._check_state_shapes(param, state[param], k)
            else:
                state[k] = v

        def update_group(group, new_group):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            for key, default in self.defaults.items():     # keys newer than the saved dict
                new_group.setdefault(key, default)
            return new_group

        self.state = state
        self.param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups)]
        self._flat.clear()          # new group dicts; the parameters are flattened again at the next step

    def _check_state_shapes(self, param, st, index):
        for key, v in st.items():
            if isinstance(v, Tensor) and v._data.ndim and v._data.shape != param._data.shape:
                raise ValueError(f"{type(self).__name__}.load_state_dict: state[{index!r}][{key!r}] has shape "
                                 f"{tuple(v.shape)} but the parameter it belongs to has shape "
                                 f"{tuple(param.shape)}; was the state dict saved from a different model or "
                                 f"parameter order?")

    # ------------------------------------------------------------------ hooks
    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs)`` runs before each ``step``."""
        return _add_hook(self._step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` runs after each ``step``."""
        return _add_hook(self._step_post_hooks, hook)

    def __repr__(self):
        s = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"


class _FlatBucket:
    """The parameters of one dtype in one group, kept in one contiguous buffer (each ``p._data`` a view into
    it), with their gradients gathered into a second one and each state entry in a third: an optimiser's
    ``apply`` then updates them all with a handful of NumPy calls. The per-parameter state Tensors in
    ``optimizer.state`` are views into the state buffers, so ``state_dict`` keeps PyTorch's layout.

    A rebinding of ``p.data`` (or of a state entry, e.g. by ``load_state_dict``) is noticed at the next step
    by an identity check per array, and the buffers are built again from the current arrays."""

    def __init__(self, params):
        self.params = params
        self.distinct = len({id(p) for p in params}) == len(params)
        self.views = None           # each parameter's view into self.flat
        self.grad = None            # the flat gradient buffer
        self.state_views = None     # per parameter: {name: its view into self.state_flat[name]}
        self.state_flat = None      # name -> flat buffer (scalar entries: one element per parameter)

    def step(self, opt, group, hp):
        """One update of every parameter of the bucket over the flat buffers; False (nothing done) when
        they cannot step together, for the per-tensor path to take over."""
        params = self.params
        grads = []
        for p in params:
            gt = p.grad
            if gt is None:
                return False
            g = gt._data
            if g.shape != p._data.shape:
                opt._check_grad(p._data, g)
            grads.append(g)
        if not self.distinct:                    # a parameter listed twice: updated once per listing
            return False
        views = self.views
        if views is None or any(p._data is not v for p, v in zip(params, views)):
            if len({p._data.dtype for p in params}) > 1:   # a parameter changed dtype (e.g. .double())
                opt._flat.pop(id(group), None)             # sort the group into buckets again next step
                return False
            self._flatten_params()
        state = opt.state
        sts = [state.get(p) for p in params]
        fresh = not any(sts)
        if fresh:
            self.state_views = self.state_flat = None
        elif not all(sts):
            return False
        elif not self._state_is_flat(sts) and not self._flatten_state(opt, sts):
            return False
        if self.state_flat is not None:
            for k in opt.scalar_state:          # e.g. parameters that missed steps: not the same count
                s = self.state_flat.get(k)
                if s is not None and s.size > 1 and (s != s[0]).any():
                    return False
        if len(grads) == 1:
            g = grads[0].reshape(-1)
        else:
            if self.grad is None:
                self.grad = np.empty(self.flat.size, self.flat.dtype)
            g = np.concatenate(grads, axis=None, out=self.grad)     # (axis=None: each one raveled)
        p = self.flat
        if fresh:
            new = opt.init_state(group, p, g)
            if new:
                self._adopt_state(opt, new)
        arrays = self.state_flat or {}
        opt.apply(group, hp, p, g, arrays, opt._advance(arrays), fresh)
        for param in params:
            param._vc[0] += 1
        if not fresh and opt.bumped_state:
            for st in sts:
                for k in opt.bumped_state:
                    st[k]._vc[0] += 1
        return True

    def _flatten_params(self):
        """Copy the parameters into one buffer and rebind each ``p._data`` to its view (values unchanged)."""
        arrays = [p._data for p in self.params]
        self.offsets = list(itertools.accumulate((a.size for a in arrays), initial=0))
        self.flat = np.concatenate(arrays, axis=None)
        self.views = [self._view(self.flat, i, a.shape) for i, a in enumerate(arrays)]
        for p, v in zip(self.params, self.views):
            p._data = v
        self.grad = None
        self.state_views = self.state_flat = None      # offsets may have moved: the state follows

    def _view(self, flat, i, shape):
        return flat[self.offsets[i]:self.offsets[i + 1]].reshape(shape)

    def _adopt_state(self, opt, new):
        """State made by ``init_state`` over the flat buffers: scalar entries spread to one per parameter,
        each parameter's state entries views into them."""
        n = len(self.params)
        flat = {}
        for k, v in new.items():
            if k in opt.scalar_state:
                buf = np.empty(n, v.dtype)
                buf[...] = v
                flat[k] = buf
            else:
                flat[k] = v
        self._bind_state(opt, flat)

    def _bind_state(self, opt, flat):
        self.state_flat = flat
        self.state_views = []
        for i, p in enumerate(self.params):
            views = {k: (buf[i:i + 1].reshape(()) if k in opt.scalar_state else self._view(buf, i, p._data.shape))
                     for k, buf in flat.items()}
            self.state_views.append(views)
            st = opt.state[p]
            for k, v in views.items():
                t = st.get(k)
                if t is None:
                    st[k] = _make(v)
                else:
                    t._data = v

    def _state_is_flat(self, sts):
        views = self.state_views
        if views is None:
            return False
        for st, vs in zip(sts, views):
            if len(st) != len(vs):
                return False
            for k, v in vs.items():
                t = st.get(k)
                if t is None or t._data is not v:
                    return False
        return True

    def _flatten_state(self, opt, sts):
        """Gather per-parameter state (loaded, or made on the per-tensor path) into flat buffers; False when
        the entries do not line up (different names, shapes or dtypes)."""
        keys = list(sts[0])
        flat = {}
        for k in keys:
            arrays = []
            for p, st in zip(self.params, sts):
                t = st.get(k)
                if not isinstance(t, Tensor) or len(st) != len(keys):
                    return False
                a = t._data
                want = () if k in opt.scalar_state else p._data.shape
                if a.shape != want or a.dtype != sts[0][k]._data.dtype:
                    return False
                arrays.append(a.reshape(-1))
            if k not in opt.scalar_state and arrays[0].dtype != self.flat.dtype:
                return False
            flat[k] = np.concatenate(arrays)
        self._bind_state(opt, flat)
        return True


def _check_lr(name, lr):
    v = _num(lr, "lr")
    if not 0.0 <= v:
        raise ValueError(f"Invalid learning rate: {v} ({name}'s lr must be >= 0)")


def _check_nonneg(name, what, value):
    if not 0.0 <= value:
        raise ValueError(f"Invalid {what} value: {value} ({name}'s {what} must be >= 0)")


def _check_betas(name, betas):
    try:
        b1, b2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}") from None
    b1, b2 = _num(b1, "betas[0]"), _num(b2, "betas[1]")
    for i, b in enumerate((b1, b2)):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {b} ({name}'s betas must be in [0, 1))")
    return (b1, b2)


def _check_impl_flags(name, differentiable=False, capturable=False, foreach=None, fused=None):
    """foreach/fused/capturable choose among PyTorch's kernels; chainrule has one NumPy implementation (always
    over flat buffers, foreach-like), so they are accepted (and kept in the groups, as in PyTorch's
    state_dict) and change nothing."""
    if differentiable:
        raise NotImplementedError(f"{name}(differentiable=True): differentiating through the optimiser step is "
                                  f"not supported by chainrule")
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
