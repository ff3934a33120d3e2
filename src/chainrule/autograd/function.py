"""Graph nodes: one recorded op = one ``Function`` instance, holding what its backward rule needs.

Two ways to define an op, same node underneath:

* ``Function`` - the PyTorch API for users: ``forward(ctx, *args)`` gets Tensors (recording is off inside),
  ``backward(ctx, *grads)`` returns one gradient per forward argument.
* ``Op`` - chainrule's built-in ops: ``forward(ctx, *arrays, **params)`` works on raw arrays (the fast
  path); ``backward(ctx, grad)`` is written once for two carriers - raw arrays at first order, Tensors
  with recording on under ``create_graph=True`` (so grad-of-grad comes for free; see ``Op``).

A node points at its inputs through ``_edges``: ``None`` (no gradient needed), another node, or a leaf
Tensor (whose ``.grad`` receives the gradient). Nodes never point at their own output, so there are no
reference cycles: an output needed by the backward rule is kept as a raw array and rebuilt on demand.
"""
import traceback

import numpy as np

from ..dtypes import from_numpy_dtype
from ..errors import op_error
from .grad_mode import STATE, no_grad
from .names import torch_name

__all__ = ["Function", "Op", "FunctionCtx", "once_differentiable"]

_FREED = ("Trying to backward through the graph a second time (or to read saved tensors after they have "
          "been freed). Saved intermediate values of the graph are freed when you call .backward() or "
          "autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second "
          "time or if you need to access saved tensors after calling backward.")


class _OutputMarker:
    """Stands in ``_saved`` for the op's own output (kept as an array to avoid a node->output cycle)."""
    __slots__ = ()


_OUTPUT = _OutputMarker()
_GONE = object()             # ``_versions`` of a node whose saved values backward freed (see ``Function._freed``)
_SCALARS = (np.generic, bool, int, float)


