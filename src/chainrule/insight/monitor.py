"""GradientMonitor: per-layer gradient and activation statistics, and alarms that say what is wrong.

Standalone, in a hand-written loop (call ``step`` after ``backward``, before or after ``optimizer.step``,
the same way every iteration)::

    monitor = GradientMonitor(model, every=10)
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        monitor.step(loss)
        optimizer.step()
    print(monitor.summary())

As a ``Trainer`` callback: ``Trainer(..., callbacks=[GradientMonitor(model, every=10)])`` (or
``GradientMonitor(every=10)``: it then watches ``trainer.model``); its alarms also go into
``trainer.history.alarms``.

Every ``every``-th step is *sampled*: forward hooks record the activation statistics of that step's
forward, tensor hooks the gradient w.r.t. each layer's output, and after backward the parameter
gradients; the next step measures the update ‖Δw‖/‖w‖ the optimiser made. Other steps cost one flag test
per hooked module (and one float() of the loss, for the divergence alarm).
"""
import sys

import numpy as np

from ..train.callback import Callback
from . import stats as S
from .alarms import AlarmBook, Thresholds, fmt
from .layers import RELU_LIKE, activations_of, describe, layers_of, saturation_bounds
from .nonfinite import finite, first_nonfinite_op

__all__ = ["GradientMonitor"]


