"""Parameters <-> one flat vector, as ``torch.nn.utils.parameters_to_vector`` / ``vector_to_parameters``."""
import numpy as np

from ...ops.shape import cat, reshape
from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one 1-d Tensor (differentiable: a backward through
    it reaches the parameters)."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"parameters_to_vector: expected Tensors, but item {i} is {type(p).__name__}")
    if not params:
        raise ValueError("parameters_to_vector: got no parameters (an empty iterable, or a model.parameters() "
                         "generator that was already consumed?)")
    return cat([reshape(p, (-1,)) for p in params])


def vector_to_parameters(vec, parameters):
    """Write consecutive slices of the 1-d Tensor ``vec`` into the parameters (each reshaped to its
    parameter's shape and cast to its dtype). PyTorch rebinds ``param.data`` to views of ``vec``; chainrule
    copies into each parameter's own memory instead (same values, and no aliasing with ``vec``)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected chainrule.Tensor, but got: {type(vec).__name__}")
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise ValueError(f"vector_to_parameters: vec must be a 1-d Tensor with as many elements as the parameters "
                         f"together ({total}), got shape {tuple(vec.shape)}")
    src = vec._data
    pointer = 0
    for p in params:
        n = p.numel()
        np.copyto(p._data, src[pointer:pointer + n].reshape(p._data.shape), casting="unsafe")
        p._vc[0] += 1
        pointer += n