class Function:
    """A node of the backward graph, and the base class for user-defined differentiable ops.

    Example (the chain rule written out by hand)::

        class Cube(cr.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, grad):
                x, = ctx.saved_tensors
                return grad * 3 * x ** 2      # dL/dx = dL/dy * dy/dx

        y = Cube.apply(x)
    """
    # Written for every recorded op: slots. Set rarely (hooks, retain_grad, anomaly, saved outputs, freeing):
    # class defaults, shadowed in the node's __dict__ when set - recording an op never pays for them.
    __slots__ = ("_edges", "needs_input_grad", "_saved", "_versions", "_shape", "__weakref__", "__dict__")
    is_view = False
    _out = _out_vc = _out_version = None        # the op's own output (save_output), cycle-free
    _pre_hooks = None
    _retain = None                              # weakref to the non-leaf Tensor whose .grad is kept
    _trace = None                               # forward stack, under detect_anomaly
    _view_version = None                        # for a recorded view: its memory's version when taken

    @property
    def _freed(self):
        """Backward ran without retain_graph and dropped what this node saved (the engine marks it by
        setting ``_versions`` to ``_GONE``: a slot write, where a flag of its own would cost every freed
        node an instance dict)."""
        return self._versions is _GONE

    # ---------------------------------------------------------------- what backward rules read
    def save_for_backward(self, *tensors):
        """Keep tensors for backward; an in-place change to any of them before backward is an error."""
        self._saved = tensors
        self._versions = tuple(t._vc[0] if _is_tensor(t) else None for t in tensors)

    @property
    def saved_tensors(self):
        return self.saved_tensors_read()

    def saved_tensors_read(self, *reads):
        """The saved tensors, checked for in-place changes only where ``reads[i]`` is true: the values the
        rule will use. (As PyTorch: a * b needs b's value only for a's gradient, so changing b in place
        is harmless when only b requires grad.) No ``reads``: check them all."""
        saved = self._saved
        if saved is None:
            if self._freed:
                raise RuntimeError(_FREED)
            return ()
        versions = self._versions
        out = []
        for i, t in enumerate(saved):
            if t is _OUTPUT:
                t = self.output
            elif versions[i] is not None and t._vc[0] != versions[i] and (not reads or reads[i]):
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: [{t.dtype.name} tensor of shape {tuple(t.shape)}], saved by "
                    f"{self.name()}, is at version {t._vc[0]}; expected version {versions[i]} instead. "
                    f"Hint: use the out-of-place op (e.g. x = x * 2 instead of x.mul_(2)), or clone() the "
                    f"tensor before changing it.")
            out.append(t)
        return tuple(out)

    @property
    def output(self):
        """The op's own output as a Tensor that belongs to this node (so it is differentiable again)."""
        return _make(self._output_array(), True, self, self._out_vc)

    def _output_array(self):
        if self._out is None:
            raise RuntimeError(_FREED if self._freed else f"{self.name()} did not save its output")
        if self._out_vc[0] != self._out_version:
            raise RuntimeError(
                f"the output of {self.name()} (shape {self._out.shape}) was modified by an inplace operation "
                f"after being saved for backward (version {self._out_vc[0]}, expected {self._out_version}). "
                f"Hint: use the out-of-place op, or clone() the output before changing it.")
        return self._out

    def mark_non_differentiable(self, *tensors):
        """The output is not differentiable (an index, a mask computed in floats): it will not require grad
        and backward will never be called for it, as PyTorch."""
        self.__dict__["_non_differentiable"] = tensors

    def mark_dirty(self, *tensors):
        """forward modified these inputs in place (and returns one of them): their version counters are
        bumped, so a backward that saved their old value fails loudly, as PyTorch."""
        self.__dict__["_dirty"] = tensors

    def set_materialize_grads(self, value):
        """``True`` (the default) is what chainrule does: backward always receives a gradient Tensor. With a
        single output (chainrule's Functions return one Tensor), backward only runs when a gradient reached
        it, so ``False`` changes nothing either - accepted for that reason."""
        if not isinstance(value, bool):
            raise TypeError(f"set_materialize_grads: expected a bool, got {type(value).__name__}")

    # ---------------------------------------------------------------- graph walking
    def name(self):
        return type(self).__name__ + "Backward"

    def __repr__(self):
        return f"<{self.name()}>"

    @property
    def next_functions(self):
        """((node, 0), ...) per input, as PyTorch: a leaf shows as ``AccumulateGrad``; no grad -> (None, 0)."""
        out = []
        for e in self._edges:
            if e is None:
                out.append((None, 0))
            elif isinstance(e, Function):
                out.append((e, 0))
            else:
                out.append((AccumulateGrad(e), 0))
        return tuple(out)

    @property
    def metadata(self):
        d = self.__dict__
        return d.setdefault("_metadata", {})

    def register_prehook(self, hook):
        """``hook(grad_output) -> new grad or None``, called before this node's backward rule."""
        if self._pre_hooks is None:
            self._pre_hooks = []
        self._pre_hooks.append(hook)
        return RemovableHandle(self._pre_hooks, hook)

    # ---------------------------------------------------------------- user-facing apply (PyTorch semantics)
    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("subclasses of Function must implement forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("subclasses of Function must implement backward(ctx, grad)")

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = _new_node(cls)
        needs = tuple(_is_tensor(a) and a._requires_grad for a in args)
        ctx.needs_input_grad = needs
        with no_grad():
            out = cls.forward(ctx, *args, **kwargs)
        if isinstance(out, tuple):
            raise TypeError(f"{cls.__name__}.forward returned a tuple; chainrule Functions return a single "
                            f"Tensor (split a multi-output op into one Function per output)")
        if not _is_tensor(out):
            out = _tensor_factory(out)
        extra = ctx.__dict__
        if "_dirty" in extra:
            for d in extra["_dirty"]:
                if not any(d is a for a in args):
                    raise RuntimeError(f"{cls.__name__}.forward: mark_dirty() was given a tensor that is not an "
                                       f"input of forward; mark only the inputs you modified in place")
                d._vc[0] += 1                    # saved old values of it are now stale: backward will say so
        if not (STATE.grad_enabled and any(needs)):
            return out
        if not out.dtype.is_floating_point:
            return out                           # integer outputs (indices, counts) carry no gradient
        if any(out is n for n in extra.get("_non_differentiable", ())):
            return out.detach() if out._requires_grad else out
        ctx._edges = tuple((a.grad_fn or a) if n else None for a, n in zip(args, needs))
        # what each input's gradient must look like: a user's backward is checked against it
        ctx._in_meta = tuple((a._data.shape, a._data.dtype) if n else None for a, n in zip(args, needs))
        if ctx._saved is not None:               # the output may be among the saved: keep it cycle-free
            ctx._saved = tuple(_OUTPUT if s is out else s for s in ctx._saved)
        result = _make(out._data, True, ctx, out._vc)
        ctx._out, ctx._out_vc, ctx._out_version = out._data, out._vc, out._vc[0]
        ctx._shape = out._data.shape
        if STATE.anomaly:
            ctx._trace = traceback.extract_stack()[:-1]
        return result

    def _call_backward(self, grad):
        """Run the user's rule (always on Tensors); returns a tuple with one entry per edge, on the
        carrier the engine uses (arrays at first order)."""
        raw = not isinstance(grad, _Tensor)
        grads = type(self).backward(self, _make(grad) if raw else grad)
        if not isinstance(grads, tuple):
            grads = (grads,)
        n = len(self._edges)
        if len(grads) < n:
            raise RuntimeError(f"{self.name()}: backward returned {len(grads)} gradients but forward took "
                               f"{n} inputs; return one gradient (or None) per forward argument")
        grads = tuple(_check_grad(self, i, g, meta) for i, (g, meta) in enumerate(zip(grads[:n], self._in_meta)))
        return tuple(None if g is None else g._data for g in grads) if raw else grads


def _check_grad(node, i, g, meta):
    """A user backward's gradient for input ``i``, validated as PyTorch does: a Tensor (or None) of the
    input's shape - or one that broadcasting made larger, summed back - and the input's dtype. Without
    this, a wrong shape would broadcast silently into a wrong gradient further up."""
    if g is None or meta is None:
        return None
    if not _is_tensor(g):
        raise TypeError(f"{node.name()}: backward returned a {type(g).__name__} as the gradient of input {i}; "
                        f"return a chainrule Tensor (or None). Fix: wrap it with chainrule.tensor(...)")
    shape, dtype = meta
    if g._data.shape != shape:
        try:
            ok = np.broadcast_shapes(shape, g._data.shape) == g._data.shape
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index {i} - got shape "
                               f"{tuple(g._data.shape)} but expected shape compatible with {tuple(shape)} (the "
                               f"shape of input {i}). Fix: return one gradient per input, shaped like it")
        from ..ops.shape import sum_to           # the ops import function (Op): a cycle
        g = sum_to(g, shape)
    if g._data.dtype != dtype:
        g = g._cast(from_numpy_dtype(dtype))
    return g


