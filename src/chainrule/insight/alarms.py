"""Alarms: a diagnosis in plain words - which layer, what is wrong, what to try - raised once per cause.

Thresholds (all configurable through ``Thresholds(...)``; defaults in brackets):

* vanishing [``vanishing_ratio=1e-3``]: the RMS of the gradient w.r.t. the first layer's output is below
  this fraction of the last layer's (Glorot & Bengio's measure: parameter-gradient norms alone can look
  uniform across depth when the activations shrink too), or an update ‖Δw‖/‖w‖ is below
  ``update_low`` [1e-6] - more than three orders of magnitude under the usual ~1e-3.
* exploding [``exploding_ratio=1e3``, ``growth=1e3``]: the first layer's output gradient is above that
  multiple of the last's, the total gradient norm grew ``growth``× above its first sampled value, or a
  gradient / activation holds NaN or Inf (the first op that produced it is named with its source line).
* update ratio [``update_high=0.1``]: ‖Δw‖/‖w‖ above it: each step rewrites a tenth of the weights.
  Update alarms need ``patience`` [3] sampled steps in a row out of band (a large first step is normal).
* dead ReLUs [``dead_frac=0.5``]: more than this fraction of a ReLU's units (features / channels) never
  positive over ``dead_window`` [5] sampled batches.
* saturation [``saturated_frac=0.5``]: more than this fraction of a sigmoid/tanh's outputs within 1 % of
  its bounds (its derivative there is ~0, so the gradient through it vanishes).
* loss divergence [``divergence_factor=4``]: the smoothed loss (EMA, ``beta=0.9``) above this multiple of
  its minimum and above its first value, or a NaN/Inf loss.
"""
from dataclasses import asdict, dataclass

__all__ = ["Thresholds", "Alarm", "AlarmBook"]


@dataclass
class Thresholds:
    vanishing_ratio: float = 1e-3
    exploding_ratio: float = 1e3
    growth: float = 1e3
    update_low: float = 1e-6
    update_high: float = 0.1
    patience: int = 3
    dead_frac: float = 0.5
    dead_window: int = 5
    saturated_frac: float = 0.5
    divergence_factor: float = 4.0
    beta: float = 0.9

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not value > 0:
                raise ValueError(f"Thresholds: {name} must be positive, got {value!r}")
        if not 0 < self.beta < 1:
            raise ValueError(f"Thresholds: beta (the loss smoothing) must be in (0, 1), got {self.beta!r}")


@dataclass
class Alarm:
    """One diagnosis: ``kind`` (vanishing, exploding, nonfinite, dead, saturated, update, divergence),
    the ``layer`` it names (module path, or '' for the whole model), the ``step`` it fired at, and the
    ``message`` in plain words (cause and fix)."""
    kind: str
    layer: str
    step: int
    message: str

    def to_dict(self):
        return asdict(self)

    def __str__(self):
        return f"step {self.step}: {self.message}"


class AlarmBook:
    """The alarms raised so far; each (kind, layer) fires once, not once per step."""

    def __init__(self):
        self.alarms = []
        self._seen = set()

    def raise_(self, kind, layer, step, message):
        """Record the alarm unless this (kind, layer) already fired; returns the Alarm or None."""
        key = (kind, layer)
        if key in self._seen:
            return None
        self._seen.add(key)
        alarm = Alarm(kind, layer, step, message)
        self.alarms.append(alarm)
        return alarm


def fmt(x):
    """A number as people read it in a diagnosis: 3e-09, 0.0012, 42."""
    if x != x or x in (float("inf"), float("-inf")):
        return str(x)
    return f"{x:.2g}" if abs(x) < 1e-3 or abs(x) >= 1e4 else f"{x:.4g}"