class GradientMonitor(Callback):
    """Watch ``model``'s gradients every ``every`` steps and raise plain-words alarms.

    ``thresholds``: a ``Thresholds`` (see ``chainrule.insight.alarms``); ``histograms``: also keep per-layer
    gradient/activation histograms for ``plot_histograms`` (a little more work per sampled step);
    ``verbose``: print each alarm once, as it fires (to stderr).

    After (or during) training: ``records`` (one dict per sampled step), ``alarms`` (``Alarm`` objects),
    ``summary()`` (text), ``plot_gradient_flow(path)`` / ``plot_histograms(path)`` (PNG, needs matplotlib).
    """

    def __init__(self, model=None, every=10, thresholds=None, histograms=True, verbose=True):
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"GradientMonitor: every must be a positive int (sample every N steps), got {every!r}")
        if thresholds is not None and not isinstance(thresholds, Thresholds):
            raise TypeError(f"GradientMonitor: thresholds must be a chainrule.insight.Thresholds, got "
                            f"{type(thresholds).__name__}")
        self.every = every
        self.th = thresholds or Thresholds()
        self.histograms = histograms
        self.verbose = verbose
        self.records = []
        self.book = AlarmBook()
        self.model = None
        self._handles = []
        self._trainer = None
        if model is not None:
            self.attach(model)

    # ------------------------------------------------------------------ wiring
    def attach(self, model):
        """Hook ``model``'s layers and activations (done by the constructor when given a model)."""
        if self.model is not None:
            if model is self.model:
                return
            raise RuntimeError("GradientMonitor is already attached to another model; call detach() first")
        self.model = model
        self._count = 0                 # steps seen
        self._force = False             # sample the next step whatever the count (after a NaN loss)
        self._paused = False
        self._pending = None            # what this step's hooks saw: {"layers": ..., "activations": ...}
        self._snapshot = None           # weights before the sampled step's update
        self._record = None             # the sampled step's record, waiting for its update ratio
        self._ema = self._loss_min = self._loss_first = None
        self._first_norm = None
        self._streak = {}               # layer -> (sampled updates in a row too small, too large)
        self._dead = {}                 # activation name -> [ever-active mask, batches in window]
        self._act_bins = {}
        self._bad_forward = None
        self._layer_names = {id(m): n for n, m in layers_of(model)}
        self._params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self._w0 = {n: p._data.copy() for n, p in self._params}
        self._owner = {}                # parameter name -> the layer that owns it
        for mname, m in model.named_modules():
            for pn, _ in m.named_parameters(recurse=False):
                self._owner[f"{mname}.{pn}" if mname else pn] = mname or type(m).__name__
        for name, m in layers_of(model):
            self._handles.append(m.register_forward_hook(self._layer_hook(name, m)))
        for name, m in activations_of(model):
            self._handles.append(m.register_forward_hook(self._activation_hook(name, m)))
        self._handles.append(model.register_forward_hook(self._root_hook))

    def detach(self):
        """Remove every hook (statistics and alarms so far stay readable)."""
        for h in self._handles:
            h.remove()
        self._handles = []

    @property
    def alarms(self):
        return self.book.alarms

    @property
    def sampling(self):
        """True if the current step is sampled."""
        return not self._paused and (self._force or self._count % self.every == 0)

    def _step_state(self):
        if self._pending is None:
            self._pending = {"layers": {}, "activations": {}, "order": []}
        return self._pending

    # ------------------------------------------------------------------ forward hooks
    def _layer_hook(self, name, module):
        def hook(mod, args, out):
            if not self.sampling or not mod.training:
                return
            st = self._step_state()
            st["order"].append(name)
            entry = st["layers"].setdefault(name, {})
            if self._bad_forward is None and hasattr(out, "_data") and not finite(out):
                self._note_bad_forward(name, mod, args)
            if getattr(out, "requires_grad", False):
                def grab(g, entry=entry):
                    entry["out_grad_rms"] = S.output_grad_rms(g._data)
                    if not finite(g) and "first_nonfinite_grad" not in st:
                        st["first_nonfinite_grad"] = name
                out.register_hook(grab)
        return hook

    def _activation_hook(self, name, module):
        bounds = saturation_bounds(module)
        relu = isinstance(module, RELU_LIKE)

        def hook(mod, args, out):
            if not self.sampling or not mod.training or not hasattr(out, "_data"):
                return
            a = out._data
            st = self._step_state()
            if self._bad_forward is None and not finite(a):
                self._note_bad_forward(name, mod, args)
            sample = S.strided_sample(a)
            rec = S.activation_stats(sample, bounds)
            if relu:
                act = S.active_units(a)                 # per unit: needs every value, not a sample
                rec["dead_batch"] = float(1.0 - act.mean())
                mask, n = self._dead.get(name, (None, 0))
                mask = act if mask is None or mask.shape != act.shape else (mask | act)
                n += 1
                if n >= self.th.dead_window:
                    rec["dead"] = float(1.0 - mask.mean())
                    mask, n = None, 0
                self._dead[name] = (mask, n)
            if self.histograms:
                if name not in self._act_bins:
                    lo, hi = bounds if bounds else (float(sample.min()), float(sample.max()) or 1.0)
                    self._act_bins[name] = np.linspace(lo, hi if hi > lo else lo + 1, 41)
                rec["hist"] = S.uniform_histogram(sample, self._act_bins[name])
            st["activations"][name] = rec
        return hook

    def _root_hook(self, mod, args, out):
        if self.sampling and mod.training and self._bad_forward is None and hasattr(out, "_data") \
                and not finite(out):
            self._note_bad_forward(self._layer_names.get(id(mod), type(mod).__name__), mod, args)

    def _note_bad_forward(self, name, module, args):
        """A module's output holds NaN/Inf: name the cause (bad inputs, bad weights, or the op)."""
        if not all(finite(a) for a in args if hasattr(a, "_data")):
            return                      # an earlier module is to blame; its hook saw it first
        what = f"{name!r} ({describe(module)})"
        bad = [pn for pn, p in module.named_parameters() if not finite(p)]
        if bad:
            cause = (f"its parameter {bad[0]!r} already holds NaN/Inf: an earlier update was non-finite "
                     f"(exploding gradients); lower the learning rate or clip gradients "
                     f"(chainrule.nn.utils.clip_grad_norm_)")
        else:
            op = first_nonfinite_op(module, *args)
            cause = (f"op {op[0]} turned finite inputs into NaN/Inf at {op[1]}; guard its input "
                     f"(clamp, add an epsilon) or lower the learning rate" if op else
                     "its output holds NaN/Inf from finite inputs and weights")
        self._bad_forward = (name, f"forward of layer {what} produced NaN/Inf: {cause}")

    # ------------------------------------------------------------------ per step
    def step(self, loss=None):
        """Call once per training iteration, after ``loss.backward()``. ``loss`` (optional) feeds the
        divergence alarm."""
        if self.model is None:
            raise RuntimeError("GradientMonitor.step(): no model; create it as GradientMonitor(model, ...)")
        self._finish_update()
        if loss is not None:
            self.observe_loss(loss)
        if self.sampling:
            self._collect()
            self._take_snapshot()
        self._end_step()

    def observe_loss(self, loss):
        """Feed one step's loss (a Tensor or number) to the divergence alarm."""
        v = float(loss.item() if hasattr(loss, "item") else loss)
        if v != v or v in (float("inf"), float("-inf")):
            self._alarm("divergence", "", f"the loss became {v} at step {self._count}: training diverged; "
                        f"lower the learning rate, clip gradients, or look for a log(0)/division by 0 in the loss")
            self._force = True
            return
        th = self.th
        self._ema = v if self._ema is None else th.beta * self._ema + (1 - th.beta) * v
        if self._loss_first is None:
            self._loss_first = v
        self._loss_min = self._ema if self._loss_min is None else min(self._loss_min, self._ema)
        if self._ema > th.divergence_factor * self._loss_min and self._ema > self._loss_first:
            self._alarm("divergence", "", f"the loss is diverging: smoothed loss {fmt(self._ema)} is "
                        f"{fmt(self._ema / self._loss_min)}× its minimum {fmt(self._loss_min)} (step {self._count}); "
                        f"lower the learning rate (try chainrule.insight.lr_find)")

    def _end_step(self):
        if self.sampling:
            self._force = False
        self._pending = None
        self._count += 1

    def _collect(self):
        """Parameter-gradient statistics of a sampled step, then the alarms they imply."""
        st = self._step_state()
        rec = {"step": self._count, "params": {}, "layers": {}, "activations": st["activations"]}
        sq = 0.0
        for n, p in self._params:
            if p.grad is None:
                continue
            s = S.grad_stats(p.grad._data, p._data, self._w0[n])
            rec["params"][n] = s
            sq += s["grad_norm"] ** 2
            lname = self._owner.get(n, n)
            layer = rec["layers"].setdefault(lname, {"grad_norm": 0.0})
            layer["grad_norm"] = float(np.sqrt(layer["grad_norm"] ** 2 + s["grad_norm"] ** 2))
            if self.histograms:
                h = S.log_abs_histogram(S.strided_sample(p.grad._data))
                layer["hist"] = layer["hist"] + h if "hist" in layer else h
        for lname, seen in st["layers"].items():
            rec["layers"].setdefault(lname, {}).update(
                {k: v for k, v in seen.items() if k in ("out_grad_rms",)})
        rec["order"] = [n for n in dict.fromkeys(st["order"])]
        rec["total_grad_norm"] = float(np.sqrt(sq))
        self.records.append(rec)
        self._record = rec
        self._check_gradients(rec, st)
        self._check_activations(rec)

    def _take_snapshot(self):
        self._snapshot = {n: p._data.copy() for n, p in self._params if p.grad is not None}

    def _finish_update(self):
        """The update ratio of the last sampled step, now that the optimiser has stepped."""
        if self._snapshot is None or self._record is None:
            return
        rec, snap = self._record, self._snapshot
        self._snapshot = None
        ratios = {}
        for n, p in self._params:
            if n in snap and n in rec["params"]:
                r = S.update_ratio(snap[n], p._data)
                rec["params"][n]["update_ratio"] = r
                lname = self._owner.get(n, n)
                if p.ndim >= 2 and np.isfinite(r):      # weight matrices / kernels: biases may start at 0
                    rec["layers"][lname]["update_ratio"] = ratios[lname] = r
        self._check_updates(ratios)

    # ------------------------------------------------------------------ alarms
    def _alarm(self, kind, layer, message):
        alarm = self.book.raise_(kind, layer, self._count, message)
        if alarm is None:
            return
        if self.verbose and getattr(self._trainer, "is_global_zero", True):
            print(f"[chainrule.insight] {alarm}", file=sys.stderr)
        history = getattr(self._trainer, "history", None)
        if hasattr(history, "alarm"):           # the Trainer's History: listed in its end-of-run summary
            history.alarm(alarm.message, source=f"GradientMonitor ({alarm.kind})",
                          epoch=getattr(self._trainer, "epoch", None), step=alarm.step)
        elif isinstance(getattr(history, "alarms", None), list):
            history.alarms.append(alarm.to_dict())

    def _label(self, lname):
        m = dict(layers_of(self.model)).get(lname)
        return f"layer {lname!r} ({describe(m)})" if m is not None else f"layer {lname!r}"

    def _check_gradients(self, rec, st):
        th = self.th
        total = rec["total_grad_norm"]
        if not np.isfinite(total):
            if self._bad_forward is not None:
                name, msg = self._bad_forward
                self._alarm("nonfinite", name, msg)
            else:
                where = st.get("first_nonfinite_grad")
                self._alarm("nonfinite", where or "", (
                    f"gradients hold NaN/Inf ({'first seen in backward at ' + self._label(where) if where else 'forward was finite'}); "
                    f"rerun one step inside chainrule.autograd.detect_anomaly() to name the backward op, "
                    f"and lower the learning rate or clip gradients"))
            return
        if self._first_norm is None and total > 0:
            self._first_norm = total
        elif self._first_norm and total > th.growth * self._first_norm:
            self._alarm("exploding", "", f"the total gradient norm grew to {fmt(total)}, "
                        f"{fmt(total / self._first_norm)}× its first sampled value {fmt(self._first_norm)} - "
                        f"exploding gradients; clip gradients (clip_grad_norm_), lower the learning rate")
        layered = [n for n in rec["order"] if rec["layers"].get(n, {}).get("out_grad_rms") is not None]
        if len(layered) < 2:
            return
        first, last = layered[0], layered[-1]
        g_first, g_last = rec["layers"][first]["out_grad_rms"], rec["layers"][last]["out_grad_rms"]
        if g_last <= 0:
            return
        ratio = g_first / g_last
        if ratio < th.vanishing_ratio:
            sat = self._saturation_note(rec)
            self._alarm("vanishing", first, (
                f"{self._label(first)}: gradient w.r.t. its output has RMS {fmt(g_first)}, {fmt(ratio)}× "
                f"{self._label(last)}'s - vanishing gradients{sat}; try Xavier/He init "
                f"(chainrule.nn.init), ReLU, or batch norm"))
        elif ratio > th.exploding_ratio:
            self._alarm("exploding", first, (
                f"{self._label(first)}: gradient w.r.t. its output has RMS {fmt(g_first)}, {fmt(ratio)}× "
                f"{self._label(last)}'s - exploding gradients; scale the init down (Xavier/He), "
                f"add normalisation, or clip gradients"))

    def _saturation_note(self, rec):
        worst = max(((a.get("saturated", 0.0), n) for n, a in rec["activations"].items()), default=(0.0, None))
        if worst[1] is not None and worst[0] >= self.th.saturated_frac:
            return f"; {worst[0]:.0%} of {worst[1]!r}'s outputs are saturated"
        return ""

    def _check_activations(self, rec):
        th = self.th
        acts = dict(activations_of(self.model))
        for name, a in rec["activations"].items():
            kind = type(acts[name]).__name__ if name in acts else "activation"
            if a.get("dead", 0.0) > th.dead_frac:
                self._alarm("dead", name, (
                    f"activation {name!r} ({kind}): {a['dead']:.0%} of its units were never active over "
                    f"{th.dead_window} sampled batches - dead ReLUs (their gradient is exactly 0); lower the "
                    f"learning rate, use He init, LeakyReLU/GELU, or check for a large negative bias"))
            if a.get("saturated", 0.0) > th.saturated_frac:
                self._alarm("saturated", name, (
                    f"activation {name!r} ({kind}): {a['saturated']:.0%} of its outputs are within 1 % of "
                    f"its bounds - saturated, so almost no gradient passes; use Xavier init, normalise the "
                    f"inputs, add batch norm, or switch to ReLU"))

    def _check_updates(self, ratios):
        """Update ratios out of band on ``patience`` sampled steps in a row (a single large first step is
        normal). Too small: one alarm naming every such layer; too large: one per layer."""
        th = self.th
        for lname, r in ratios.items():
            low, high = self._streak.get(lname, (0, 0))
            self._streak[lname] = (low + 1 if r < th.update_low else 0, high + 1 if r > th.update_high else 0)
        slow = [n for n in ratios if self._streak[n][0] >= th.patience]
        if slow:
            rs = [ratios[n] for n in slow]
            self._alarm("update", "", (
                f"{', '.join(self._label(n) for n in slow)}: updates ‖Δw‖/‖w‖ = {fmt(min(rs))}..{fmt(max(rs))}, "
                f"orders of magnitude below ~1e-3 - these layers barely learn (vanishing gradient or learning "
                f"rate too small); fix the init (Xavier/He) or raise the learning rate"))
        for lname, r in ratios.items():
            if self._streak[lname][1] >= th.patience:
                self._alarm("update", lname, (
                    f"{self._label(lname)}: updates ‖Δw‖/‖w‖ = {fmt(r)}, far above ~1e-3 - each step rewrites "
                    f"{r:.0%} of the weights; lower the learning rate"))

    # ------------------------------------------------------------------ Trainer events
    def on_fit_begin(self, trainer):
        self._trainer = trainer
        if self.model is None:
            self.attach(trainer.model)

    def on_before_backward(self, trainer, loss):
        self.observe_loss(loss)

    def on_before_optimizer_step(self, trainer, optimizer):
        if self.sampling:
            self._collect()
            self._take_snapshot()

    def on_batch_end(self, trainer, batch_idx, logs):
        self._finish_update()
        self._end_step()

    def on_validation_begin(self, trainer):
        self._paused = True

    def on_validation_end(self, trainer, logs):
        self._paused = False

    def on_fit_end(self, trainer):
        self._finish_update()

    # ------------------------------------------------------------------ reports
    def summary(self):
        """The last sampled step per layer, and every alarm raised, as text."""
        lines = []
        if self.records:
            rec = self.records[-1]
            lines.append(f"gradient monitor: {len(self.records)} sampled steps (every {self.every}); last at "
                         f"step {rec['step']}, total gradient norm {fmt(rec['total_grad_norm'])}")
            lines.append(f"  {'layer':28}{'grad norm':>11}{'out-grad rms':>14}{'Δw/w':>10}")
            for n, s in rec["layers"].items():
                lines.append(f"  {self._label(n)[6:][:28]:28}{fmt(s.get('grad_norm', float('nan'))):>11}"
                             f"{fmt(s.get('out_grad_rms', float('nan'))):>14}"
                             f"{fmt(s.get('update_ratio', float('nan'))):>10}")
        else:
            lines.append("gradient monitor: no sampled step yet")
        if self.alarms:
            lines.append(f"alarms ({len(self.alarms)}):")
            lines += [f"  - {a}" for a in self.alarms]
        else:
            lines.append("alarms: none")
        return "\n".join(lines)

    def plot_gradient_flow(self, path, title=None):
        """PNG: each layer's gradient norm over the sampled steps (log scale)."""
        from .plots import gradient_flow         # the plotting code loads on first use
        return gradient_flow(self, path, title)

    def plot_histograms(self, path, title=None):
        """PNG: per-layer gradient (log10|g|) and activation histograms over time."""
        from .plots import histograms
        return histograms(self, path, title)

    def write_tensorboard(self, log_dir):
        """Scalars and histograms over time for TensorBoard (needs tensorboardX)."""
        from .plots import write_tensorboard
        return write_tensorboard(self, log_dir)

    def state_dict(self):
        return {"count": self._count if self.model is not None else 0}

    def load_state_dict(self, state):
        if self.model is not None:
            self._count = int(state.get("count", 0))
