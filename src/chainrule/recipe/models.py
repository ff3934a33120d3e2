"""Models for a run config: a list of layers, a named architecture, or a Python factory ``module:function``.

    [model]                               [model]                        [model]
    name = "mlp"                          factory = "mynet:build"        [[model.layers]]
    hidden = [200]                        kwargs = { width = 64 }        type = "Linear"
                                                                         in = 784
                                                                         out = 200

A named architecture is expanded into its layer list for the dataset's input shape and number of classes
(``resolve``), so a run's saved config states exactly what was trained. A layer is any ``chainrule.nn``
class; its other keys are the constructor's arguments (``in``/``out`` stand for in/out features or
channels). Every key is checked against the constructor before anything is built.
"""
import importlib
import inspect
import math
import os
import sys

from .. import nn
from .errors import ConfigError, unknown

__all__ = ["ARCHITECTURES", "resolve", "build", "layer_names"]

_ALIASES = {"in": ("in_features", "in_channels"), "out": ("out_features", "out_channels")}


def layer_names():
    """Every ``chainrule.nn`` class a config layer may name."""
    skip = {"Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "RNNBase",
            "RNNCellBase"}
    return sorted(n for n in dir(nn) if isinstance(getattr(nn, n), type) and issubclass(getattr(nn, n), nn.Module)
                  and n[0].isupper() and n not in skip and not n.endswith("Loss"))


def _mlp(input_shape, outputs, hidden=(200,)):
    """Flatten, then Linear + ReLU per hidden width, then a Linear to the outputs (the seed article's MLP)."""
    sizes = [math.prod(input_shape), *hidden, outputs]
    layers = [{"type": "Flatten"}]
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append({"type": "Linear", "in": a, "out": b})
        if i < len(sizes) - 2:
            layers.append({"type": "ReLU"})
    return layers


def _linear(input_shape, outputs):
    """Multinomial logistic regression: Flatten, Linear."""
    return _mlp(input_shape, outputs, hidden=())


def _lenet5(input_shape, outputs):
    """LeNet-5 for 28x28 images (padding 2 gives the original 32x32 geometry)."""
    if len(input_shape) != 3 or tuple(input_shape[1:]) != (28, 28):
        raise ConfigError(f"model 'lenet5' needs 28x28 images (C x 28 x 28), the dataset has inputs of shape "
                          f"{tuple(input_shape)}; use model 'mlp' for it")
    c = input_shape[0]
    return [{"type": "Conv2d", "in": c, "out": 6, "kernel_size": 5, "padding": 2}, {"type": "ReLU"},
            {"type": "MaxPool2d", "kernel_size": 2},
            {"type": "Conv2d", "in": 6, "out": 16, "kernel_size": 5}, {"type": "ReLU"},
            {"type": "MaxPool2d", "kernel_size": 2},
            {"type": "Flatten"}, {"type": "Linear", "in": 400, "out": 120}, {"type": "ReLU"},
            {"type": "Linear", "in": 120, "out": 84}, {"type": "ReLU"}, {"type": "Linear", "in": 84, "out": outputs}]


ARCHITECTURES = {"mlp": _mlp, "linear": _linear, "lenet5": _lenet5}


def _check_keys(section, allowed):
    extra = sorted(set(section) - set(allowed))
    if extra:
        raise ConfigError(f"model: unknown key {extra[0]!r} (allowed here: {', '.join(sorted(allowed))})")


