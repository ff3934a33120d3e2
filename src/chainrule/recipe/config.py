"""A run config: defaults, a TOML file, command-line flags and ``--set key=value``, merged in that order
and checked before anything is built or written.

    seed = 0
    [data]        dataset = "mnist"   root = "..."   positive_classes = [...]     (see data.py)
    [model]       name = "mlp" | layers = [...] | factory = "module:function"      (see models.py)
    [train]       epochs = 5   batch_size = 64   loss = "cross_entropy"   metrics = ["accuracy"]
    [optimizer]   name = "sgd"   lr = 0.01   momentum = 0.9   (any other argument of the optimiser)
    [scheduler]   name = "none" | "step" | "cosine" | ...   (any other argument of the scheduler)

``resolve`` returns the fully resolved config (named model expanded into layers, every default written
out): saved as ``OUT/config.toml``, it reproduces the run.
"""
import copy
import inspect
import sys

from .. import nn, optim
from ..optim import lr_scheduler
from .errors import ConfigError, unknown

__all__ = ["DEFAULTS", "OPTIMIZERS", "SCHEDULERS", "LOSSES", "read_toml", "merge", "apply_set", "check",
           "make_optimizer", "make_scheduler", "make_loss"]

DEFAULTS = {
    "seed": 0,
    "data": {"dataset": "mnist"},
    "model": {"name": "mlp"},
    "train": {"epochs": 5, "batch_size": 64, "loss": "cross_entropy", "metrics": ["accuracy"]},
    "optimizer": {"name": "sgd", "lr": 0.01, "momentum": 0.9},
    "scheduler": {"name": "none"},
}

OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW, "adagrad": optim.Adagrad,
              "rmsprop": optim.RMSprop, "adamax": optim.Adamax, "nadam": optim.NAdam}
SCHEDULERS = {"none": None, "step": lr_scheduler.StepLR, "multistep": lr_scheduler.MultiStepLR,
              "exponential": lr_scheduler.ExponentialLR, "cosine": lr_scheduler.CosineAnnealingLR,
              "linear": lr_scheduler.LinearLR, "plateau": lr_scheduler.ReduceLROnPlateau}
LOSSES = {"cross_entropy": nn.CrossEntropyLoss, "bce": nn.BCELoss, "bce_with_logits": nn.BCEWithLogitsLoss,
          "mse": nn.MSELoss, "l1": nn.L1Loss, "nll": nn.NLLLoss, "huber": nn.HuberLoss}
_SECTIONS = {"seed": None, "data": None, "model": None, "train": {"epochs", "batch_size", "loss", "metrics"},
             "optimizer": None, "scheduler": None}


def _tomllib():
    if sys.version_info >= (3, 11):
        import tomllib
    else:                                                   # Python 3.10: the stdlib module's backport
        import tomli as tomllib
    return tomllib


def read_toml(path):
    """The dict in a TOML file; a missing file or a syntax error is a ConfigError naming the file."""
    tomllib = _tomllib()
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path!r} not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path!r}: invalid TOML: {e}") from None