class FunctionCtx(Function):
    """Type of ``ctx`` seen by ``Function.forward`` (kept for API compatibility)."""


class Op(Function):
    """Base of chainrule's built-in ops: ``forward`` on raw arrays, ``backward`` written once for two carriers.

    ``forward(ctx, *arrays, **params)`` computes the output array from input arrays; it may stash plain
    metadata on ``ctx`` (shapes, masks, indices, constants). Class flags say what backward needs:
    ``save_inputs`` -> ``ctx.saved_tensors`` are the inputs; ``save_output`` -> ``ctx.output``;
    ``is_view`` -> the output shares memory (and the version counter) with input 0.

    **An Op applied to raw arrays returns a raw array**: with no Tensor among its inputs, ``apply`` runs
    ``forward`` and nothing else (no Tensor, no node). That is what lets every backward rule be written once.

    ``backward(ctx, g)`` returns one gradient (or None) per input and runs on one of two carriers:

    * first order (``loss.backward()``, ``autograd.grad()``; recording is off): ``g``, ``ctx.saved_tensors``
      and ``ctx.output`` are **NumPy arrays**, and the rule returns arrays - the ops it calls are plain
      NumPy calls, nothing is recorded;
    * ``create_graph=True`` (recording is on): they are **Tensors**, every op of the rule is recorded, so the
      gradient is differentiable again (grad-of-grad is exact, with no second copy of the formula).

    So a rule may use: Python operators (``+ - * / ** @``, unary ``-``, comparisons), ``.shape``/``.ndim``/
    ``.reshape(shape)``, and chainrule's op functions (``sum_to``, ``where``, ``exp``, ``matmul``, ``mT``...),
    which keep the carrier they are given; constants kept on ``ctx`` (masks, indices) mix with either
    carrier. A saved input that was a Python number stays a number. A rule must not reach for one carrier's
    own API (``g._data``, ``g.sum(dim=...)``, ``x.astype``) nor test ``isinstance(x, Tensor)`` to choose
    its math; ``ops/_util.py`` has the carrier-neutral helpers (``data_of``, ``cast_to``, ``is_tensor``...).
    A fused kernel whose backward is too costly to compose from ops puts the raw kernel in the forward of
    a ``*Grad`` Op (Chainer's pattern, as ``ops/conv.py``): its own ``backward`` then gives the second order.
    The engine checks what a rule returns (count, shapes) and names the op when it is wrong.
    """
    __slots__ = ()
    save_inputs = False
    save_output = False
    is_view = False
    @classmethod
    def apply(cls, *inputs, **params):
        # The hottest path of chainrule: every op of every forward pass comes through here, so it is one
        # function, written for the interpreter (one pass to unwrap the inputs, one more only to record).
        Tensor = _Tensor
        arrays = []
        tensor_in = need = False
        for x in inputs:
            if isinstance(x, Tensor):
                tensor_in = True
                if x._requires_grad:
                    need = True
                arrays.append(x._data)
            else:
                arrays.append(x)
        ctx = cls.__new__(cls)                  # its fields are filled only if the op is recorded
        try:
            out = cls.forward(ctx, *arrays, **params) if params else cls.forward(ctx, *arrays)
        except (ValueError, IndexError, TypeError) as exc:
            raise cls.explain_error(exc, inputs, params) from None
        if type(out) is not np.ndarray and isinstance(out, _SCALARS):
            out = np.asarray(out)               # NumPy returns scalars from 0-d ops; a Tensor holds arrays
        if not tensor_in:                       # raw arrays in: a plain function call (backward rules)
            return out
        vc = None
        if cls.is_view and isinstance(inputs[0], Tensor) and np.may_share_memory(out, arrays[0]):
            vc = inputs[0]._vc
        t = Tensor.__new__(Tensor)
        t.grad = t._hooks = None
        t._data = out
        if not (need and STATE.grad_enabled and out.dtype.kind in "fc"):   # integer outputs: no gradient
            t._requires_grad, t.grad_fn, t._vc = False, None, vc or [0]
            return t
        # record: ctx becomes the graph node - edges to the inputs' nodes (or leaves), what backward needs
        edges, needs = [], []
        save = cls.save_inputs
        versions = [] if save else None
        for x in inputs:
            if isinstance(x, Tensor):
                if save:
                    versions.append(x._vc[0])
                if x._requires_grad:
                    edges.append(x.grad_fn or x)
                    needs.append(True)
                    continue
            elif save:
                versions.append(None)
            edges.append(None)
            needs.append(False)
        ctx._edges = tuple(edges)
        ctx.needs_input_grad = tuple(needs)
        ctx._shape = out.shape
        if save:
            ctx._saved, ctx._versions = inputs, tuple(versions)
        else:
            ctx._saved = ctx._versions = None
        if vc is None:
            vc = [0]
        else:                                   # a recorded view: its memory's version when it was taken
            ctx._view_version = vc[0]
        t._requires_grad, t.grad_fn, t._vc = True, ctx, vc
        if cls.save_output:
            ctx._out, ctx._out_vc, ctx._out_version = out, vc, vc[0]
        if VIEWS.rebased:
            _check_stale_views(inputs)
        if STATE.anomaly:
            ctx._trace = traceback.extract_stack()[:-1]
        if VIEWS.observer is not None:          # insight.explain keeps every recorded op's values
            VIEWS.observer(ctx, inputs, out)
        return t

    def saved_tensors_read(self, *reads):
        """As ``Function.saved_tensors_read``, on the carrier of the running rule: arrays at first order."""
        if STATE.grad_enabled or self._saved is None:
            return Function.saved_tensors_read(self, *reads)
        versions, Tensor = self._versions, _Tensor
        out = []
        for i, t in enumerate(self._saved):          # the common case, inlined: unchanged saved inputs
            if isinstance(t, Tensor):
                if t._vc[0] != versions[i] and (not reads or reads[i]):
                    return tuple([x._data if isinstance(x, Tensor) else x
                                  for x in Function.saved_tensors_read(self, *reads)])   # raises
                t = t._data
            elif t is _OUTPUT:
                t = self._output_array()
            out.append(t)
        return tuple(out)

    @property
    def output(self):
        """The op's own output: an array at first order, a Tensor of this node under create_graph."""
        if STATE.grad_enabled:
            return _make(self._output_array(), True, self, self._out_vc)
        return self._output_array()

    def name(self):
        """PyTorch's name for this node (``MulBackward0``, ``AddmmBackward0``...): see ``names.py``."""
        named = self.__dict__.get("_name")          # set by ops built from others (mean: MeanBackward0)
        if named:
            return named
        return torch_name(self)

    @classmethod
    def explain_error(cls, exc, inputs, params):
        """Turn a NumPy error from deep inside into one that names the op, the inputs and the fix."""
        return op_error(cls.__name__.lower(), exc, inputs, params)

    def _call_backward(self, grad):
        return type(self).backward(self, grad)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # the engine calls node._call_backward(g): for an Op that is its backward rule itself, unwrapped
        # from staticmethod so the call binds the node as ctx (one Python call per node, not two)
        rule = cls.__dict__.get("backward")
        if isinstance(rule, staticmethod):
            cls._call_backward = rule.__func__