def resolve(model_cfg, input_shape, outputs):
    """The model section with a named architecture expanded into layers (layers and factories unchanged)."""
    kinds = [k for k in ("name", "layers", "factory") if k in model_cfg]
    if len(kinds) != 1:
        raise ConfigError("model: give exactly one of name (" + ", ".join(ARCHITECTURES) + "), layers (a list "
                          "of [[model.layers]] tables) or factory ('module:function'); got "
                          + (", ".join(kinds) or "none"))
    if "layers" in model_cfg:
        _check_keys(model_cfg, ["layers"])
        return {"layers": [dict(spec) for spec in model_cfg["layers"]]}
    if "factory" in model_cfg:
        _check_keys(model_cfg, ["factory", "kwargs"])
        return dict(model_cfg)
    name = model_cfg["name"]
    if name not in ARCHITECTURES:
        if isinstance(name, str) and ":" in name:
            return resolve({"factory": name, **{k: v for k, v in model_cfg.items() if k != "name"}},
                           input_shape, outputs)
        raise unknown("model", name, list(ARCHITECTURES) + ["module:function"])
    options = {k: v for k, v in model_cfg.items() if k != "name"}
    params = inspect.signature(ARCHITECTURES[name]).parameters
    _check_keys(options, [p for p in params if p not in ("input_shape", "outputs")] + ["name"])
    if "hidden" in options:
        h = options["hidden"]
        if not isinstance(h, list) or not all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in h):
            raise ConfigError(f"model.hidden must be a list of positive integers (layer widths), got {h!r}")
    return {"layers": ARCHITECTURES[name](tuple(input_shape), outputs, **options)}


def _layer(i, spec):
    where = f"model.layers[{i}]"
    if not isinstance(spec, dict) or "type" not in spec:
        raise ConfigError(f"{where}: each layer is a table with a 'type' (a chainrule.nn class), got {spec!r}")
    names = layer_names()
    cls = getattr(nn, spec["type"], None) if isinstance(spec["type"], str) else None
    if spec["type"] not in names or cls is None:
        raise unknown(f"layer type in {where}:", spec["type"], names)
    params = [p for p in inspect.signature(cls.__init__).parameters.values()
              if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    accepted = {p.name for p in params}
    kwargs = {}
    for key, value in spec.items():
        if key == "type":
            continue
        target = key
        if key in _ALIASES:
            target = next((a for a in _ALIASES[key] if a in accepted), key)
        if target not in accepted:
            shown = sorted(accepted | {a for a, full in _ALIASES.items() if set(full) & accepted})
            raise ConfigError(f"{where}: {spec['type']} has no argument {key!r} (allowed: {', '.join(shown)})")
        kwargs[target] = tuple(value) if isinstance(value, list) else value
    missing = [p.name for p in params if p.default is p.empty and p.name not in kwargs]
    if missing:
        alias = {full: a for a, fulls in _ALIASES.items() for full in fulls}
        raise ConfigError(f"{where}: {spec['type']} needs " + ", ".join(repr(alias.get(m, m)) for m in missing))
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where}: {spec['type']}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) "
                          f"failed: {e}") from None


def _factory(model_cfg):
    ref = model_cfg["factory"]
    if not isinstance(ref, str) or ref.count(":") != 1:
        raise ConfigError(f"model.factory must be 'module:function', got {ref!r}")
    module_name, func_name = ref.split(":")
    if os.getcwd() not in sys.path:              # a factory in the current folder works, as `python -m` would
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ConfigError(f"model.factory {ref!r}: cannot import module {module_name!r} ({e})") from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise ConfigError(f"model.factory {ref!r}: module {module_name!r} has no function {func_name!r}")
    kwargs = model_cfg.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise ConfigError(f"model.kwargs must be a table of the factory's arguments, got {kwargs!r}")
    try:
        model = func(**kwargs)
    except TypeError as e:
        raise ConfigError(f"model.factory {ref!r} with kwargs {kwargs!r} failed: {e}") from None
    if not isinstance(model, nn.Module):
        raise ConfigError(f"model.factory {ref!r} returned a {type(model).__name__}, not a chainrule.nn.Module")
    return model


def build(model_cfg):
    """The ``nn.Module`` a resolved model section describes."""
    if "factory" in model_cfg:
        return _factory(model_cfg)
    layers = model_cfg["layers"]
    if not isinstance(layers, list) or not layers:
        raise ConfigError("model.layers must be a non-empty list of [[model.layers]] tables")
    return nn.Sequential(*[_layer(i, spec) for i, spec in enumerate(layers)])