def merge(base, override):
    """``base`` updated by ``override`` (nested tables merged key by key; a new model kind or optimiser
    replaces the old section's now meaningless keys)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if key not in _SECTIONS:
            raise unknown("config section", key, list(_SECTIONS))
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            if key == "model" and {"name", "layers", "factory"} & set(value):
                out[key] = {}                               # a new architecture: drop the old one's options
            if key in ("optimizer", "scheduler") and value.get("name", out[key].get("name")) != out[key].get("name"):
                keep = {"lr", "weight_decay"} if key == "optimizer" else set()
                out[key] = {k: v for k, v in out[key].items() if k in keep}
            out[key].update(copy.deepcopy(value))
        else:
            out[key] = copy.deepcopy(value)
    return out


def _parse_value(text):
    """A ``--set`` value read as TOML (``3``, ``0.1``, ``true``, ``[1, 2]``, ``"x"``), else a bare string."""
    tomllib = _tomllib()
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_set(config, assignment):
    """Apply one ``--set dotted.key=value`` to ``config`` (in place)."""
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment!r}: expected key=value, e.g. --set optimizer.momentum=0.5")
    key, text = assignment.split("=", 1)
    path = key.strip().split(".")
    if not all(path):
        raise ConfigError(f"--set {assignment!r}: bad key {key!r}")
    value = _parse_value(text.strip())
    override = value
    for part in reversed(path):
        override = {part: override}
    config.update(merge(config, override))
    return config


def _positive_int(config, section, key):
    v = config[section].get(key)
    if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
        raise ConfigError(f"{section}.{key} must be a positive integer, got {v!r}")


def _kwargs_for(cls, section, config, skip):
    """The section's keys other than ``name``, checked against ``cls``'s constructor."""
    kwargs = {k: v for k, v in config[section].items() if k != "name"}
    params = inspect.signature(cls.__init__).parameters
    allowed = [p for p in params if p not in ("self",) + skip]
    for k in kwargs:
        if k not in allowed:
            raise ConfigError(f"{section}.{k}: {cls.__name__} has no argument {k!r} (allowed: {', '.join(allowed)})")
    return {k: tuple(v) if isinstance(v, list) and k in ("betas",) else v for k, v in kwargs.items()}


def check(config, metric_names):
    """Check everything that does not need the data: section and key names, numbers, optimiser, scheduler,
    loss and metric names. Raises ConfigError (one line, naming the key and what is allowed)."""
    for section, keys in _SECTIONS.items():
        if section not in config:
            raise ConfigError(f"config: missing section {section!r}")
        if keys is not None:
            extra = sorted(set(config[section]) - keys)
            if extra:
                raise ConfigError(f"{section}: unknown key {extra[0]!r} (allowed: {', '.join(sorted(keys))})")
    if not isinstance(config["seed"], int) or isinstance(config["seed"], bool) or config["seed"] < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {config['seed']!r}")
    _positive_int(config, "train", "epochs")
    _positive_int(config, "train", "batch_size")
    name = config["optimizer"].get("name")
    if name not in OPTIMIZERS:
        raise unknown("optimizer", name, OPTIMIZERS)
    lr = config["optimizer"].get("lr")
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not lr > 0 or lr == float("inf"):
        raise ConfigError(f"optimizer.lr must be a positive number, got {lr!r}")
    _kwargs_for(OPTIMIZERS[name], "optimizer", config, ("params",))
    sname = config["scheduler"].get("name")
    if sname not in SCHEDULERS:
        raise unknown("scheduler", sname, SCHEDULERS)
    if SCHEDULERS[sname] is not None:
        _kwargs_for(SCHEDULERS[sname], "scheduler", config, ("optimizer",))
    elif set(config["scheduler"]) - {"name"}:
        raise ConfigError(f"scheduler: scheduler 'none' takes no arguments, got {sorted(config['scheduler'])}")
    if config["train"].get("loss") not in LOSSES:
        raise unknown("loss", config["train"].get("loss"), LOSSES)
    metrics = config["train"].get("metrics")
    if not isinstance(metrics, list):
        raise ConfigError(f"train.metrics must be a list of metric names, got {metrics!r}")
    for m in metrics:
        if m not in metric_names:
            raise unknown("metric", m, metric_names, getattr(metric_names, "shown", None))


def make_optimizer(config, parameters):
    cls = OPTIMIZERS[config["optimizer"]["name"]]
    kwargs = _kwargs_for(cls, "optimizer", config, ("params",))
    try:
        return cls(parameters, **kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"optimizer: {cls.__name__}({kwargs}) failed: {e}") from None


def make_scheduler(config, optimizer):
    """The scheduler (stepped once per epoch), or None. ``cosine`` defaults T_max to the number of epochs."""
    cls = SCHEDULERS[config["scheduler"]["name"]]
    if cls is None:
        return None
    kwargs = _kwargs_for(cls, "scheduler", config, ("optimizer",))
    if cls is lr_scheduler.CosineAnnealingLR:
        kwargs.setdefault("T_max", config["train"]["epochs"])
    try:
        return cls(optimizer, **kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"scheduler: {cls.__name__}({kwargs}) failed: {e}") from None


def make_loss(config):
    return LOSSES[config["train"]["loss"]]()
