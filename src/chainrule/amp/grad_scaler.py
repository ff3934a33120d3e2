"""``GradScaler``: dynamic loss scaling, as ``torch.amp.GradScaler``.

float16 gradients underflow to zero below ~6e-8; scaling the loss by S (2¹⁶ to start) scales every
gradient by S, and ``step`` divides them back before the optimiser uses them. When a step's gradients
contain inf/NaN (S too large), the step is skipped and S is multiplied by ``backoff_factor`` (0.5); after
``growth_interval`` (2000) clean steps in a row S is multiplied by ``growth_factor`` (2.0).

    scaler = GradScaler("cpu")
    scaler.scale(loss).backward()
    scaler.step(optimizer)          # unscales, skips the step on inf/NaN
    scaler.update()                 # adjusts the scale
"""
import warnings

import numpy as np

__all__ = ["GradScaler"]


class GradScaler:
    def __init__(self, device="cpu", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        device = str(device)
        if enabled and device.split(":")[0] != "cpu":
            warnings.warn(f"GradScaler is enabled, but device '{device}' is not available (chainrule runs on "
                          f"the CPU). Disabling: scale() returns the loss unchanged and step() just steps.",
                          UserWarning, stacklevel=2)
            enabled = False
        if growth_factor <= 1.0:
            raise ValueError("The growth factor must be > 1.0.")
        if backoff_factor >= 1.0:
            raise ValueError("The backoff factor must be < 1.0.")
        self._device = device
        self._enabled = enabled
        self._init_scale = init_scale
        self._scale = np.float32(init_scale)          # float32, as PyTorch's scale tensor
        self._growth_factor = growth_factor
        self._backoff_factor = backoff_factor
        self._growth_interval = growth_interval
        self._growth_tracker = 0
        self._per_optimizer = {}                      # id(optimizer) -> {"unscaled": bool, "found_inf": bool}

    # ------------------------------------------------------------------ the training-loop calls
    def scale(self, outputs):
        """``outputs`` (a Tensor, or nested lists/tuples of them) times the current scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        return outputs * float(self._scale)

    def _state(self, optimizer):
        return self._per_optimizer.setdefault(id(optimizer), {"unscaled": False, "found_inf": False})

    def unscale_(self, optimizer):
        """Divide ``optimizer``'s gradients by the scale in place (once per step), noting inf/NaN."""
        if not self._enabled:
            return
        st = self._state(optimizer)
        if st["unscaled"]:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        inv_scale = np.float32(np.float64(1.0) / np.float64(self._scale))
        found = False
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad._data
                g *= inv_scale
                if not np.isfinite(g).all():
                    found = True
        st["unscaled"], st["found_inf"] = True, found

    def step(self, optimizer, *args, **kwargs):
        """Unscale (if not done), then ``optimizer.step(*args, **kwargs)`` unless a gradient is inf/NaN.
        Returns what optimizer.step returned, or None for a skipped step."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        st = self._state(optimizer)
        if not st["unscaled"]:
            self.unscale_(optimizer)
        if st["found_inf"]:
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None):
        """Adjust the scale: backoff after a step with inf/NaN gradients, growth after growth_interval clean ones."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = np.float32(float(new_scale))
        else:
            found_inf = any(st["found_inf"] for st in self._per_optimizer.values())
            if found_inf:
                self._scale = np.float32(self._scale * np.float32(self._backoff_factor))
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    self._scale = np.float32(self._scale * np.float32(self._growth_factor))
                    self._growth_tracker = 0
        self._per_optimizer = {}

    # ------------------------------------------------------------------ inspection and checkpoints
    def get_scale(self):
        return float(self._scale) if self._enabled else 1.0

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = new_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = new_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = new_interval

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if not state_dict:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._scale = np.float32(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._growth_tracker = state_dict["_growth_tracker"]