class _ViewState:
    """Process-wide switches read by every recorded op (each costs one attribute read when off).

    ``rebased``: set once the first in-place op re-bases a tensor under recording (rare): from then on,
    recording an op checks that no input is a view whose memory changed after the view was taken - its
    history would describe the old values, and the gradient would be silently wrong.
    ``observer``: ``fn(node, inputs, out_array)`` called for each recorded op (``insight.record_values``)."""
    __slots__ = ("rebased", "observer")

    def __init__(self):
        self.rebased = False
        self.observer = None


VIEWS = _ViewState()


def _check_stale_views(inputs):
    for x in inputs:
        fn = getattr(x, "grad_fn", None)
        if fn is not None and type(fn).is_view and getattr(fn, "_view_version", None) is not None \
                and x._vc[0] != fn._view_version:
            raise RuntimeError(
                f"a view (shape {tuple(x.shape)}, made by {fn.name()}) is used after the tensor it views was "
                f"modified in place; its recorded history describes the old values, so its gradient would be "
                f"wrong. Take the view after the in-place op, or use out-of-place ops (y = y * x).")


class AccumulateGrad:
    """How a leaf tensor appears in ``next_functions``: the gradient arriving here goes into ``.grad``."""
    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "AccumulateGrad"

    @property
    def next_functions(self):
        return ()

    def __repr__(self):
        return "<AccumulateGrad>"

    def __eq__(self, other):
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self):
        return id(self.variable)


class RemovableHandle:
    """Returned by ``register_hook``; ``handle.remove()`` unregisters the hook."""
    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def once_differentiable(backward):
    """Decorator for a backward that cannot itself be differentiated (runs it with recording off)."""
    def wrapper(ctx, *grads):
        with no_grad():
            return backward(ctx, *grads)
    wrapper.__name__ = getattr(backward, "__name__", "backward")
    return wrapper


def _new_node(cls):
    node = cls.__new__(cls)
    node._edges = ()
    node.needs_input_grad = ()
    node._saved = None
    node._versions = None
    node._shape = None
    return node


def _is_tensor(x):
    return isinstance(x, _Tensor)


# Bound by chainrule.tensor once the Tensor class exists (this module is imported by it).
_Tensor = None
_make = None
_tensor_factory = None


def _bind(tensor_cls, make, factory):
    global _Tensor, _make, _tensor_factory
    _Tensor, _make, _tensor_factory = tensor_cls, make, factory
